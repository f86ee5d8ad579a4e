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
//! use handlers::{config::Config, decide, params::CallParams};
//! let cfg = Config::from_json(handlers::DEFAULT_CONFIG).unwrap();
//! let p = CallParams::from_query("CallSid=abc&CallTo=08047115777&CallFrom=09900112233").unwrap();
//! // Decisions read the clock (business hours, holidays): 2026-01-01 12:00 IST.
//! let now_ms = 1_767_249_000_000;
//! let reply = decide::connect(&cfg, &p, now_ms);
//! assert_eq!(reply.status, 200);
//! assert_eq!(reply.content_type.as_str(), "application/json");
//! ```
//!
//! # Layers
//! Leaves first; a module never imports one above it (`tests/layers.rs`):
//! 1. values and requests: [`bounded`], [`phone`], [`destination`],
//!    [`params`], [`rule`], [`reply`], [`error`], [`time`], ...;
//! 2. [`answer`]: what each callback answers, with its `reply()`;
//! 3. [`config`]: the document, made of answers and its own vocabulary;
//! 4. [`routing`] (which answer a call gets) and [`decide`], the one
//!    function per callback the worker calls;
//! 5. [`events`], [`event_log`], [`trace`], [`console`] on top.
#![deny(missing_docs)]

/// `from_baked` and (feature `bake`) `baked_parts` for a checked newtype
/// `Type(Inner)`: handlers/src/bake.rs writes the embedded config out as
/// calls to `from_baked` with what `baked_parts` gives.
macro_rules! baked_newtype {
    ($ty:ident, $inner:ty) => {
        impl $ty {
            /// For the baked embedded config (handlers/src/bake.rs): a value
            /// that already passed `TryFrom`, written out by the build.
            /// Checks nothing.
            #[doc(hidden)]
            pub fn from_baked(v: $inner) -> Self {
                Self(v)
            }

            /// What [`Self::from_baked`] takes back.
            #[cfg(feature = "bake")]
            pub fn baked_parts(&self) -> $inner {
                self.0.clone()
            }
        }
    };
}

pub mod answer;
pub mod auth;
#[cfg(feature = "bake")]
pub mod bake;
pub mod body;
pub mod bounded;
pub mod config;
pub mod console;
pub mod decide;
pub mod destination;
pub mod error;
pub mod event_log;
pub mod events;
pub mod json_path;
pub mod params;
pub mod phone;
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
