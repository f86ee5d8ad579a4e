//! The gateway's one error type, and the one place it becomes a gRPC status.

use std::path::PathBuf;

/// Everything that can go wrong in the gateway, from loading its config to
/// storing an event.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigRead {
        /// The file named by `--config` or `PROTO_GATEWAY_CONFIG`.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The config file is not valid TOML of the expected shape.
    #[error("invalid config file {path}: {source}")]
    ConfigParse {
        /// The file that failed to parse.
        path: PathBuf,
        /// The parser's explanation (line and column included).
        source: Box<toml::de::Error>,
    },
    /// A config value is present but unusable; the message says which and why.
    #[error("invalid config: {0}")]
    Config(String),
    /// The configured .proto files do not compile.
    #[error("cannot compile the event contract: {0}")]
    Proto(#[from] Box<protox::Error>),
    /// The compiled contract lacks the configured service, method or field.
    #[error("event contract: {0}; check [proto] in the config")]
    Descriptor(String),
    /// The request body is not a valid encoding of the event message.
    #[error("malformed event: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The event decodes but holds a value that has no JSON form (e.g. a
    /// timestamp out of range).
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// The event lacks a value the gateway needs (its id).
    #[error("event has no {field}; it is required")]
    MissingField {
        /// The configured field path, e.g. `event_sid`.
        field: String,
    },
    /// The event's JSON form (what the edge receives) is over the edge's
    /// per-event limit.
    #[error("event is {len} bytes as JSON, over the edge's limit of {limit} bytes (characters JSON escapes count several times)")]
    JsonTooLarge {
        /// Size of the JSON form.
        len: usize,
        /// The edge's limit.
        limit: usize,
    },
    /// The event id cannot be sent as a `webhook-id` header.
    #[error("{field} {why}")]
    BadEventId {
        /// The configured field path, e.g. `event_sid`.
        field: String,
        /// What is wrong with it.
        why: String,
    },
    /// The edge refused the event as invalid (it will never take it).
    #[error("the edge refused the event: {0}")]
    EdgeRejected(String),
    /// The request is larger than `grpc.max_message_bytes`.
    #[error("event of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the rejected message.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Turning the event into JSON failed (a bug or an unsupported type).
    #[error("cannot render the event as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The outbox database failed.
    #[error("outbox: {0}")]
    Store(#[from] rusqlite::Error),
    /// A batch's commit failed; none of its events were acknowledged.
    #[error("outbox commit failed: {0}")]
    Commit(String),
    /// The outbox writer has stopped (shutdown or a fatal store error).
    #[error("outbox writer is not running")]
    StoreClosed,
    /// A task the gateway waited on panicked or was cancelled: a bug or a
    /// runtime going away, not a stopped outbox.
    #[error("{what} task failed: {source}")]
    TaskFailed {
        /// Which task.
        what: &'static str,
        /// Its panic or cancellation.
        source: tokio::task::JoinError,
    },
    /// The outbox writer's queue is full: the gateway is over capacity.
    #[error("outbox queue is full")]
    Overloaded,
    /// A dead letter id that does not exist.
    #[error("no dead letter with id {0}; see `proto-gateway dead-letters list`")]
    NoSuchDeadLetter(i64),
    /// Reading a file or binding a socket failed.
    #[error("{what}: {source}")]
    Io {
        /// What the gateway was doing.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// TLS material could not be loaded or the server could not be set up.
    #[error("tls: {0}")]
    Tls(String),
    /// Building the HTTP client for forwarding failed.
    #[error("http client: {0}")]
    HttpClient(#[from] reqwest::Error),
    /// The gRPC server failed.
    #[error("grpc server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

impl Error {
    /// Whether the client sent something the gateway will never take (a
    /// malformed, invalid or oversized event, or one the edge refused): it
    /// is answered as the client's fault (do not retry) and counted as a
    /// rejected event, not logged as the gateway's failure.
    pub fn is_callers_fault(&self) -> bool {
        matches!(
            self,
            Error::Decode(_)
                | Error::InvalidEvent(_)
                | Error::MissingField { .. }
                | Error::JsonTooLarge { .. }
                | Error::BadEventId { .. }
                | Error::EdgeRejected(_)
                | Error::TooLarge { .. }
        )
    }

    /// An [`Error::TaskFailed`] for `what`, from its join error.
    pub fn task(what: &'static str) -> impl FnOnce(tokio::task::JoinError) -> Error {
        move |source| Error::TaskFailed { what, source }
    }

    /// An [`Error::Io`] with a description of the operation.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// Convenience alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for tonic::Status {
    /// Caller mistakes ([`Error::is_callers_fault`]) are RESOURCE_EXHAUSTED
    /// (too large) or INVALID_ARGUMENT (do not retry); storage trouble and
    /// a failed task are UNAVAILABLE (retry later: nothing was
    /// acknowledged); anything else is INTERNAL without internal details.
    fn from(err: Error) -> Self {
        match &err {
            Error::TooLarge { .. } => tonic::Status::resource_exhausted(err.to_string()),
            e if e.is_callers_fault() => tonic::Status::invalid_argument(err.to_string()),
            Error::Store(_) | Error::Commit(_) | Error::StoreClosed | Error::Overloaded => {
                tracing::error!(error = %err, "event not stored");
                tonic::Status::unavailable("event not stored; retry")
            }
            Error::TaskFailed { .. } => {
                tracing::error!(error = %err, "event not stored: a gateway task failed");
                tonic::Status::unavailable("event not stored; retry")
            }
            _ => {
                tracing::error!(error = %err, "event not accepted");
                tonic::Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_errors_map_to_caller_codes() {
        let s: tonic::Status = Error::MissingField {
            field: "event_sid".into(),
        }
        .into();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        let s: tonic::Status = Error::TooLarge { len: 10, limit: 5 }.into();
        assert_eq!(s.code(), tonic::Code::ResourceExhausted);
        let s: tonic::Status = Error::StoreClosed.into();
        assert_eq!(s.code(), tonic::Code::Unavailable);
    }

    #[test]
    fn the_caller_fault_list_is_what_maps_to_caller_codes() {
        let callers = [
            Error::InvalidEvent("x".into()),
            Error::MissingField { field: "f".into() },
            Error::JsonTooLarge { len: 2, limit: 1 },
            Error::BadEventId {
                field: "f".into(),
                why: "y".into(),
            },
            Error::EdgeRejected("x".into()),
            Error::TooLarge { len: 2, limit: 1 },
        ];
        for err in callers {
            assert!(err.is_callers_fault(), "{err}");
            let code = tonic::Status::from(err).code();
            assert!(
                matches!(
                    code,
                    tonic::Code::InvalidArgument | tonic::Code::ResourceExhausted
                ),
                "{code:?}"
            );
        }
        for err in [
            Error::StoreClosed,
            Error::Overloaded,
            Error::Config("x".into()),
        ] {
            assert!(!err.is_callers_fault(), "{err}");
        }
    }

    /// A failed join was reported as `StoreClosed` ("outbox writer is not
    /// running"), sending whoever read the log to a healthy outbox.
    #[tokio::test]
    async fn a_failed_task_is_its_own_error_not_a_closed_outbox() {
        let task = tokio::spawn(std::future::pending::<()>());
        task.abort();
        let err = Error::task("shutdown")(task.await.unwrap_err());
        assert!(matches!(
            err,
            Error::TaskFailed {
                what: "shutdown",
                ..
            }
        ));
        let msg = err.to_string();
        assert!(
            msg.starts_with("shutdown task failed: task ") && msg.ends_with(" was cancelled"),
            "{msg}"
        );
        assert!(!err.is_callers_fault());
        let s: tonic::Status = err.into();
        assert_eq!(s.code(), tonic::Code::Unavailable);
        assert_eq!(s.message(), "event not stored; retry");
    }
}
