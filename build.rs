//! Writes the embedded config (config/default.json) out as Rust, for
//! src/config.rs to `include!`: a cold isolate serving it then builds it
//! with plain constructors instead of decoding JSON on its first request,
//! which made V8 compile all the config's serde code on a caller's time
//! (handlers/src/bake.rs; BENCHMARKS.md, "Issue 16"). The document is
//! validated here as a KV document is at run time, so an invalid embedded
//! config fails the build instead of shipping.
//!
//! The baked code grows with the document (about a byte of wasm per byte
//! of JSON, all in one function V8 compiles on first use), the decoder
//! does not: a document over [`MAX_BAKED_BYTES`] is left to the decoder,
//! as a KV document is.

use std::path::PathBuf;

/// Largest embedded document written out as Rust.
const MAX_BAKED_BYTES: usize = 64 * 1024;

fn main() {
    println!("cargo::rerun-if-changed=config/default.json");
    let doc = handlers::DEFAULT_CONFIG;
    let cfg = handlers::config::Config::from_json(doc)
        .unwrap_or_else(|e| panic!("config/default.json is not a valid config: {e}"));
    let code = if doc.len() <= MAX_BAKED_BYTES {
        let baked = handlers::bake::config(&cfg);
        format!("::core::option::Option::Some({baked})")
    } else {
        "::core::option::Option::None".to_owned()
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("embedded_config.rs"), code).expect("OUT_DIR is writable");
}
