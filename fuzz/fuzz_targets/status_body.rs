//! StatusCallback bodies: JSON (`from_json`) and form pairs (`from_pairs`, the
//! shape both urlencoded and multipart bodies arrive in after decoding).
#![no_main]

use handlers::status::StatusReport;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = StatusReport::from_json(data) {
        // The log line masks numbers; it must cope with anything parsed.
        let _ = r.log_line();
        let _ = r.answered_by();
    }
    if let Ok(r) = StatusReport::from_pairs(url::form_urlencoded::parse(data)) {
        let _ = r.log_line();
    }
    // Multipart parts arrive as (name, value) text; split on newlines and '='
    // to reach pairs the urlencoded decoder would never produce (raw '&', '+').
    let text = String::from_utf8_lossy(data);
    let pairs = text
        .split('\n')
        .map(|l| l.split_once('=').unwrap_or((l, "")));
    if let Ok(r) = StatusReport::from_pairs(pairs) {
        let _ = r.log_line();
    }
});
