//! The config loader: anything must be rejected cleanly or loaded, and a
//! config that loads must serialize and load again to the same value (what
//! `exoedge-config` and `/healthz` rely on).
#![no_main]

use handlers::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = Config::from_json(doc) else {
        return;
    };
    let again = serde_json::to_string(&cfg).expect("a loaded config serializes");
    let reloaded =
        Config::from_json(&again).unwrap_or_else(|e| panic!("reload of {again} failed: {e}"));
    assert_eq!(cfg, reloaded, "config round trip changed the value");
    // Lookups by any ExoPhone spelling must not panic either.
    for key in cfg.lines.keys() {
        let _ = cfg.connect(Some(key));
    }
    let _ = cfg.greeting(Some(doc));
});
