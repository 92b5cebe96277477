//! The state commands of the CLI: through the running daemon's API, and in-process when no
//! daemon holds the store.
mod common;

use common::*;

fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn state_commands_through_the_daemon_and_in_process() {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = mm_tests::SmtpSink::start(sink_dir.path()).expect("smtp-sink");
    let mut d = Daemon::prepare(&sink.addr().to_string(), "");
    d.write("data/reports/kunden.csv", REPORT.as_bytes());
    d.add_mailing(
        "news",
        &mailing_toml("kunden.csv", "Hi [Nachname]"),
        "<p>Hi [Nachname]</p>",
    );
    d.add_mailing(
        "typo",
        &mailing_toml("kunden.csv", "Hi [Nachnmae]"),
        "<p>x</p>",
    );

    // No daemon: in-process.
    let out = d.cli(&["list"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("ID "), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("news ") && l.contains("draft")),
        "{stdout}"
    );

    d.start();
    let out = d.cli(&["status"]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("daemon running"), "{stdout}");

    let out = d.cli(&["status", "typo"]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("Nachnmae"), "problems are shown: {stdout}");
    assert!(
        stdout.contains("[Nachname]"),
        "merge fields are shown: {stdout}"
    );

    let out = d.cli(&["send", "typo"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(65), "{stderr}");
    assert!(stderr.contains("Nachnmae"), "{stderr}");

    let out = d.cli(&["test", "news", "--to", "proof@sink.test"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("accepted"), "{stdout}");

    let out = d.cli(&["send", "news"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("mailing news sent: 3 sent"), "{stdout}");

    let out = d.cli(&["recipients", "news"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("albrecht@remote.test") && l.contains("sent")),
        "{stdout}"
    );
    let out = d.cli(&["recipients", "news", "--csv"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.starts_with("customer,email,send,status,reason,status_code,diagnostic\n"),
        "{stdout}"
    );

    let out = d.cli(&["copy", "news", "news-2"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("news-2"), "{stdout}");
    let out = d.cli(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mailings"].as_array().unwrap().len(), 3, "{v}");

    let out = d.cli(&["status", "nope"]);
    assert_eq!(out.status.code(), Some(65));
    assert_eq!(d.stop(), Some(0));
}
