//! The logic of every Exotel callback exoedge answers, with no I/O and no
//! runtime: typed requests in, typed answers out.
//!
//! The worker (`src/` at the repository root) extracts the query or body,
//! calls one function here, performs whatever I/O the answer needs, and
//! converts the [`reply::Reply`] into an HTTP response. Everything a caller's
//! call depends on is therefore testable natively with `cargo test -p handlers`.
//!
//! # Example
//! ```
//! use handlers::{config::Config, params::CallParams};
//! let cfg = Config::from_json(handlers::DEFAULT_CONFIG).unwrap();
//! let p = CallParams::from_query("CallSid=abc&CallTo=08047115777").unwrap();
//! let reply = cfg.connect(p.exophone()).reply();
//! assert_eq!(reply.content_type.as_str(), "application/json");
//! ```
#![deny(missing_docs)]

pub mod auth;
pub mod body;
pub mod bounded;
pub mod config;
pub mod connect;
pub mod console;
pub mod destination;
pub mod dialwhom;
pub mod error;
pub mod event_log;
pub mod events;
pub mod exoml;
pub mod gather;
pub mod greeting;
pub mod json_path;
pub mod params;
pub mod passthru;
pub mod phone;
pub mod playback;
pub mod popup;
pub mod push;
pub mod reply;
pub mod retry;
pub mod route;
pub mod routing;
pub mod rule;
#[cfg(feature = "schema")]
pub mod schema;
pub mod status;
pub mod time;
pub mod trace;
pub mod webhook;

/// The config compiled into the worker, so it answers with nothing else set up.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/default.json");
