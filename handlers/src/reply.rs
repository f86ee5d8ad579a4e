//! What the worker sends back, before it becomes a `worker::Response`: a
//! status, one of the exact content types Exotel checks, and a body.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::Serialize;

/// The only content types our callback answers use. Exotel compares them
/// literally: a `; charset=utf-8` suffix on a greeting fails the applet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// `application/json`
    Json,
    /// `text/plain`, no parameters.
    TextPlain,
}

impl ContentType {
    /// The header value, exactly.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::TextPlain => "text/plain",
        }
    }
}

/// A finished HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Content type header.
    pub content_type: ContentType,
    /// Body; empty for HEAD after the headers are computed.
    pub body: Body,
}

/// A reply's body: text made for this reply, or a config answer's kept
/// text ([`crate::answer::Static`]), shared instead of copied.
///
/// Why the difference shows: a kept body is the same bytes on every call,
/// so the worker hands the runtime one string it made once (per isolate)
/// instead of copying the bytes out of wasm memory per request
/// (BENCHMARKS.md, "Issue 16"). It reads as `&str` everywhere else.
#[derive(Debug, Clone)]
pub enum Body {
    /// Made for this reply.
    Made(String),
    /// A config answer's, the same allocation on every call: its address
    /// names it for as long as it is held.
    Kept(Arc<str>),
}

impl Body {
    /// The text, owned.
    pub fn into_string(self) -> String {
        match self {
            Self::Made(s) => s,
            Self::Kept(s) => s.as_ref().to_owned(),
        }
    }

    /// The same text, kept: shared by every clone from now on.
    pub fn kept(self) -> Self {
        match self {
            Self::Made(s) => Self::Kept(s.into()),
            kept => kept,
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::Made(String::new())
    }
}

impl Deref for Body {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Self::Made(s) => s,
            Self::Kept(s) => s,
        }
    }
}

impl AsRef<str> for Body {
    fn as_ref(&self) -> &str {
        self
    }
}

impl fmt::Display for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

/// Equal when the text is, kept or not.
impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}
impl Eq for Body {}

impl PartialEq<&str> for Body {
    fn eq(&self, other: &&str) -> bool {
        &**self == *other
    }
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json<T: Serialize>(value: &T) -> Self {
        Self::json_status(200, value)
    }

    /// A JSON body with a given status.
    pub fn json_status<T: Serialize>(status: u16, value: &T) -> Self {
        // Our answer types serialize infallibly (string keys, no custom
        // errors); the fallback only guards against a future type that doesn't.
        let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
        Self {
            status,
            content_type: ContentType::Json,
            body: Body::Made(body),
        }
    }

    /// A plain-text body.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: ContentType::TextPlain,
            body: Body::Made(body.into()),
        }
    }

    /// A JSON error `{"error": message}` with the given status.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        #[derive(Serialize)]
        struct Error {
            error: String,
        }
        Self::json_status(
            status,
            &Error {
                error: message.into(),
            },
        )
    }
}
