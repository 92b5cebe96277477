//! The milter's own errors: binding the listen address and a listener that stops accepting.
use std::io;

/// Why the milter could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum MilterError {
    /// The listen address could not be bound (busy port, missing directory, permissions).
    #[error("milter: cannot listen on {addr}: {source}")]
    Bind {
        /// The address as configured (`inet:127.0.0.1:8891`, `unix:/run/mm/milter.sock`).
        addr: String,
        /// The OS error.
        source: io::Error,
    },
    /// The listener failed to accept connections; the milter stopped.
    #[error("milter: accepting connections failed: {0}")]
    Accept(#[source] io::Error),
}
