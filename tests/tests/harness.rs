//! Proves the harness against the real thing: the topology starts, a message is relayed
//! outbound → remote → sink with its envelope and DSN parameters intact, and real Postfix
//! reports for a remote 550 5.1.1 and an unknown local user come back to the bounce domain.

use std::time::Duration;

use mm_tests::topology::{BOUNCE_DOMAIN, LOCAL_UNKNOWN, REMOTE_OK, REMOTE_UNKNOWN};
use mm_tests::{simple_message, SmtpSink, Submission, TestDir, Topology};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn smtp_sink_captures_envelope_and_dsn_parameters() {
    let dir = TestDir::new("sink").expect("test dir");
    let sink = SmtpSink::start(dir.path()).expect("smtp-sink starts");
    let outcome = Submission::new("sender@client.test")
        .mail_param("RET=HDRS")
        .mail_param("ENVID=env-1")
        .rcpt_with(
            "a@example.test",
            &["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;a@example.test"],
        )
        .rcpt("b@example.test")
        .data(simple_message(
            "sender@client.test",
            "a@example.test",
            "Hello",
            ".dot line\nbody",
        ))
        .send(sink.addr())
        .expect("submission");
    assert!(outcome.queued(), "{outcome:?}");
    assert_eq!(outcome.accepted.len(), 2);

    let got = sink.wait_for_messages(1, WAIT).expect("one message");
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.mail_from, "sender@client.test");
    assert_eq!(m.mail_param("RET"), Some("HDRS"));
    assert_eq!(m.mail_param("ENVID"), Some("env-1"));
    assert_eq!(
        m.recipient_addresses(),
        ["a@example.test", "b@example.test"]
    );
    assert_eq!(m.recipients[0].param("NOTIFY"), Some("FAILURE,DELAY"));
    assert_eq!(
        m.recipients[0].param("ORCPT"),
        Some("rfc822;a@example.test")
    );
    assert_eq!(m.header("Subject").as_deref(), Some("Hello"));
    // Dot-stuffing was undone by the receiver: the body line starts with one dot.
    assert!(m.text().contains("\n.dot line\nbody\n"), "{}", m.text());
}

#[test]
fn sink_restarts_on_the_same_port() {
    let dir = TestDir::new("sink-restart").expect("test dir");
    let mut sink = SmtpSink::start(dir.path()).expect("smtp-sink starts");
    let port = sink.port();
    sink.stop();
    let refused = Submission::new("s@client.test")
        .rcpt("r@example.test")
        .data(simple_message("s@client.test", "r@example.test", "x", "y"))
        .send(sink.addr());
    assert!(refused.is_err(), "a stopped sink must not accept mail");
    sink.restart().expect("restart");
    assert_eq!(sink.port(), port);
    Submission::new("s@client.test")
        .rcpt("r@example.test")
        .data(simple_message("s@client.test", "r@example.test", "x", "y"))
        .send(sink.addr())
        .expect("accepted after restart");
    assert_eq!(sink.wait_for_messages(1, WAIT).expect("message").len(), 1);
}

