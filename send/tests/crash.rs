//! Crash safety (SPEC §7): a 2,000-recipient mailing is sent by a separate process
//! (`examples/send_mailing.rs`), which is killed with SIGKILL mid-send and started again.
//! Counted at the receiving smtp-sink: every recipient the store had ticked `sent` at the
//! moment of the kill had arrived; after the restart everyone arrived, nobody is pending, and
//! duplicates are at most the concurrency (messages in flight).
mod support;

use mm_domain::RecipientStatus;
use mm_store::Store;
use mm_tests::{CapturedMessage, SmtpSink, TestDir};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::fixture::{self, address};

const RECIPIENTS: u32 = 2_000;
const CONCURRENCY: usize = 8;

/// The example binary next to this test binary. `cargo test -p mm-send` builds the examples
/// with the tests; when it is missing (e.g. `--test crash` alone on a clean tree) it is built
/// here.
fn example(name: &str) -> PathBuf {
    let me = std::env::current_exe().expect("current exe");
    let profile_dir = me
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let path = profile_dir.join("examples").join(name);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "mm-send", "--example", name])
            .status()
            .expect("run cargo build --example");
        assert!(status.success(), "cargo build --example {name} failed");
    }
    assert!(path.exists(), "{} missing", path.display());
    path
}

/// The sender process, killed (by its pid) if the test ends early.
struct Sender(Option<Child>);

impl Drop for Sender {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Sender {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }
}

fn sender(exe: &Path, dir: &Path, folder: &Path, relay: &str) -> Sender {
    let child = Command::new(exe)
        .arg("--store")
        .arg(dir.join("store"))
        .arg("--mailing")
        .arg(folder)
        .args(["--relay", relay])
        .args(["--concurrency", &CONCURRENCY.to_string()])
        .args(["--retry-ms", "200"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("sender.log"))
                .expect("sender.log"),
        ))
        .spawn()
        .expect("spawn send_mailing");
    Sender(Some(child))
}

/// Complete messages at the sink by recipient; partial transactions (cut off by the kill)
/// are not messages.
fn arrived(sink: &SmtpSink) -> (HashMap<String, usize>, usize) {
    let mut by = HashMap::new();
    let mut total = 0;
    for entry in std::fs::read_dir(sink.dump_dir()).expect("dump dir") {
        let path = entry.expect("entry").path();
        let Ok(m) = CapturedMessage::from_file(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&m.data);
        if !(text.contains("end of message</p></body></html>") && text.trim_end().ends_with("--")) {
            continue;
        }
        total += 1;
        for r in m.recipient_addresses() {
            *by.entry(r.to_string()).or_insert(0) += 1;
        }
    }
    (by, total)
}

fn dump_files(sink: &SmtpSink) -> usize {
    std::fs::read_dir(sink.dump_dir())
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits until smtp-sink holds no dump file open any more (all transactions ended).
fn settle(sink: &SmtpSink) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.count().unwrap_or(0) < dump_files(sink) {
        assert!(Instant::now() < deadline, "sink transactions never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kill_9_mid_send_loses_nobody_and_duplicates_at_most_the_concurrency() {
    let exe = example("send_mailing");
    let dir = TestDir::new("send-crash").expect("test dir");
    let folder = fixture::write_mailing(dir.path());
    {
        let store = Store::open(dir.path().join("store"), fixture::CACHE).expect("store");
        fixture::setup_store(&store, (0..RECIPIENTS).map(address));
    } // closed: the sender process opens it
    let sink = SmtpSink::start(&dir.subdir("sink").unwrap()).expect("sink");
    let relay = sink.addr().to_string();

    // First run: kill -9 once a good part has gone out.
    let mut child = sender(&exe, dir.path(), &folder, &relay);
    let deadline = Instant::now() + Duration::from_secs(120);
    while dump_files(&sink) < 500 {
        assert!(
            child.child().try_wait().unwrap().is_none(),
            "sender ended before it could be killed"
        );
        assert!(
            Instant::now() < deadline,
            "sending too slow: {} messages after 2 minutes",
            dump_files(&sink)
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.child().kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    child.child().wait().unwrap();
    settle(&sink);

    // Every recipient the store durably ticked `sent` got the message.
    let (got, _) = arrived(&sink);
    let sent_at_kill = {
        let store = Store::open(dir.path().join("store"), fixture::CACHE).expect("reopen");
        let mut sent = 0;
        for r in store.recipients(fixture_number(&store)) {
            let r = r.unwrap();
            if r.status == RecipientStatus::Sent {
                sent += 1;
                assert!(
                    got.contains_key(&r.email),
                    "{} is sent in the store but never arrived",
                    r.email
                );
            }
        }
        sent
    };
    assert!(
        sent_at_kill > 0 && sent_at_kill < RECIPIENTS,
        "killed mid-send ({sent_at_kill} sent)"
    );

    // Second run: resumes and finishes.
    let mut second = sender(&exe, dir.path(), &folder, &relay);
    let out = second
        .0
        .take()
        .unwrap()
        .wait_with_output()
        .expect("second run");
    assert!(out.status.success(), "second run failed: {:?}", out);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("finished=Complete"), "{summary}");
    settle(&sink);

    let store = Store::open(dir.path().join("store"), fixture::CACHE).expect("reopen");
    let number = fixture_number(&store);
    let counts = store.counts(number).unwrap();
    assert_eq!(counts.get(RecipientStatus::Pending), 0, "{counts:?}");
    assert_eq!(
        counts.get(RecipientStatus::Sent),
        RECIPIENTS as u64,
        "{counts:?}"
    );
    let (got, total) = arrived(&sink);
    for i in 0..RECIPIENTS {
        assert!(got.contains_key(&address(i)), "recipient {i} never arrived");
    }
    let duplicates = total - RECIPIENTS as usize;
    println!(
        "killed after {sent_at_kill} recorded as sent; {total} messages arrived for {RECIPIENTS} recipients: {duplicates} duplicate(s)"
    );
    assert!(
        duplicates <= CONCURRENCY,
        "{duplicates} duplicates > concurrency {CONCURRENCY}"
    );
}

fn fixture_number(store: &Store) -> u32 {
    store
        .mailing_number(fixture::ID)
        .unwrap()
        .expect("mailing in store")
}
