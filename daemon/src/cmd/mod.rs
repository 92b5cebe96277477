//! One module per subcommand.
use crate::cli::{Cli, Command, DsnCommand};
use std::process::ExitCode;

mod check;
mod client;
mod dsn;
mod preview;
mod run;

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run => run::run(&cli.config),
        Command::Check(args) => check::run(&cli.config, args),
        Command::Preview(args) => preview::run(&cli.config, args),
        Command::Dsn {
            command: DsnCommand::Parse { files },
        } => dsn::parse(&cli.config, files),
        Command::List(args) => client::list(&cli.config, args),
        Command::Recipients(args) => client::recipients(&cli.config, args),
        Command::Status(args) => client::status(&cli.config, args),
        Command::Test(args) => client::test(&cli.config, args),
        Command::Send(args) => client::send(&cli.config, args),
        Command::Copy(args) => client::copy(&cli.config, args),
    }
}
