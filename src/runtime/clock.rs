//! The clock: Unix milliseconds as `i64` everywhere (what `handlers`'
//! decisions, the event log's SQL and alarm times take).

use handlers::params::CallParams;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Seconds since the Unix epoch (app tokens, session cookies, JWTs).
pub fn now_secs() -> u64 {
    (now_ms() / 1000).max(0) as u64
}

/// The clock a callback's decisions read: `now_ms`, the time the request
/// arrived (read once per request: each read is a call into the runtime).
/// The test build (`test-clock` feature) lets a request set it with
/// `__test_now_ms`, so hours can be checked at fixed instants on both
/// sides of a daylight-saving change; the production build has no such
/// parameter.
pub fn decision_now_ms(p: &CallParams, now_ms: i64) -> i64 {
    #[cfg(feature = "test-clock")]
    if let Some(ms) = p.extra.get("__test_now_ms").and_then(|v| v.parse().ok()) {
        return ms;
    }
    let _ = p;
    now_ms
}
