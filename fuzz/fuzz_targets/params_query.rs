//! The Exotel query string and its `Legs` (bracketed keys or a JSON string):
//! `CallParams::from_query` must never panic, whatever the bytes.
#![no_main]

use handlers::params::CallParams;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The worker hands over `Url::query()`, which is always valid UTF-8;
    // lossy conversion keeps invalid sequences as U+FFFD like the URL parser.
    let query = String::from_utf8_lossy(data);
    if let Ok(p) = CallParams::from_query(&query) {
        // The accessors the routes call must hold too.
        let _ = (p.caller(), p.exophone(), p.answered_by());
        assert!(p.legs.len() <= handlers::params::MAX_LEGS);
    }
    // Raw pairs, as the status route feeds a decoded form.
    let _ = CallParams::from_pairs(url::form_urlencoded::parse(data));
});
