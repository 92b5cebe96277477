//! The milter in a real Postfix's pipeline (SPEC §10): the harness's outbound instance has it
//! in `smtpd_milters` and `non_smtpd_milters` with `internal_mail_filter_classes = bounce`, and
//! generates the reports itself — unknown local user, unknown domain, remote 550 / 552 / 554
//! rejections, a report the remote MTA sends back by SMTP, a delay warning. The milter (with a
//! recording sink) must record each with the right kind, status and reason, and keep it out of
//! the bounce mailbox; ordinary mail, a human reply and a forged report must pass untouched.
//!
//! Needs root and Postfix (the harness's requirements); skipped with a message otherwise.
mod common;

use common::*;
use mm_domain::{BounceReason, ReportKind, VerpToken};
use mm_milter::{MilterConfig, ReportEvent, TokenSource};
use mm_tests::topology::{
    BOUNCE_DOMAIN, LOCAL_UNKNOWN, NXDOMAIN, REMOTE_BLOCKED, REMOTE_FULL, REMOTE_LATER,
    REMOTE_LATE_BOUNCE, REMOTE_OK, REMOTE_UNKNOWN,
};
use mm_tests::{simple_message, CapturedMessage, HarnessError, SmtpSink, Submission, Topology};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn config() -> MilterConfig {
    MilterConfig::new(BOUNCE_DOMAIN, key())
}

fn verp_address(token: &VerpToken) -> String {
    token.address("bounce", BOUNCE_DOMAIN)
}

/// Starts the topology with `m` attached, or `None` (skip) without root or Postfix.
async fn topology(name: &str, m: &TestMilter) -> Option<Topology> {
    match Topology::builder(name)
        .milter(&m.postfix_spec())
        .start_async()
        .await
    {
        Ok(t) => Some(t),
        Err(e @ (HarnessError::NotRoot { .. } | HarnessError::NotInstalled { .. })) => {
            eprintln!("SKIPPED: no private Postfix here: {e}");
            None
        }
        Err(e) => panic!("topology: {e}"),
    }
}

/// Submits one message to outbound with a VERP sender and DSN parameters, as the daemon does.
async fn submit(topo: &Topology, sender: &str, envid: Option<&str>, rcpt: &str, subject: &str) {
    let mut s = Submission::new(sender).rcpt_with(rcpt, &["NOTIFY=FAILURE,DELAY"]);
    if let Some(envid) = envid {
        s = s
            .mail_param("RET=HDRS")
            .mail_param(&format!("ENVID={envid}"));
    }
    let s = s.data(simple_message(
        sender,
        rcpt,
        subject,
        "Hello,\nthis is a test.\n",
    ));
    let addr = topo.outbound.smtpd_addr();
    // The SMTP client blocks; Postfix meanwhile talks to the milter on this runtime.
    let outcome = tokio::task::spawn_blocking(move || s.send(addr))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("submit to {rcpt}: {e}"));
    assert!(outcome.queued(), "{rcpt}: {outcome:?}");
}

