//! `mailing-manager`: the single binary — daemon (`run`) and administrator CLI.
//!
//! Errors are `anyhow` here; [`exit`] maps them to sysexits codes in one place.
use clap::Parser;
use std::process::ExitCode;

mod cli;
mod cmd;
mod config;
mod exit;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::dispatch(cli) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    }
}
