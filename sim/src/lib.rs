//! exoedge-sim: plays Exotel's side of a call against any base URL.
//!
//! Exotel calls a customer's URLs while a caller waits on the line; today
//! the only way to test a flow is to dial the ExoPhone and listen. This
//! crate sends what Exotel sends at each applet ([`params`]), judges each
//! answer as Exotel would ([`judge`]), walks the flow with fallbacks,
//! dialling, re-fetches and branches ([`flow`]), and records all of it
//! ([`transcript`]). The `exoedge-sim` binary wraps it in a CLI.
#![deny(missing_docs)]

pub mod call;
pub mod flow;
pub mod http;
pub mod judge;
pub mod params;
pub mod transcript;
pub mod wav;

pub use call::CallFile;
pub use flow::{run, Options};
pub use transcript::Transcript;
