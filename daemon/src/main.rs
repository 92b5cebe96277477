//! `mailing-manager`: the single binary — daemon (`run`) and administrator CLI.
//!
//! # Layout
//! - [`cli`]: the command line; [`cmd`]: one module per subcommand; [`exit`]: errors → exit
//!   codes in one place; [`config`]: the daemon config.
//! - The daemon (`run`): [`lifecycle`] (shutdown token, task tracker, labelled work guards),
//!   [`listeners`] (bound by hand before anything starts), [`token`] (the admin token),
//!   [`metrics`], [`health`], [`app`] (the shared handle), [`mailings`] (loading mailings into
//!   the store, the life cycle), [`watch`] (the file watcher), [`sink`] (the milter's report
//!   sink over the store), [`documents`] (customer documents, CSV exports), [`api`] (the admin
//!   HTTP API, one file per endpoint group), [`sender`] (dispatching `sending` mailings),
//!   [`preview`] (preview and test mail), [`copy`] (copying a mailing to a new draft),
//!   [`reload`] (SIGHUP).
//! - The CLI client: `client` talks to a running daemon's API.
//!
//! Errors are `anyhow` here; [`exit`] maps them to sysexits codes.
use clap::Parser;
use std::process::ExitCode;

mod api;
mod app;
mod cli;
mod client;
mod cmd;
mod config;
mod copy;
mod documents;
mod exit;
mod health;
mod lifecycle;
mod listeners;
mod mailings;
mod metrics;
mod preview;
mod reload;
mod sender;
mod sink;
mod token;
mod watch;

fn main() -> ExitCode {
    // Before any thread exists: the arena limit binds only threads that allocate after it.
    mm_store::tune_allocator();
    let cli = cli::Cli::parse();
    init_tracing(&cli);
    match cmd::dispatch(cli) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    }
}

/// Installs the one tracing subscriber: filter from `MAILING_MANAGER_LOG` or `RUST_LOG`
/// (default `info` for the daemon, `warn` for the CLI), format from the config's `log_format`
/// when the daemon runs. Logs go to stderr so that CLI output on stdout stays clean.
fn init_tracing(cli: &cli::Cli) {
    use tracing_subscriber::EnvFilter;
    let is_daemon = matches!(cli.command, cli::Command::Run);
    let default = if is_daemon { "info" } else { "warn" };
    let filter = std::env::var("MAILING_MANAGER_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    // A broken config is reported by the command itself; here it only picks the format.
    let json = is_daemon
        && config::Config::load(&cli.config)
            .map(|c| c.log_format == config::LogFormat::Json)
            .unwrap_or(false);
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
