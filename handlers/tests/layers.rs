//! The crate's layers (src/lib.rs, "Layers"), checked from the sources: a
//! module never imports one above it, so answers, config and routing can
//! each be read, tested and changed without the layers on top. An import
//! that would close a circle (config importing routing, an answer importing
//! config, ...) fails here rather than in review.
//!
//! Modules not named in [`LAYERS`] (the route table, push, schema) are not checked.

use std::fs;
use std::path::Path;

/// The layers from the bottom up. A module may import its own layer and
/// the layers below it, never one above.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "values and requests",
        &[
            "auth",
            "body",
            "bounded",
            "destination",
            "error",
            "json_path",
            "params",
            "phone",
            "reply",
            "retry",
            "rule",
            "status",
            "time",
            "webhook",
        ],
    ),
    ("answers", &["answer"]),
    ("config", &["config"]),
    ("routing", &["routing"]),
    ("per-callback decisions", &["decide"]),
    (
        "events, trace, console",
        &["events", "event_log", "trace", "console"],
    ),
];

/// The layer index of a top-level module, if it is in one.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The top-level module a source file belongs to (`answer/connect.rs` ->
/// `answer`, `config.rs` -> `config`).
fn module_of(rel: &str) -> &str {
    let first = rel.split('/').next().unwrap_or(rel);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// The top-level modules a source names through `crate::`, comments
/// (doc links included) left out: `crate::config::Config`,
/// `use crate::{config, routing::plan_connect}`.
fn crate_imports(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| format!("{l}\n"))
        .collect();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::`, `handlers_crate::`, ...
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names in the braces, nested braces skipped.
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            found.push(ident(item.trim()));
        } else {
            found.push(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

/// Every import of a module from a layer above its own, as
/// `file: layer imports module (layer)`.
fn violations<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, source) in files {
        let module = module_of(rel);
        let Some(own) = layer_of(module) else {
            continue;
        };
        for imported in crate_imports(source) {
            if let Some(theirs) = layer_of(&imported).filter(|l| *l > own) {
                out.push(format!(
                    "{rel}: {} imports {imported} ({})",
                    LAYERS[own].0, LAYERS[theirs].0
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, fs::read_to_string(&path).expect("a readable source")));
        }
    }
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    // A layer whose modules moved or were renamed would pass vacuously.
    for (layer, modules) in LAYERS {
        for m in *modules {
            assert!(
                files.iter().any(|(rel, _)| module_of(rel) == *m),
                "layer {layer:?} names module {m:?}, which src/ does not have: update LAYERS"
            );
        }
    }
    let found = violations(files.iter().map(|(r, s)| (r.as_str(), s.as_str())));
    assert!(
        found.is_empty(),
        "imports against the layers (src/lib.rs, \"Layers\"):\n{}",
        found.join("\n")
    );
}

/// The circle this check was written against: config importing routing
/// and the events flow, and answer modules deciding with the config.
#[test]
fn the_old_import_circle_is_caught() {
    let config = "use crate::answer::connect::ConnectAnswer;\n\
                  use crate::routing::groups::{AgentGroup, MAX_AGENTS};\n\
                  pub events: Option<crate::events::EventsFlow>,\n";
    let answer = "/// See [`crate::routing::plan_connect`].\n\
                  pub fn decide(cfg: &crate::config::Config, p: &crate::params::CallParams) {\n\
                  use crate::{reply::Reply, routing::{plan_connect, ConnectPlan}};\n}\n";
    let routing = "use crate::config::{Config, Line};\nuse crate::answer::popup::Popup;\n";
    let found = violations([
        ("config/mod.rs", config),
        ("answer/connect.rs", answer),
        ("routing/mod.rs", routing),
    ]);
    assert_eq!(
        found,
        [
            "answer/connect.rs: answers imports config (config)",
            "answer/connect.rs: answers imports routing (routing)",
            "config/mod.rs: config imports events (events, trace, console)",
            "config/mod.rs: config imports routing (routing)",
        ]
    );
}
