//! `exoedge-config`: check a routing config before it goes to KV, and print
//! its JSON Schema.
//!
//! ```sh
//! cargo run -p handlers --features schema --bin exoedge-config -- validate my-config.json
//! cargo run -p handlers --features schema --bin exoedge-config -- schema > config/schema.json
//! ```

use std::process::ExitCode;

use handlers::config::Config;

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
                    Ok(doc) => match Config::from_json(&doc) {
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
