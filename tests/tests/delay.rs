//! The outbound instance's fast clocks: a recipient the remote keeps deferring (450) gets a
//! delay warning after `delay_warning_time = 20s`, long before the message expires.

use std::time::Duration;

use mm_tests::topology::{BOUNCE_DOMAIN, REMOTE_LATER};
use mm_tests::{simple_message, Submission, Topology};

#[test]
fn deferred_recipient_gets_a_delay_warning() {
    let topo = Topology::start("delay").expect("topology starts");
    let sender = format!("bounce+delay@{BOUNCE_DOMAIN}");
    Submission::new(&sender)
        .mail_param("ENVID=delay-1")
        .rcpt_with(REMOTE_LATER, &["NOTIFY=FAILURE,DELAY"])
        .data(simple_message(&sender, REMOTE_LATER, "Later", "Try again"))
        .send(topo.outbound.smtpd_addr())
        .expect("submission");
    let deferred = topo
        .outbound
        .wait_for_delivery(REMOTE_LATER, &["deferred"], Duration::from_secs(20))
        .expect("the remote defers");
    assert_eq!(deferred.dsn.as_deref(), Some("4.2.0"));

    let warning = topo
        .bounce_sink
        .wait_for_recipient(&sender, Duration::from_secs(60))
        .expect("a delay warning");
    let text = warning.text();
    assert_eq!(warning.mail_from, "");
    assert!(text.contains("Action: delayed"), "{text}");
    assert!(text.contains("Status: 4.2.0"), "{text}");
    assert!(text.contains("Original-Envelope-Id: delay-1"), "{text}");
    assert_eq!(
        topo.outbound.queue_size().expect("queue"),
        1,
        "still queued"
    );
}
