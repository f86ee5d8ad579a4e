//! `exoedge-sim run CALL.toml --base URL`: one simulated Exotel call.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use exoedge_sim::call::{LegsForm, StatusFormat};
use exoedge_sim::{run, CallFile, Options};

/// Plays Exotel's side of a call against any base URL and judges every answer as Exotel would.
#[derive(Parser)]
#[command(name = "exoedge-sim", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one call described by a TOML (or .json) call file.
    Run {
        /// The call file (see sim/examples/).
        call: PathBuf,
        /// Prefix for relative applet URLs, with the token path
        /// (`http://127.0.0.1:8787/t/<token>`) or Basic credentials
        /// (`http://exotel:<token>@127.0.0.1:8787`).
        #[arg(long, env = "EXOEDGE_SIM_BASE")]
        base: Option<String>,
        /// Write the transcript as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Speak what the caller hears into this WAV (needs espeak-ng).
        #[arg(long)]
        wav: Option<PathBuf>,
        /// How Legs is sent (overrides the call file).
        #[arg(long, value_enum)]
        legs: Option<LegsForm>,
        /// StatusCallback body format (overrides the call file).
        #[arg(long, value_enum)]
        status_format: Option<StatusFormat>,
        /// Do not download audio URLs named in answers.
        #[arg(long)]
        no_audio_check: bool,
        /// Seconds to wait for each answer (Exotel: 5).
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
        /// Print nothing but failures.
        #[arg(long, short)]
        quiet: bool,
        /// A secret to hide wherever it appears in the output (repeatable),
        /// for servers that keep their secret somewhere other than `/t/<token>/`
        /// or the URL's password.
        #[arg(long = "secret")]
        secrets: Vec<String>,
    },
}

fn main() -> ExitCode {
    let Cmd::Run {
        call,
        base,
        json,
        wav,
        legs,
        status_format,
        no_audio_check,
        timeout,
        quiet,
        secrets,
    } = Cli::parse().cmd;
    let scrub = |s: String| {
        secrets
            .iter()
            .filter(|x| x.len() >= 4)
            .fold(s, |acc, x| acc.replace(x.as_str(), "***"))
    };
    let file = match CallFile::load(&call) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("exoedge-sim: {e}");
            return ExitCode::from(2);
        }
    };
    if !(timeout > 0.0 && timeout <= 60.0) {
        eprintln!("exoedge-sim: --timeout must be between 0 and 60 seconds");
        return ExitCode::from(2);
    }
    let opts = Options {
        base,
        legs_form: legs,
        status_format,
        check_audio: !no_audio_check,
        timeout: std::time::Duration::from_secs_f64(timeout),
        start: None,
    };
    let t = run(&file, &opts);
    if quiet {
        for f in &t.failures {
            eprintln!("FAILED: {}", scrub(f.clone()));
        }
    } else {
        print!("{}", scrub(t.render()));
    }
    if let Some(path) = json {
        let text = match serde_json::to_string_pretty(&t) {
            Ok(s) => scrub(s),
            Err(e) => {
                eprintln!("exoedge-sim: cannot encode the transcript: {e}");
                return ExitCode::from(2);
            }
        };
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("exoedge-sim: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(path) = wav {
        match exoedge_sim::wav::render(&t.heard, &path) {
            Ok(()) => {
                if !quiet {
                    println!("Wrote what the caller hears to {}", path.display());
                }
            }
            Err(e) => eprintln!("exoedge-sim: --wav: {e}"),
        }
    }
    if t.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
