//! The store's error type: every way a store call can fail, as a variant the caller can match.
use mm_domain::{MailingState, RecipientStatus};
use std::path::PathBuf;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (normally the running daemon) holds the store's lock file.
    #[error("the store at {path} is locked by another process: the daemon holds the store; ask it via the API")]
    Locked {
        /// The store directory.
        path: PathBuf,
    },
    /// The store could not be opened for another reason (permissions, corrupt files, ...).
    #[error("cannot open the store at {path}: {source}")]
    Open {
        /// The store directory.
        path: PathBuf,
        /// What sled said.
        source: sled::Error,
    },
    /// The store was written with another on-disk layout (by another build): it is not read.
    #[error("the store at {path} has layout version {found}, this build reads only version {supported}: it was written by another version of Mailing Manager; move it aside (there is no migration)")]
    Layout {
        /// The store directory.
        path: PathBuf,
        /// The layout version found on disk.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// An I/O or internal error from sled while reading or writing.
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    /// A stored record could not be decoded (written by an incompatible version, or corrupt).
    #[error("store: corrupt {what} record at key {key}: {detail}")]
    Corrupt {
        /// Which kind of record.
        what: &'static str,
        /// The key, hex-encoded.
        key: String,
        /// The decoder's message.
        detail: String,
    },
    /// No mailing with this id (folder name).
    #[error("unknown mailing {0:?}")]
    UnknownMailing(String),
    /// No mailing with this number.
    #[error("unknown mailing number {0}")]
    UnknownMailingNumber(u32),
    /// No recipient with this row index in the mailing.
    #[error("mailing {mailing}: no recipient with row index {row}")]
    UnknownRecipient {
        /// The mailing number.
        mailing: u32,
        /// The row index.
        row: u32,
    },
    /// No row of the mailing has this address.
    #[error("mailing {mailing:?} has no recipient {address:?}")]
    UnknownAddress {
        /// The mailing id.
        mailing: String,
        /// The address asked for.
        address: String,
    },
    /// A mailing with this id already exists.
    #[error("mailing {0:?} already exists")]
    MailingExists(String),
    /// The operation is only allowed while the mailing is a draft.
    #[error("mailing {id:?} is {state}: {what} is only allowed for a draft")]
    NotDraft {
        /// The mailing id.
        id: String,
        /// Its current state.
        state: MailingState,
        /// What was attempted.
        what: &'static str,
    },
    /// A mailing state change that the life cycle (draft → sending → sent) does not allow.
    #[error("mailing {id:?}: state {from} cannot become {to}")]
    MailingStateChange {
        /// The mailing id.
        id: String,
        /// Current state.
        from: MailingState,
        /// Requested state.
        to: MailingState,
    },
    /// The send flag can only change while the recipient has not been sent to.
    #[error(
        "mailing {mailing}, row {row}: the send flag cannot change once the status is {status}"
    )]
    NotTickable {
        /// The mailing number.
        mailing: u32,
        /// The row index.
        row: u32,
        /// The recipient's status.
        status: RecipientStatus,
    },
    /// An update tried to set a status that only the store sets (`excluded`).
    #[error("status {0} cannot be set by an update; use set_send")]
    NotAnUpdateStatus(RecipientStatus),
    /// The iterator feeding a recipient import failed; the list is left marked incomplete.
    #[error("mailing {id:?}: reading the recipient list failed at row {row}: {source}")]
    Source {
        /// The mailing id.
        id: String,
        /// The row index where it failed.
        row: u32,
        /// The source's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// More than u32::MAX mailings or rows.
    #[error("store: {0} exhausted (u32 range)")]
    Exhausted(&'static str),
}

impl StoreError {
    /// True when this is [`StoreError::Locked`].
    pub fn is_locked(&self) -> bool {
        matches!(self, StoreError::Locked { .. })
    }
}

/// Result alias for store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Maps sled's "could not acquire lock" I/O error (the only way sled reports it) to
/// [`StoreError::Locked`].
pub(crate) fn open_error(path: PathBuf, e: sled::Error) -> StoreError {
    if let sled::Error::Io(io) = &e {
        if io.to_string().contains("could not acquire lock") {
            return StoreError::Locked { path };
        }
    }
    StoreError::Open { path, source: e }
}
