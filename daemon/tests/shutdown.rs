//! SIGTERM during a send: the daemon stops accepting, finishes the messages in flight, records
//! them, flushes the store and exits 0; every recipient is then `sent` (and arrived at the
//! relay) or still `pending` (and did not); a restart finishes the mailing.
mod common;

use common::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const ROWS: usize = 600;

#[test]
fn sigterm_mid_send_is_consistent_and_restart_finishes() {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = mm_tests::SmtpSink::start(sink_dir.path()).expect("smtp-sink");
    // 100 messages/s: the send takes ~6 s, long enough to interrupt.
    let mut d = Daemon::prepare(&sink.addr().to_string(), "");
    let config = std::fs::read_to_string(&d.config)
        .unwrap()
        .replace("[smtp]\n", "[smtp]\nrate = 100\nconcurrency = 4\n");
    std::fs::write(&d.config, config).unwrap();
    let mut report = String::from("Kundennummer;Nachname;E-Mail\n");
    for i in 0..ROWS {
        report.push_str(&format!("K{};Person{i};user{i}@remote.test\n", i / 3));
    }
    d.write("data/reports/big.csv", report.as_bytes());
    d.add_mailing(
        "big",
        &mailing_toml("big.csv", "Hello [Nachname]"),
        "<p>Hello [Nachname]</p>",
    );
    d.start();

    let (status, body) = d.post("/api/mailings/big/send", None);
    assert_eq!(status, 202, "{body}");
    d.wait_for(30, "some messages to go out", || {
        let m = d.get_json("/api/mailings/big");
        (m["counts"]["sent"].as_u64().unwrap_or(0) >= 60).then_some(())
    });
    let t = Instant::now();
    assert_eq!(d.stop(), Some(0), "{}", d.log_text());
    assert!(
        t.elapsed() < Duration::from_secs(25),
        "stopped within the deadline"
    );
    let log = d.log_text();
    assert!(log.contains("sending paused for shutdown"), "{log}");
    assert!(log.contains("store flushed"), "{log}");

    // No daemon now: the CLI reads the store in-process.
    let out = d.cli(&["recipients", "big", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), ROWS);
    let arrived: HashMap<String, usize> = received(&sink);
    let mut sent = 0;
    for r in &rows {
        let email = r["email"].as_str().unwrap();
        match r["status"].as_str().unwrap() {
            "sent" => {
                sent += 1;
                assert!(
                    arrived.contains_key(email),
                    "{email} is recorded sent but never arrived"
                );
                assert!(
                    r["queue_id"].is_string() || r["smtp_reply"].is_string(),
                    "{r}"
                );
            }
            "pending" => assert!(
                !arrived.contains_key(email),
                "{email} arrived but is still pending: a graceful stop records what was in flight"
            ),
            other => panic!("{email}: unexpected status {other} after a graceful stop"),
        }
    }
    assert!(
        (60..ROWS).contains(&sent),
        "interrupted mid-send: {sent} of {ROWS} sent"
    );
    assert_eq!(
        arrived.values().sum::<usize>(),
        sent,
        "nothing arrived twice, nothing unrecorded"
    );
    let status = d.cli(&["status", "big", "--json"]);
    let m: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(m["state"], "sending");

    // Restart: the mailing resumes and finishes.
    d.start();
    d.wait_for(60, "the mailing to finish after the restart", || {
        (d.get_json("/api/mailings/big")["state"] == "sent").then_some(())
    });
    let arrived = received(&sink);
    assert_eq!(arrived.len(), ROWS, "every recipient got the message");
    let dups: usize = arrived.values().map(|n| n - 1).sum();
    assert_eq!(dups, 0, "a graceful stop re-sends nothing");
    let m = d.get_json("/api/mailings/big");
    assert_eq!(m["counts"]["sent"], ROWS as u64, "{m}");
    assert_eq!(d.stop(), Some(0));
}

/// Recipient address → number of messages the sink received for it.
fn received(sink: &mm_tests::SmtpSink) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for m in sink.messages().unwrap() {
        for r in m.recipients {
            *map.entry(r.address).or_insert(0) += 1;
        }
    }
    map
}
