//! Command-line interface (SPEC §9): the subcommands of the single `mailing-manager` binary.
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Personalised mass mailings from CRM report exports, with per-recipient bounce tracking.
#[derive(Debug, Parser)]
#[command(name = "mailing-manager", version, about)]
pub struct Cli {
    /// Daemon config file.
    #[arg(long, short = 'c', global = true, env = "MAILING_MANAGER_CONFIG",
          default_value = crate::config::DEFAULT_PATH)]
    pub config: PathBuf,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: watcher, sender, milter and admin API.
    Run,
    /// Validate the config, every report and every mailing; print problems and counts.
    Check(CheckArgs),
    /// List the mailings with their state and counts (asks the daemon).
    List(OutputArgs),
    /// Show a mailing's recipient list (asks the daemon).
    Recipients(RecipientsArgs),
    /// Show one mailing's state, counts and problems (asks the daemon).
    Status(StatusArgs),
    /// Render the message one recipient would get.
    Preview(PreviewArgs),
    /// Send a test mail of a mailing to an address; no recipient state changes.
    Test(TestArgs),
    /// Validate and send a mailing to all ticked recipients, then close it.
    Send(SendArgs),
    /// Copy a mailing to a new draft, optionally with another report.
    Copy(CopyArgs),
    /// Bounce-report tools.
    Dsn {
        /// The dsn subcommand.
        #[command(subcommand)]
        command: DsnCommand,
    },
}

/// `check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only check this mailing.
    pub mailing: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Output selection shared by the state commands.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `recipients`
#[derive(Debug, Args)]
pub struct RecipientsArgs {
    /// Mailing id (its folder name).
    pub id: String,
    /// Print the CSV export instead of a table.
    #[arg(long)]
    pub csv: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Mailing id; without it, the daemon's overall status.
    pub id: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `preview`
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Mailing id (its folder name).
    pub id: String,
    /// Render for this recipient (default: the first one that would be sent to).
    #[arg(long)]
    pub recipient: Option<String>,
    /// Output the complete message (.eml).
    #[arg(long, conflicts_with = "html")]
    pub eml: bool,
    /// Output the HTML body with images inlined (default).
    #[arg(long)]
    pub html: bool,
    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

/// `test`
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Mailing id.
    pub id: String,
    /// Where to send the test mail.
    #[arg(long)]
    pub to: String,
    /// Render with this recipient's row (default: the first).
    #[arg(long = "as")]
    pub as_recipient: Option<String>,
}

/// `send`
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Mailing id.
    pub id: String,
    /// Do not wait for the send to finish (no progress bar).
    #[arg(long)]
    pub no_wait: bool,
}

/// `copy`
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The mailing to copy.
    pub id: String,
    /// The new mailing's id (folder name).
    pub new_id: String,
    /// Use this report instead of the original's.
    #[arg(long)]
    pub report: Option<String>,
}

/// `dsn` subcommands.
#[derive(Debug, Subcommand)]
pub enum DsnCommand {
    /// Classify bounce reports; one JSON object per line and file.
    Parse {
        /// Report files (.eml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}
