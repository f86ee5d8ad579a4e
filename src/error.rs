//! The worker's one error type. Every failure the shell meets (a request
//! it refuses, the runtime, an upstream) is an [`EdgeError`];
//! `crate::http` is the one place that turns one into an answer (status,
//! body, headers): [`crate::http::error_reply`] and
//! [`crate::http::error_response`].
//!
//! The messages are the answers' and the logs' exact words: tests and
//! operators read them, so a variant's text changes only on purpose.

use handlers::error::{BodyError, ParamError, Unauthorized};
use handlers::push::app_api::AppError;
use handlers::route::Family;

/// What went wrong, in the shell.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    // --- Requests refused: each has its status in `crate::http`. ---
    /// No route has this path.
    #[error("no such route")]
    NoRoute,
    /// The route does not answer this method (`allow` lists those it does).
    #[error("{allow} only")]
    MethodNotAllowed {
        /// The route's `Allow`.
        allow: &'static str,
        /// Whose body shape.
        family: Family,
    },
    /// No valid callback token: 401 with a Basic challenge and no hint.
    #[error("unauthorized")]
    CallbackToken(#[from] Unauthorized),
    /// A signature or bearer credential refused: 401, no hint.
    #[error("unauthorized")]
    Unauthorized,
    /// The callback's query is not Exotel's.
    #[error("{0}")]
    Params(#[from] ParamError),
    /// The body is too large or unreadable (`crate::body`).
    #[error("{0}")]
    Body(#[from] BodyError),
    /// The push body is not Exotel's.
    #[error("{0}")]
    PushBody(#[from] handlers::push::body::BodyError),
    /// Over a limit of the route's own (413).
    #[error("{0}")]
    TooLarge(String),
    /// A `handlers` decision refused the request with this status.
    #[error("{message}")]
    Refused {
        /// Its status.
        status: u16,
        /// Its words.
        message: String,
    },
    /// What the route needs is not configured or not reachable (503).
    #[error("{0}")]
    Unavailable(String),
    /// Not even the embedded config loads (a build defect: the embedded
    /// default's validity is a native test). 500 with the reason.
    #[error("no usable config: {0}")]
    Config(#[from] handlers::error::ConfigError),
    /// `?fallback=1` on a route that has no safe static answer.
    #[error("no fallback for this route")]
    NoFallback,
    /// A callback handler was given a route that is not a callback (a
    /// router defect).
    #[error("not a callback route")]
    NotCallback,
    /// An app API error, answered `{http_code, message}`.
    #[error("{0}")]
    App(AppError),
    /// An app API error for an answer whose `message` the apps display:
    /// `{http_code, message: "", error}`.
    #[error("{0}")]
    AppQuiet(AppError),

    // --- Failures of the runtime and upstreams: logged, or a push's reason. ---
    /// The runtime failed (a binding, a fetch, a body read).
    #[error("{0}")]
    Runtime(#[from] worker::Error),
    /// JSON we wrote or read did not (de)serialise.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A Durable Object answered something other than 200.
    #[error("object answered {status}: {body}")]
    ObjectStatus {
        /// Its status.
        status: u16,
        /// Its body, as text.
        body: String,
    },
    /// An upstream did not answer within its budget.
    #[error("no answer within {0} ms")]
    Timeout(u64),
    /// `crypto.subtle` refused.
    #[error("webcrypto {context}: {detail}")]
    WebCrypto {
        /// The call.
        context: String,
        /// The runtime's words.
        detail: String,
    },
    /// The FCM service account secret is not a key file.
    #[error("{name} is not a service-account key file: {detail}")]
    ServiceAccount {
        /// The secret's name.
        name: &'static str,
        /// Why.
        detail: String,
    },
    /// The service account's key is not PEM.
    #[error("service account private_key is not PEM")]
    NotPem,
    /// Google's token endpoint refused.
    #[error("oauth token endpoint answered {0}")]
    OauthStatus(u16),
    /// Google's token endpoint answered something unreadable.
    #[error("oauth answer unreadable: {0}")]
    OauthAnswer(serde_json::Error),
}
