//! The harness's error type: every failure says what was being done and, for waits, what was
//! seen so far, so a failing test explains itself without re-running it.

use std::path::PathBuf;
use std::time::Duration;

/// Result alias used across the harness.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;

/// What went wrong while setting up or observing the real mail system.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A required program (Postfix, smtp-sink, …) is not installed.
    #[error(
        "{program} is not installed (looked for {path}); run `sudo scripts/install-deps.sh` \
         to install Postfix and the test tools"
    )]
    NotInstalled {
        /// Program name, e.g. `postfix`.
        program: &'static str,
        /// Where it was expected.
        path: PathBuf,
    },

    /// Starting a private Postfix needs super-user rights (Postfix's master drops to
    /// `mail_owner` itself and refuses to run unprivileged).
    #[error(
        "a private Postfix instance needs root (running as uid {uid}); run the tests as root, \
         as CI does"
    )]
    NotRoot {
        /// The effective uid we run as.
        uid: u32,
    },

    /// A file-system or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing, with the path or address involved.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// An external command ran but failed.
    #[error("`{command}` failed ({status}): {output}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status as text.
        status: String,
        /// Its stderr and stdout, plus any log tail that explains it.
        output: String,
    },

    /// A wait ran out of time.
    #[error("timed out after {waited:?} waiting for {what}; {seen}")]
    Timeout {
        /// What we waited for.
        what: String,
        /// How long we waited.
        waited: Duration,
        /// What we observed instead (counts, log tail).
        seen: String,
    },

    /// A captured file or log line did not have the expected shape.
    #[error("cannot parse {path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },

    /// An SMTP exchange with a server under test got an unexpected reply.
    #[error("SMTP {stage} to {server}: {reply}")]
    Smtp {
        /// The command that failed (`MAIL`, `RCPT <x>`, `DATA`, …).
        stage: String,
        /// The server address.
        server: String,
        /// The reply text (or the I/O error).
        reply: String,
    },
}

impl HarnessError {
    /// Wraps an I/O error with what we were doing.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        HarnessError::Io {
            context: context.into(),
            source,
        }
    }
}
