//! `exoedge-config`: check a routing config before it goes to KV, and print
//! its JSON Schema.
//!
//! ```sh
//! cargo run -p handlers --features schema --bin exoedge-config -- validate my-config.json
//! cargo run -p handlers --features schema --bin exoedge-config -- schema > config/schema.json
//! ```

use std::process::ExitCode;

use handlers::config::Config;

/// The system's tz database, where there is one. The worker checks zones
/// against its runtime's (`Intl`) at load; this catches a misspelt zone
/// before upload on machines that have one.
const ZONEINFO: &str = "/usr/share/zoneinfo";

fn system_knows_zone(zone: &str) -> bool {
    let dir = std::path::Path::new(ZONEINFO);
    !dir.is_dir() || dir.join(zone).is_file()
}

const USAGE: &str = "usage: exoedge-config validate <config.json>... | exoedge-config schema";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("schema") => {
            print!("{}", handlers::schema::config_schema());
            ExitCode::SUCCESS
        }
        Some("validate") if args.len() > 1 => {
            let mut ok = true;
            for path in &args[1..] {
                match std::fs::read_to_string(path) {
                    Err(e) => {
                        eprintln!("{path}: cannot read: {e}");
                        ok = false;
                    }
                    Ok(doc) => match Config::from_json(&doc)
                        .and_then(|c| c.check_zones(system_knows_zone).map(|()| c))
                    {
                        Ok(cfg) => println!(
                            "{path}: ok ({} lines, {} groups, {} agents)",
                            cfg.lines.len(),
                            cfg.groups.len(),
                            cfg.groups.values().map(|g| g.agents.len()).sum::<usize>()
                        ),
                        Err(e) => {
                            eprintln!("{path}: {e}");
                            ok = false;
                        }
                    },
                }
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
