//! A record of what the harness started, so a test binary killed before its `Drop`s ran
//! leaves enough behind for `.ci/run` (or a human) to stop it by pid or config directory.
//!
//! One file per running thing under `$TMPDIR/mm-tests-running/` (override with
//! `MM_TEST_REGISTRY`), three lines: kind (`postfix` or `pid`), target (config directory or
//! pid), owner pid. Removed when the thing is stopped normally.

use std::path::PathBuf;

/// Environment variable overriding the registry directory.
pub const REGISTRY_ENV: &str = "MM_TEST_REGISTRY";

/// The registry directory.
pub fn registry_dir() -> PathBuf {
    std::env::var_os(REGISTRY_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("mm-tests-running"))
}

/// A registry entry; removes its file on drop.
#[derive(Debug)]
pub(crate) struct Registration {
    path: Option<PathBuf>,
}

impl Registration {
    /// Records `kind target`. Failures only lose the safety net, so they are ignored.
    pub(crate) fn record(kind: &str, target: &str) -> Self {
        let dir = registry_dir();
        if std::fs::create_dir_all(&dir).is_err() {
            return Registration { path: None };
        }
        let name = format!(
            "{kind}-{}-{}",
            std::process::id(),
            target
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        );
        let path = dir.join(name);
        let body = format!("{kind}\n{target}\n{}\n", std::process::id());
        match std::fs::write(&path, body) {
            Ok(()) => Registration { path: Some(path) },
            Err(_) => Registration { path: None },
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}
