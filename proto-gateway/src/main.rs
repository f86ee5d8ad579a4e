//! The proto-gateway binary: parse the command line, load the config, then
//! either serve (until SIGTERM / Ctrl-C) or run a `dead-letters` command.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use proto_gateway::cli::{self, Cli, Command};
use proto_gateway::config::{Config, LogConfig};
use proto_gateway::store::Store;
use proto_gateway::Gateway;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("proto-gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            init_logging(&config.log)?;
            let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
            runtime.block_on(serve(config))
        }
        Command::DeadLetters(cmd) => {
            let store = Store::new(&config.store.path);
            cli::dead_letters(&store, &cmd, &mut std::io::stdout().lock())?;
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let gateway = Gateway::start(config, Vec::new()).await?;
    // One machine-readable line on stdout (logs go to stderr), so scripts
    // and tests can find ports chosen with :0.
    println!(
        "proto-gateway listening grpc={} admin={}",
        gateway.grpc_addr(),
        gateway.admin_addr()
    );
    let shutdown = gateway.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = shutdown.send(true);
    });
    gateway.wait().await?;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM"),
                _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the gateway");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn init_logging(log: &LogConfig) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&log.filter)
        .with_context(|| format!("log.filter {:?}", log.filter))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if log.json {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(())
}
