//! Errors of the pure crate. The worker maps each to one HTTP status in one
//! place (`src/http.rs`); messages are lower-case and say what to fix.

use thiserror::Error;

/// A request Exotel (or someone pretending) sent that we cannot use.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParamError {
    /// Exotel always sends CallSid; without it the request is not a call.
    #[error("missing CallSid; every Exotel applet request carries one")]
    MissingCallSid,
    /// The query string is larger than any Exotel sends.
    #[error("query string longer than {limit} bytes")]
    TooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// `Legs` was neither bracketed keys nor a JSON array of objects.
    #[error("Legs is not a JSON array of leg objects: {0}")]
    BadLegs(String),
    /// A body we could not read as form or JSON.
    #[error("body is not valid {kind}: {detail}")]
    BadBody {
        /// "JSON", "form".
        kind: &'static str,
        /// The parser's words.
        detail: String,
    },
    /// The body is larger than any Exotel sends.
    #[error("body longer than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A content type we do not accept on this route.
    #[error("unsupported content type {0:?}; send application/json, application/x-www-form-urlencoded or multipart/form-data")]
    UnsupportedContentType(String),
}

/// A request body we refuse or cannot use, on any route that reads one
/// (`handlers::body` and the worker's `src/body.rs`). The worker maps each
/// variant to one status with `handlers::body::status`.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum BodyError {
    /// Declared or streamed past the route's limit; nothing past the limit
    /// was read.
    #[error("body longer than {limit} bytes")]
    TooLarge {
        /// The route's limit in bytes.
        limit: usize,
    },
    /// The client's stream failed or was cut off.
    #[error("body could not be read: {0}")]
    Unreadable(String),
    /// Not JSON, or JSON of the wrong shape; the text names the field and
    /// what it should hold, never a type of ours.
    #[error("{0}")]
    BadJson(String),
}

/// A routing config that cannot serve calls.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The document is not the JSON we expect; `path` points into it.
    #[error("config invalid at {path}: {message}")]
    Invalid {
        /// Where in the document, e.g. `lines.+918047115777.connect.max_ringing_duration`.
        path: String,
        /// What is wrong there.
        message: String,
    },
}

/// Why a request was refused at the door. Deliberately one variant: a 401
/// never says which part was wrong.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("unauthorized")]
pub struct Unauthorized;
