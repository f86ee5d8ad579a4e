//! What the worker sends back, before it becomes a `worker::Response`: a
//! status, one of the exact content types Exotel checks, and a body.

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
    pub body: String,
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
            body,
        }
    }

    /// A plain-text body.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: ContentType::TextPlain,
            body: body.into(),
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