#[test]
fn topology_relays_and_reports_through_real_postfix() {
    let topo = Topology::start("harness").expect("topology starts");
    let sender = format!("bounce+smoke@{BOUNCE_DOMAIN}");

    // 1. A good address: relayed outbound → remote → sink, envelope and DSN parameters kept.
    let ok = Submission::new(&sender)
        .mail_param("RET=HDRS")
        .mail_param("ENVID=smoke-1")
        .rcpt_with(
            REMOTE_OK,
            &["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;someone@remote.test"],
        )
        .data(simple_message(&sender, REMOTE_OK, "Good", "Hello someone"))
        .send(topo.outbound.smtpd_addr())
        .expect("submission of the good message");
    assert!(ok.queued(), "{ok:?}");
    assert!(
        ok.queue_id().is_some(),
        "Postfix names its queue id: {ok:?}"
    );
    let delivered = topo
        .remote_sink
        .wait_for_recipient(REMOTE_OK, WAIT)
        .expect("good message arrives at the remote's mailbox");
    assert_eq!(delivered.mail_from, sender);
    assert_eq!(delivered.mail_param("RET"), Some("HDRS"));
    assert_eq!(delivered.mail_param("ENVID"), Some("smoke-1"));
    assert_eq!(
        delivered.recipients[0].param("NOTIFY"),
        Some("FAILURE,DELAY")
    );
    assert_eq!(
        delivered.recipients[0].param("ORCPT"),
        Some("rfc822;someone@remote.test")
    );
    assert_eq!(delivered.header("Subject").as_deref(), Some("Good"));

    // 2. unknown@remote.test: the remote refuses at RCPT, outbound reports back to the sender.
    Submission::new(&sender)
        .mail_param("ENVID=smoke-2")
        .rcpt(REMOTE_UNKNOWN)
        .data(simple_message(
            &sender,
            REMOTE_UNKNOWN,
            "Unknown",
            "Nobody home",
        ))
        .send(topo.outbound.smtpd_addr())
        .expect("submission to unknown@");
    let bounced = topo
        .outbound
        .wait_for_delivery(REMOTE_UNKNOWN, &["bounced"], WAIT)
        .expect("outbound logs the bounce");
    assert_eq!(bounced.dsn.as_deref(), Some("5.1.1"));

    // 3. unknown-user@local.test: local(8) of outbound has no such user.
    Submission::new(&sender)
        .rcpt(LOCAL_UNKNOWN)
        .data(simple_message(
            &sender,
            LOCAL_UNKNOWN,
            "Local",
            "No such user",
        ))
        .send(topo.outbound.smtpd_addr())
        .expect("submission to the local domain");

    // Both reports reach the bounce domain, from the null sender, addressed to our VERP-like
    // sender, with the DSN fields a classifier reads.
    let reports = topo
        .bounce_sink
        .wait_for_messages(2, WAIT)
        .expect("two reports arrive in the bounce domain");
    assert_eq!(reports.len(), 2);
    for report in &reports {
        assert_eq!(report.mail_from, "", "reports use the null sender");
        assert_eq!(report.recipient_addresses(), [sender.as_str()]);
        let text = report.text();
        assert!(text.contains("Content-Type: multipart/report"), "{text}");
        assert!(text.contains("Status: 5.1.1"), "{text}");
        assert!(text.contains("Action: failed"), "{text}");
    }
    let remote_report = reports
        .iter()
        .find(|r| {
            r.text()
                .contains("Final-Recipient: rfc822; unknown@remote.test")
        })
        .expect("a report for unknown@remote.test");
    let text = remote_report.text();
    assert!(text.contains("Original-Envelope-Id: smoke-2"), "{text}");
    assert!(text.contains("Diagnostic-Code: smtp; 550 5.1.1"), "{text}");
    assert!(text.contains("User unknown"), "{text}");
    let local_report = reports
        .iter()
        .find(|r| {
            r.text()
                .contains("Final-Recipient: rfc822; unknown-user@local.test")
        })
        .expect("a report for unknown-user@local.test");
    assert!(
        local_report.text().contains("unknown user"),
        "{}",
        local_report.text()
    );

    topo.wait_idle(WAIT).expect("queues drain");
}

#[test]
fn several_failures_of_one_message_come_back_as_one_report() {
    use mm_tests::topology::{NXDOMAIN, REMOTE_BLOCKED, REMOTE_FULL};
    let topo = Topology::start("harness-multi").expect("topology starts");
    let sender = format!("bounce+multi@{BOUNCE_DOMAIN}");
    let nx = format!("someone@{NXDOMAIN}");
    let outcome = Submission::new(&sender)
        .mail_param("RET=HDRS")
        .rcpt(REMOTE_FULL)
        .rcpt(REMOTE_BLOCKED)
        .rcpt(&nx)
        .data(simple_message(
            &sender,
            REMOTE_FULL,
            "Multi",
            "Three failures",
        ))
        .send(topo.outbound.smtpd_addr())
        .expect("submission");
    assert_eq!(
        outcome.accepted.len(),
        3,
        "outbound accepts all at RCPT: {outcome:?}"
    );

    let reports = topo
        .bounce_sink
        .wait_for_messages(1, WAIT)
        .expect("a report");
    let text = reports[0].text();
    for (rcpt, status) in [
        (REMOTE_FULL, "5.2.2"),
        (REMOTE_BLOCKED, "5.7.1"),
        (nx.as_str(), "5.4.4"),
    ] {
        let block = text
            .split("\n\n")
            .find(|b| b.contains(&format!("Final-Recipient: rfc822; {rcpt}")))
            .unwrap_or_else(|| panic!("no block for {rcpt} in {text}"));
        assert!(block.contains(&format!("Status: {status}")), "{block}");
    }
    assert!(text.contains("Host or domain name not found"), "{text}");
    // RET=HDRS: the original comes back as headers only.
    assert!(text.contains("text/rfc822-headers"), "{text}");
    assert!(!text.contains("Three failures"), "{text}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        topo.bounce_sink.count().expect("count"),
        1,
        "one report only"
    );
    assert_eq!(
        topo.remote_sink.count().expect("count"),
        0,
        "nothing delivered"
    );
}