/// Waits until the sink recorded a report for `token`.
async fn recorded_for(
    m: &TestMilter,
    topo: &Topology,
    token: VerpToken,
    what: &str,
) -> ReportEvent {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(ev) = m
            .sink
            .recorded()
            .into_iter()
            .find(|e| e.token == Some(token))
        {
            return ev;
        }
        if Instant::now() > deadline {
            panic!(
                "{what}: no report recorded for token {token}; recorded: {:?}\n{}",
                m.sink
                    .recorded()
                    .iter()
                    .map(|e| (e.token, e.report.kind))
                    .collect::<Vec<_>>(),
                topo.outbound.log_tail(40)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for a message to `address` at `sink`. Retries when the harness reads a dump file
/// smtp-sink is still writing (it then reports a parse error).
async fn delivered_to(sink: &SmtpSink, address: &str) -> CapturedMessage {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match sink.wait_for_recipient_async(address, left).await {
            Ok(m) => return m,
            Err(HarnessError::Parse { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("a message to {address}: {e}"),
        }
    }
}

struct Case {
    rcpt: String,
    kind: ReportKind,
    status: &'static str,
    reason: Option<BounceReason>,
    hard: bool,
    reply_code: Option<u16>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_generated_reports_are_recorded_and_kept_out_of_the_mailbox() {
    let m = TestMilter::start(config()).await;
    let Some(topo) = topology("milter-reports", &m).await else {
        return;
    };
    let nx = format!("someone@{NXDOMAIN}");
    let cases = [
        // First, so that its delay warning (~21 s) overlaps the others.
        Case {
            rcpt: REMOTE_LATER.into(),
            kind: ReportKind::Delay,
            status: "4.2.0",
            reason: None,
            hard: false,
            reply_code: Some(450),
        },
        Case {
            rcpt: LOCAL_UNKNOWN.into(),
            kind: ReportKind::Bounce,
            status: "5.1.1",
            reason: Some(BounceReason::UserUnknown),
            hard: true,
            reply_code: None,
        },
        Case {
            rcpt: nx,
            kind: ReportKind::Bounce,
            status: "5.4.4",
            reason: Some(BounceReason::HostUnknown),
            hard: true,
            reply_code: None,
        },
        Case {
            rcpt: REMOTE_UNKNOWN.into(),
            kind: ReportKind::Bounce,
            status: "5.1.1",
            reason: Some(BounceReason::UserUnknown),
            hard: true,
            reply_code: Some(550),
        },
        Case {
            rcpt: REMOTE_FULL.into(),
            kind: ReportKind::Bounce,
            status: "5.2.2",
            reason: Some(BounceReason::MailboxFull),
            hard: false,
            reply_code: Some(552),
        },
        Case {
            rcpt: REMOTE_BLOCKED.into(),
            kind: ReportKind::Bounce,
            status: "5.7.1",
            reason: Some(BounceReason::SpamDetected),
            hard: false,
            reply_code: Some(554),
        },
        // Accepted by the remote, bounced there: the report comes back by SMTP (smtpd path).
        Case {
            rcpt: REMOTE_LATE_BOUNCE.into(),
            kind: ReportKind::Bounce,
            status: "5.1.1",
            reason: Some(BounceReason::UserUnknown),
            hard: true,
            reply_code: None,
        },
    ];

    let tokens: Vec<VerpToken> = (0..cases.len() as u32).map(|i| key().sign(42, i)).collect();
    for (case, token) in cases.iter().zip(&tokens) {
        let sender = verp_address(token);
        submit(
            &topo,
            &sender,
            Some(&token.to_string()),
            &case.rcpt,
            &format!("to {}", case.rcpt),
        )
        .await;
    }

    for (case, token) in cases.iter().zip(&tokens) {
        let what = &case.rcpt;
        let ev = recorded_for(&m, &topo, *token, what).await;
        assert!(ev.token_valid, "{what}");
        assert_eq!(ev.token_source, Some(TokenSource::Envelope), "{what}");
        assert_eq!(
            ev.envelope_sender, "",
            "{what}: reports come from the null sender"
        );
        assert!(
            ev.envelope_recipients
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&verp_address(token))),
            "{what}: {:?}",
            ev.envelope_recipients
        );
        assert!(ev.queue_id.is_some(), "{what}: Postfix passes its queue id");
        assert_eq!(ev.report.kind, case.kind, "{what}: {:#?}", ev.report);
        assert_eq!(ev.report.recipients.len(), 1, "{what}: {:#?}", ev.report);
        let r = &ev.report.recipients[0];
        assert!(
            r.address.eq_ignore_ascii_case(&case.rcpt),
            "{what}: {}",
            r.address
        );
        assert_eq!(r.status.as_deref(), Some(case.status), "{what}: {r:#?}");
        if let Some(reason) = case.reason {
            assert_eq!(r.reason, reason, "{what}: {r:#?}");
        }
        assert_eq!(r.hard, case.hard, "{what}: {r:#?}");
        if let Some(code) = case.reply_code {
            assert_eq!(r.reply_code, Some(code), "{what}: {r:#?}");
        }
        // RET=HDRS ENVID=token: the report names the envelope id.
        assert_eq!(
            ev.report.original_envelope_id.as_deref(),
            Some(token.to_string().as_str()),
            "{what}"
        );
        let raw = String::from_utf8_lossy(&ev.raw);
        assert!(
            raw.contains(&format!("Status: {}", case.status)),
            "{what}: raw report kept"
        );
    }

    assert!(m.sink.forged().is_empty());
    // Discarded after recording: none reached the bounce mailbox (a discarded message is
    // gone from Postfix the moment the milter answers, so there is nothing to wait for).
    assert_eq!(
        topo.bounce_sink.count().unwrap(),
        0,
        "recorded reports are discarded"
    );
    drop(topo);
    m.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_that_is_not_a_recorded_report_passes_untouched() {
    let m = TestMilter::start(config()).await;
    let Some(topo) = topology("milter-passes", &m).await else {
        return;
    };

    // Ordinary mail, relayed with its content intact.
    submit(
        &topo,
        "news@example.org",
        None,
        REMOTE_OK,
        "Ordinary newsletter 4711",
    )
    .await;
    let got = delivered_to(&topo.remote_sink, REMOTE_OK).await;
    assert_eq!(
        got.header("Subject").as_deref(),
        Some("Ordinary newsletter 4711")
    );
    assert!(
        got.text().contains("Hello,\nthis is a test.\n"),
        "{}",
        got.text()
    );

    // Ordinary mail on the local, non-SMTP path (sendmail → cleanup → non_smtpd_milters).
    let local = "other@remote.test";
    let message = simple_message("news@example.org", local, "Local submission 815", "Body\n");
    let pf = &topo.outbound;
    tokio::task::block_in_place(|| pf.sendmail("news@example.org", &[local], &[], &message))
        .expect("sendmail");
    let got = delivered_to(&topo.remote_sink, local).await;
    assert_eq!(
        got.header("Subject").as_deref(),
        Some("Local submission 815")
    );

    // A human reply to a VERP address: no report, so it reaches the bounce mailbox.
    let token = key().sign(1, 7);
    let verp = verp_address(&token);
    submit(
        &topo,
        "someone@remote.test",
        None,
        &verp,
        "Re: your newsletter",
    )
    .await;
    // (The human reply is let through.)
    delivered_to(&topo.bounce_sink, &verp).await;

    // A report for a forged token: counted, nothing recorded, let through.
    let forged = foreign_key().sign(1, 8);
    let forged_verp = verp_address(&forged);
    submit(
        &topo,
        &forged_verp,
        Some(&forged.to_string()),
        LOCAL_UNKNOWN,
        "forged",
    )
    .await;
    // (The forged report is let through.)
    let report = delivered_to(&topo.bounce_sink, &forged_verp).await;
    assert!(report.text().contains("Status: 5.1.1"), "{}", report.text());
    assert_eq!(m.sink.forged().len(), 1);
    assert_eq!(m.sink.forged()[0].token, Some(forged));

    assert!(
        m.sink.recorded().is_empty(),
        "nothing recorded: {:?}",
        m.sink.recorded().len()
    );
    drop(topo);
    m.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_cannot_be_recorded_stays_queued_until_it_can() {
    let m = TestMilter::start(config()).await;
    let Some(topo) = topology("milter-tempfail", &m).await else {
        return;
    };
    m.sink.fail.store(true, Ordering::SeqCst);
    let token = key().sign(5, 5);
    submit(
        &topo,
        &verp_address(&token),
        Some(&token.to_string()),
        REMOTE_UNKNOWN,
        "tempfail",
    )
    .await;

    let deadline = Instant::now() + Duration::from_secs(30);
    while m.sink.failures.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the milter never offered the report to the sink\n{}",
            topo.outbound.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The store is back: Postfix retries and the report is recorded, not lost.
    m.sink.fail.store(false, Ordering::SeqCst);
    let ev = recorded_for(&m, &topo, token, "retried report").await;
    assert_eq!(ev.report.recipients[0].status.as_deref(), Some("5.1.1"));
    assert_eq!(topo.bounce_sink.count().unwrap(), 0);
    drop(topo);
    m.stop().await.unwrap();
}
