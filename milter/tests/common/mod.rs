//! Shared by the milter's integration tests: a recording [`ReportSink`] (a fake for logic only —
//! the milter protocol is driven by a real client), a milter started on a free loopback port or
//! a Unix socket, and a runner for `miltertest` scripts.
#![allow(dead_code)]

pub mod raw;

use mm_domain::{VerpKey, VerpToken};
use mm_milter::{
    Listener, MilterConfig, MilterError, ReportEvent, ReportSink, SinkError, SinkOutcome,
};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The bounce domain every test uses.
pub const DOMAIN: &str = "bounces.example.org";

/// The key the milter under test verifies with.
pub fn key() -> VerpKey {
    VerpKey::from_bytes(b"mm-milter integration test key, 32+ bytes long")
}

/// A key the milter does not know: tokens signed with it are forgeries.
pub fn foreign_key() -> VerpKey {
    VerpKey::from_bytes(b"somebody else's key, also 32+ bytes long......")
}

/// Remembers everything it is handed.
#[derive(Default)]
pub struct RecordingSink {
    pub recorded: Mutex<Vec<ReportEvent>>,
    pub forged: Mutex<Vec<ReportEvent>>,
    /// When set, `record` fails like a broken store.
    pub fail: AtomicBool,
    /// How many times `record` failed.
    pub failures: AtomicUsize,
}

impl RecordingSink {
    pub fn recorded(&self) -> Vec<ReportEvent> {
        self.recorded.lock().unwrap().clone()
    }
    pub fn forged(&self) -> Vec<ReportEvent> {
        self.forged.lock().unwrap().clone()
    }
}

impl ReportSink for RecordingSink {
    fn record(&self, event: ReportEvent) -> Result<SinkOutcome, SinkError> {
        if self.fail.load(Ordering::SeqCst) {
            self.failures.fetch_add(1, Ordering::SeqCst);
            return Err(SinkError::Store("disk on fire (test)".into()));
        }
        self.recorded.lock().unwrap().push(event);
        Ok(SinkOutcome::Recorded)
    }

    fn forged(&self, event: &ReportEvent) {
        self.forged.lock().unwrap().push(event.clone());
    }
}

/// A running milter.
pub struct TestMilter {
    /// The socket in miltertest's notation (`inet:PORT@127.0.0.1` / `unix:PATH`).
    pub sock: String,
    /// The TCP address, for raw clients.
    pub addr: Option<std::net::SocketAddr>,
    pub sink: Arc<RecordingSink>,
    shutdown: CancellationToken,
    handle: JoinHandle<Result<(), MilterError>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestMilter {
    /// The default configuration for tests.
    pub fn config() -> MilterConfig {
        MilterConfig::new(DOMAIN, key())
    }

    /// The socket in Postfix's notation (`inet:127.0.0.1:PORT` / `unix:PATH`).
    pub fn postfix_spec(&self) -> String {
        match self.addr {
            Some(a) => format!("inet:{a}"),
            None => self.sock.clone(),
        }
    }

    /// Starts on 127.0.0.1:0.
    pub async fn start(config: MilterConfig) -> TestMilter {
        let listener = Listener::bind_tcp("127.0.0.1:0".parse().unwrap())
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("a TCP address");
        Self::spawn(
            listener,
            config,
            format!("inet:{}@127.0.0.1", addr.port()),
            Some(addr),
            None,
        )
    }

    /// Starts on a Unix socket in a fresh temporary directory.
    pub async fn start_unix(config: MilterConfig) -> TestMilter {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("milter.sock");
        let listener = Listener::bind_unix(&path)
            .await
            .expect("bind a unix socket");
        let sock = format!("unix:{}", path.display());
        Self::spawn(listener, config, sock, None, Some(dir))
    }

    fn spawn(
        listener: Listener,
        config: MilterConfig,
        sock: String,
        addr: Option<std::net::SocketAddr>,
        dir: Option<tempfile::TempDir>,
    ) -> TestMilter {
        let sink = Arc::new(RecordingSink::default());
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(mm_milter::run(
            listener,
            config,
            sink.clone(),
            shutdown.clone().cancelled_owned(),
        ));
        TestMilter {
            sock,
            addr,
            sink,
            shutdown,
            handle,
            _dir: dir,
        }
    }

    /// Whether `run` has returned (it must not, until shutdown).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Begins shutdown without waiting.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Shuts down and returns what `run` returned.
    pub async fn stop(self) -> Result<(), MilterError> {
        self.shutdown.cancel();
        self.handle.await.expect("milter task panicked")
    }
}

/// Path of a file in `tests/miltertest/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/miltertest")
        .join(name)
}

const MILTERTEST: &str = "/usr/bin/miltertest";

/// Whether miltertest is installed; prints why a test is skipped when not.
pub fn have_miltertest() -> bool {
    let ok = Path::new(MILTERTEST).exists();
    if !ok {
        eprintln!("SKIPPED: {MILTERTEST} is not installed (Debian package miltertest)");
    }
    ok
}

/// Runs `miltertest -s tests/miltertest/SCRIPT -D k=v ...` and returns its output.
pub async fn miltertest(name: &str, vars: &[(&str, String)]) -> Output {
    let mut cmd = tokio::process::Command::new(MILTERTEST);
    cmd.arg("-s").arg(script(name));
    for (k, v) in vars {
        cmd.arg("-D").arg(format!("{k}={v}"));
    }
    cmd.output().await.expect("run miltertest")
}

/// Asserts that miltertest succeeded, showing its output otherwise.
pub fn assert_passed(out: &Output, what: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what}: miltertest failed ({}):\n{text}",
        out.status
    );
    eprintln!("{what}: {}", text.trim());
}

/// The VERP address of `token`.
pub fn verp(token: &VerpToken) -> String {
    token.address("bounce", DOMAIN)
}

/// A fixture from `tests/miltertest/` with `@TOKEN@` and `@DOMAIN@` filled in.
pub fn fixture(name: &str, token: &str) -> String {
    std::fs::read_to_string(script(name))
        .expect("read fixture")
        .replace("@TOKEN@", token)
        .replace("@DOMAIN@", DOMAIN)
}
