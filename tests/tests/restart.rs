//! Stopping and restarting an instance, as the relay-outage tests do: while outbound is down
//! its port refuses connections; after the restart it takes mail again on the same port, and
//! mail queued before the stop is still delivered.

use std::time::Duration;

use mm_tests::topology::{BOUNCE_DOMAIN, REMOTE_OK};
use mm_tests::{simple_message, Submission, Topology};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn outbound_stops_and_restarts_keeping_its_queue() {
    let mut topo = Topology::start("restart").expect("topology starts");
    let sender = format!("bounce+restart@{BOUNCE_DOMAIN}");
    let addr = topo.outbound.smtpd_addr();

    // Hold the remote so the first message stays queued at outbound across its restart.
    topo.remote.stop().expect("remote stops");
    Submission::new(&sender)
        .rcpt(REMOTE_OK)
        .data(simple_message(
            &sender,
            REMOTE_OK,
            "Queued",
            "before the outage",
        ))
        .send(addr)
        .expect("submission before the outage");
    topo.outbound
        .wait_for_delivery(REMOTE_OK, &["deferred"], WAIT)
        .expect("deferred while the remote is down");

    topo.outbound.stop().expect("outbound stops");
    assert!(!topo.outbound.is_running());
    let refused = Submission::new(&sender)
        .rcpt(REMOTE_OK)
        .data(simple_message(
            &sender,
            REMOTE_OK,
            "Refused",
            "during the outage",
        ))
        .send(addr);
    assert!(
        refused.is_err(),
        "a stopped Postfix must refuse: {refused:?}"
    );
    assert_eq!(
        topo.outbound.queue_size().expect("queue"),
        1,
        "queue kept on disk"
    );

    topo.outbound.restart().expect("outbound restarts");
    // Configuration as Postfix reads it, and a change applied by reload.
    assert_eq!(
        topo.outbound.param("delay_warning_time").expect("param"),
        "20s"
    );
    topo.outbound
        .set_param("delay_warning_time", "30s")
        .expect("postconf -e");
    topo.outbound.reload().expect("reload");
    assert_eq!(
        topo.outbound.param("delay_warning_time").expect("param"),
        "30s"
    );
    topo.remote.restart().expect("remote restarts");
    assert_eq!(topo.outbound.smtpd_addr(), addr);
    Submission::new(&sender)
        .rcpt("second@remote.test")
        .data(simple_message(
            &sender,
            "second@remote.test",
            "After",
            "after the outage",
        ))
        .send(addr)
        .expect("submission after the restart");
    // The deferred one is retried on the next queue run (5–10 s here); flush to be quick.
    topo.outbound.postqueue("-f").expect("flush");
    topo.remote_sink
        .wait_for_recipient("second@remote.test", WAIT)
        .expect("new mail delivered");
    let queued = topo
        .remote_sink
        .wait_for_recipient(REMOTE_OK, WAIT)
        .expect("mail queued before the outage delivered");
    assert_eq!(queued.header("Subject").as_deref(), Some("Queued"));
    topo.wait_idle(WAIT).expect("queues drain");
}

#[tokio::test(flavor = "current_thread")]
async fn async_waits_keep_the_runtime_serving() {
    // A task on the test's own runtime must keep running while the test waits.
    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = ticks.clone();
    let ticker = tokio::spawn(async move {
        loop {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let topo = Topology::builder("async")
        .start_async()
        .await
        .expect("topology starts");
    let sender = format!("bounce+async@{BOUNCE_DOMAIN}");
    let addr = topo.outbound.smtpd_addr();
    let message = simple_message(&sender, REMOTE_OK, "Async", "body");
    Submission::new(&sender)
        .rcpt(REMOTE_OK)
        .data(message)
        .send_async(addr)
        .await
        .expect("submission");
    topo.remote_sink
        .wait_for_recipient_async(REMOTE_OK, WAIT)
        .await
        .expect("delivered");
    topo.outbound
        .wait_for_delivery_async(REMOTE_OK, &["sent"], WAIT)
        .await
        .expect("logged as sent");
    topo.outbound
        .wait_queue_empty_async(WAIT)
        .await
        .expect("queue empty");
    // A wait that runs out of time: 300 ms during which the ticker must keep ticking.
    let before = ticks.load(std::sync::atomic::Ordering::Relaxed);
    let err = topo
        .remote_sink
        .wait_for_recipient_async("never@remote.test", Duration::from_millis(300))
        .await
        .expect_err("nobody sent to never@");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(err.to_string().contains("1 message(s) arrived"), "{err}");
    let ticked = ticks.load(std::sync::atomic::Ordering::Relaxed) - before;
    ticker.abort();
    assert!(
        ticked >= 5,
        "the runtime kept serving during the wait ({ticked} ticks)"
    );
}