#[test]
fn unreachable_milter_lets_mail_through_on_both_paths() {
    // Nothing listens on this port: `milter_default_action = accept` must keep mail flowing,
    // for SMTP (smtpd_milters) and local submission (non_smtpd_milters).
    let port = mm_tests::free_port().expect("port");
    let topo = Topology::builder("harness-milter")
        .milter(&format!("inet:127.0.0.1:{port}"))
        .start()
        .expect("topology starts");
    let sender = format!("bounce+milter@{BOUNCE_DOMAIN}");
    Submission::new(&sender)
        .rcpt(REMOTE_OK)
        .data(simple_message(&sender, REMOTE_OK, "Via SMTP", "smtp"))
        .send(topo.outbound.smtpd_addr())
        .expect("SMTP submission");
    topo.outbound
        .sendmail(
            &sender,
            &["other@remote.test"],
            &[],
            &simple_message(&sender, "other@remote.test", "Via sendmail", "local"),
        )
        .expect("sendmail submission");
    topo.remote_sink
        .wait_for_recipient(REMOTE_OK, WAIT)
        .expect("SMTP path delivered");
    topo.remote_sink
        .wait_for_recipient("other@remote.test", WAIT)
        .expect("sendmail path delivered");
    // Both paths tried the milter: smtpd (smtpd_milters) and cleanup for the locally
    // submitted message (non_smtpd_milters).
    let refused = format!("connect to Milter service inet:127.0.0.1:{port}");
    topo.outbound
        .wait_for_log(&refused, WAIT)
        .expect("Postfix tried the milter");
    let log = topo.outbound.maillog();
    for daemon in ["postfix/smtpd[", "postfix/cleanup["] {
        assert!(
            log.lines()
                .any(|l| l.contains(daemon) && l.contains(&refused)),
            "no {daemon} milter attempt in\n{log}"
        );
    }
}

#[test]
fn a_remote_report_comes_back_by_smtp_through_outbound() {
    use mm_tests::topology::REMOTE_LATE_BOUNCE;
    let topo = Topology::start("harness-late").expect("topology starts");
    let sender = format!("bounce+late@{BOUNCE_DOMAIN}");
    Submission::new(&sender)
        .mail_param("ENVID=late-1")
        .rcpt_with(REMOTE_LATE_BOUNCE, &["NOTIFY=FAILURE"])
        .data(simple_message(
            &sender,
            REMOTE_LATE_BOUNCE,
            "Late",
            "accepted, then lost",
        ))
        .send(topo.outbound.smtpd_addr())
        .expect("submission");
    // Outbound hands it over successfully; the failure happens at the remote.
    let sent = topo
        .outbound
        .wait_for_delivery(REMOTE_LATE_BOUNCE, &["sent"], WAIT)
        .expect("outbound relays it");
    assert!(
        sent.relay.as_deref().unwrap_or("").starts_with("127.0.0.1"),
        "{sent:?}"
    );
    topo.remote
        .wait_for_delivery(REMOTE_LATE_BOUNCE, &["bounced"], WAIT)
        .expect("the remote bounces it");

    let report = topo
        .bounce_sink
        .wait_for_recipient(&sender, WAIT)
        .expect("the remote's report reaches the bounce domain");
    let text = report.text();
    assert_eq!(report.mail_from, "");
    assert_eq!(
        report.helo.as_deref(),
        Some("outbound.test"),
        "relayed by outbound"
    );
    assert!(
        text.contains("Reporting-MTA: dns; mx.remote.test"),
        "{text}"
    );
    assert!(text.contains("Original-Envelope-Id: late-1"), "{text}");
    assert!(text.contains("Status: 5.1.1"), "{text}");
    // Relayed with the DSN parameters the remote's report carried (ORCPT is xtext: + → +2B).
    assert_eq!(
        report.recipients[0].param("ORCPT"),
        Some("rfc822;bounce+2Blate@bounces.test")
    );
    // Outbound received it from the remote by SMTP (an smtpd `client=` line for its queue
    // id), not as a report of its own.
    let queued = topo
        .outbound
        .wait_for_log("from=<>", WAIT)
        .expect("outbound queues the report");
    let queue_id = queued
        .split("]: ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .expect("queue id");
    let log = topo.outbound.maillog();
    assert!(
        log.lines()
            .any(|l| l.contains("postfix/smtpd[") && l.contains(&format!("{queue_id}: client="))),
        "{log}"
    );
}
