//! Free loopback ports for receivers started by tests.
//!
//! The OS picks a free port (bind to `127.0.0.1:0`); a process-wide set makes sure two tests
//! running in parallel in the same binary never get the same number even if the OS hands it
//! out again before the first test bound it.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Mutex;

use crate::error::{HarnessError, Result};

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Returns a TCP port on 127.0.0.1 that is free right now and not returned before by this
/// process.
///
/// There is an unavoidable window between this call and the bind of whoever uses the port;
/// the harness's starters check that the process they started is the one listening.
pub fn free_port() -> Result<u16> {
    for _ in 0..64 {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| HarnessError::io("bind 127.0.0.1:0 to find a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| HarnessError::io("local address of a probe listener", e))?
            .port();
        let mut guard = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
        if guard.get_or_insert_with(HashSet::new).insert(port) {
            return Ok(port);
        }
    }
    Err(HarnessError::io(
        "find a free loopback port",
        std::io::Error::other("the OS kept returning ports already handed out"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_bindable() {
        let a = free_port().expect("port");
        let b = free_port().expect("port");
        assert_ne!(a, b);
        TcpListener::bind(("127.0.0.1", a)).expect("the port is free");
    }
}
