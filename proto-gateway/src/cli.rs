//! Command line: `proto-gateway [--config FILE] [serve]` runs the gateway;
//! `proto-gateway dead-letters list|show <id>|replay <id>|replay --all`
//! works on the same outbox file, also while the gateway runs.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};
use crate::store::{DeadLetter, Store};

/// Exotel gRPC call events in, signed HTTP to the edge out.
#[derive(Debug, Parser)]
#[command(name = "proto-gateway", version, about, after_help = env_help())]
pub struct Cli {
    /// TOML config file; without one, built-in local-development defaults.
    /// Environment variables PROTO_GATEWAY_* override either.
    #[arg(long, short, env = "PROTO_GATEWAY_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The environment overrides, listed under `--help`.
fn env_help() -> String {
    let mut text = String::from("Environment overrides (applied after the config file):\n");
    for (var, key) in crate::config::ENV_OVERRIDES {
        text.push_str(&format!("  {var:<32} {key}\n"));
    }
    text
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Inspect and replay events that could not be delivered.
    #[command(subcommand)]
    DeadLetters(DeadLetters),
}

/// `dead-letters` subcommands.
#[derive(Debug, Subcommand, PartialEq, Eq)]
pub enum DeadLetters {
    /// List dead letters, newest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one dead letter with its payload (JSON).
    Show {
        /// Id from `list`.
        id: i64,
    },
    /// Put dead letters back in the outbox for delivery.
    Replay {
        /// Id from `list`.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Replay every dead letter.
        #[arg(long)]
        all: bool,
    },
}

/// Runs a `dead-letters` subcommand against `store`, writing to `out`.
pub fn dead_letters(store: &Store, cmd: &DeadLetters, out: &mut dyn Write) -> Result<()> {
    let io = |e| Error::io("writing output", e);
    match cmd {
        DeadLetters::List { limit } => {
            let rows = store.list_dead(*limit)?;
            if rows.is_empty() {
                writeln!(out, "no dead letters").map_err(io)?;
            }
            for d in rows {
                writeln!(out, "{}", list_line(&d)).map_err(io)?;
            }
        }
        DeadLetters::Show { id } => {
            let mut d = store.show_dead(*id)?;
            // The payload is shown as JSON, not as a string holding JSON.
            let payload: Option<serde_json::Value> =
                d.payload.take().and_then(|p| serde_json::from_str(&p).ok());
            let mut v = serde_json::to_value(&d)?;
            v["payload"] = payload.unwrap_or(serde_json::Value::Null);
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?).map_err(io)?;
        }
        DeadLetters::Replay { id, all } => {
            let n = match (id, all) {
                (Some(id), false) => store.replay(Some(*id))?,
                (None, true) => store.replay(None)?,
                _ => return Err(Error::Config("give one dead-letter id or --all".into())),
            };
            writeln!(
                out,
                "replayed {n} dead letter(s); a running gateway delivers them within a second, \
                 a stopped one when it starts"
            )
            .map_err(io)?;
        }
    }
    Ok(())
}

fn list_line(d: &DeadLetter) -> String {
    format!(
        "{id}\t{sid}\tkey={key}\tattempts={att}\tdead_at_ms={at}\t{err}",
        id = d.id,
        sid = d.event_sid,
        key = d.ordering_key,
        att = d.attempts,
        at = d.dead_at_ms,
        err = d.last_error.replace(['\n', '\t'], " "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_commands() {
        let p = |args: &[&str]| Cli::try_parse_from(args).map(|c| c.command);
        assert!(p(&["pg"]).unwrap().is_none());
        assert!(matches!(
            p(&["pg", "dead-letters", "replay", "7"]).unwrap(),
            Some(Command::DeadLetters(DeadLetters::Replay {
                id: Some(7),
                all: false
            }))
        ));
        assert!(matches!(
            p(&["pg", "dead-letters", "replay", "--all"]).unwrap(),
            Some(Command::DeadLetters(DeadLetters::Replay {
                id: None,
                all: true
            }))
        ));
        assert!(p(&["pg", "dead-letters", "replay"]).is_err());
        assert!(p(&["pg", "dead-letters", "replay", "3", "--all"]).is_err());
        let c =
            Cli::try_parse_from(["pg", "dead-letters", "show", "3", "--config", "x.toml"]).unwrap();
        assert_eq!(c.config.unwrap(), PathBuf::from("x.toml"));
    }

    #[test]
    fn empty_store_lists_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("o.db"));
        let mut out = Vec::new();
        dead_letters(&store, &DeadLetters::List { limit: 10 }, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "no dead letters\n");
        let err = dead_letters(&store, &DeadLetters::Show { id: 4 }, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Error::NoSuchDeadLetter(4)));
    }
}
