//! The config validator as a user runs it.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "schema")]

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_exoedge-config"))
        .args(args)
        .output()
        .expect("run exoedge-config");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn shipped_configs_validate() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/");
    let (code, out, err) = run(&[
        "validate",
        &format!("{root}default.json"),
        &format!("{root}example.json"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("example.json: ok (3 lines, 4 groups, 12 agents)"),
        "{out}"
    );
}

#[test]
fn mistakes_are_explained_with_their_path() {
    let dir = std::env::temp_dir().join(format!("exoedge-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let example = include_str!("../../config/example.json");
    let bad = example.replacen("\"ring_seconds\": 20", "\"ring_seconds\": 75", 1);
    assert_ne!(bad, example);
    let path = dir.join("bad.json");
    std::fs::write(&path, bad).unwrap();
    let (code, _, err) = run(&["validate", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("groups.sales.ring_seconds") && err.contains("between 1 and 60"),
        "{err}"
    );
    let (code, _, err) = run(&["validate", "/nonexistent/config.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, err) = run(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("usage"), "{err}");
}

#[test]
fn time_zones_garbage_and_unknown_names_are_refused_with_their_path() {
    let dir = std::env::temp_dir().join(format!("exoedge-cli-tz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let example = include_str!("../../config/example.json");
    for (zone, needle) in [
        ("Eastern Time", "unknown time zone"),
        ("America/Atlantis", "tz database"),
    ] {
        let bad = example.replacen(
            "\"timezone\": \"America/New_York\"",
            &format!("\"timezone\": \"{zone}\""),
            1,
        );
        assert_ne!(bad, example);
        let path = dir.join("tz.json");
        std::fs::write(&path, bad).unwrap();
        let (code, _, err) = run(&["validate", path.to_str().unwrap()]);
        if needle == "tz database" && !std::path::Path::new(ZONEINFO).is_dir() {
            continue; // no system tz database to check well-formed names against
        }
        assert_eq!(code, 1, "{zone}");
        assert!(
            err.contains("lines.+14155550100.hours.timezone") && err.contains(needle),
            "{zone}: {err}"
        );
    }
}

const ZONEINFO: &str = "/usr/share/zoneinfo";

#[test]
fn schema_command_prints_the_committed_schema() {
    let (code, out, _) = run(&["schema"]);
    assert_eq!(code, 0);
    assert_eq!(out, include_str!("../../config/schema.json"));
}
