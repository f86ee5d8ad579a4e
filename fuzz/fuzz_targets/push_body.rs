//! The push body Exotel POSTs (JSON or form), under each content type the
//! route can see.
#![no_main]

use handlers::push::body::PushBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let ct = match selector % 4 {
        0 => None,
        1 => Some("application/json"),
        2 => Some("application/x-www-form-urlencoded; charset=utf-8"),
        _ => Some("text/plain"),
    };
    if let Ok(b) = PushBody::parse(ct, body) {
        // What the relay sends on: it must serialize.
        serde_json::to_string(&b).expect("a parsed push body serializes");
    }
});
