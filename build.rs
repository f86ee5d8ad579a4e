//! Writes the embedded config (config/default.json) out as Rust, for
//! src/config.rs to `include!`: a cold isolate serving it then builds it
//! with plain constructors instead of decoding JSON on its first request,
//! which made V8 compile all the config's serde code on a caller's time
//! (handlers/src/bake.rs, BENCHMARKS.md "Issue 16"). The document is
//! validated here as a KV document is at run time, so an invalid embedded
//! config fails the build instead of shipping.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=config/default.json");
    let cfg = handlers::config::Config::from_json(handlers::DEFAULT_CONFIG)
        .unwrap_or_else(|e| panic!("config/default.json is not a valid config: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(
        out.join("embedded_config.rs"),
        handlers::bake::config(&cfg).to_string(),
    )
    .expect("OUT_DIR is writable");
}
