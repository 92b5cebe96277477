//! The file watcher against the real daemon: a report and a mailing written by rename are
//! picked up; a broken mailing.toml is reported and affects no other mailing; `send = true`
//! starts the send once; edits to a sent mailing are reported, not applied.
mod common;

use common::*;
use std::time::Duration;

#[test]
fn watcher_picks_up_files_written_by_rename() {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = mm_tests::SmtpSink::start(sink_dir.path()).expect("smtp-sink");
    let mut d = Daemon::prepare(&sink.addr().to_string(), "");
    d.start();
    assert_eq!(
        d.get_json("/api/mailings")["mailings"],
        serde_json::json!([])
    );

    // A mailing whose report is not there yet: loaded, with a problem.
    d.add_mailing(
        "spring",
        &mailing_toml("later.csv", "Hi [Nachname]"),
        "<p>Hi</p>",
    );
    let m = d.wait_for(20, "the mailing to appear", || {
        let v = d.get_json("/api/mailings");
        v["mailings"].as_array().unwrap().first().cloned()
    });
    assert_eq!(m["id"], "spring");
    assert!(m["problems"].to_string().contains("later.csv"), "{m}");

    // The report arrives (temp file + rename): the mailing reloads and validates.
    d.write("data/reports/later.csv", REPORT.as_bytes());
    let m = d.wait_for(20, "the report to be picked up", || {
        let m = d.get_json("/api/mailings/spring");
        (m["problems"] == serde_json::json!([]) && m["total"] == 6).then_some(m)
    });
    assert_eq!(m["counts"]["pending"], 3, "{m}");

    // A broken mailing.toml next to it: reported, the other mailing is untouched.
    d.add_mailing("broken", "title = \"x\"\nfrom = ", "<p>x</p>");
    let b = d.wait_for(20, "the broken mailing to be reported", || {
        let (status, body) = d.get("/api/mailings/broken");
        (status == 200).then(|| serde_json::from_str::<serde_json::Value>(&body).unwrap())
    });
    assert!(
        b["error"]
            .as_str()
            .is_some_and(|e| e.contains("mailing.toml")),
        "{b}"
    );
    assert_eq!(
        d.get_json("/api/mailings/spring")["problems"],
        serde_json::json!([])
    );
    let (_, metrics) = d.get_raw("/metrics", None).unwrap();
    assert!(
        metrics.contains("mm_file_errors_total{kind=\"mailing\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("mm_mailing_problems 1"), "{metrics}");

    // Editor droppings are ignored.
    d.write("data/mailings/spring/.mailing.toml.swp", b"garbage");
    d.write("data/mailings/spring/mailing.toml~", b"garbage");

    // `send = true` in the file starts the send, once.
    let toml = mailing_toml("later.csv", "Hi [Nachname]") + "send = true\n";
    d.write("data/mailings/spring/mailing.toml", toml.as_bytes());
    d.wait_for(30, "the file-triggered send to finish", || {
        (d.get_json("/api/mailings/spring")["state"] == "sent").then_some(())
    });
    let got = sink.wait_for_messages(3, Duration::from_secs(20)).unwrap();
    assert_eq!(got.len(), 3);

    // An edit of the sent mailing is reported, not applied; nothing is sent again.
    d.write(
        "data/mailings/spring/body.html",
        b"<p>Changed after sending</p>",
    );
    let m = d.wait_for(20, "the frozen edit to be reported", || {
        let m = d.get_json("/api/mailings/spring");
        m["frozen_edit"].as_str().map(|_| m.clone())
    });
    assert_eq!(m["state"], "sent");
    let (_, eml) = d.get("/api/mailings/spring/preview");
    assert!(
        !eml.contains("Changed after sending"),
        "the sent content stays: {eml}"
    );

    // A restart does not start the send again.
    assert_eq!(d.stop(), Some(0));
    d.start();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        sink.count().unwrap(),
        3,
        "send = true starts a mailing once"
    );
    assert_eq!(d.get_json("/api/mailings/spring")["state"], "sent");
    assert_eq!(d.stop(), Some(0));
}

#[test]
fn poll_watcher_for_network_file_systems() {
    let mut d = Daemon::prepare("127.0.0.1:9", "");
    let config = std::fs::read_to_string(&d.config)
        .unwrap()
        .replace("[watch]\n", "[watch]\npoll = true\npoll_secs = 1\n");
    std::fs::write(&d.config, config).unwrap();
    d.start();
    d.write("data/reports/kunden.csv", REPORT.as_bytes());
    d.add_mailing(
        "polled",
        &mailing_toml("kunden.csv", "Hi [Nachname]"),
        "<p>Hi</p>",
    );
    let m = d.wait_for(20, "the polled mailing", || {
        let (status, body) = d.get("/api/mailings/polled");
        (status == 200)
            .then(|| serde_json::from_str::<serde_json::Value>(&body).unwrap())
            .filter(|m| m["total"] == 6)
    });
    assert_eq!(m["problems"], serde_json::json!([]));
    assert_eq!(d.stop(), Some(0));
}
