//! `GET /healthz`: liveness plus where the config came from.

use handlers::reply::Reply;
use serde::Serialize;

use crate::config;

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    config_source: config::Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    config_error: Option<String>,
    lines: usize,
}

/// Reports version and config state; no secrets, no numbers.
pub fn handle_health() -> Reply {
    let s = config::status();
    Reply::json(&Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        config_source: s.source,
        config_error: s.error,
        lines: s.lines,
    })
}
