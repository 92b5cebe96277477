//! Dispatch through a real private Postfix (the mm-tests harness) that relays `remote.test`
//! to a smtp-sink and refuses some recipients at RCPT: accepted messages are `sent` with
//! Postfix's queue id, 5xx at RCPT are `rejected` with Postfix's reply, 4xx end `failed`
//! after the attempts, and the sink behind Postfix receives each accepted message once with
//! the VERP envelope sender and the DSN parameters Postfix passed on.
mod support;

use mm_domain::{RecipientStatus, VerpToken};
use mm_send::{dispatch, Finished, Progress, SenderConfig, SmtpPool};
use mm_store::Store;
use mm_tests::topology::{REMOTE_ACCESS, REMOTE_DOMAIN};
use mm_tests::{HarnessError, PostfixBuilder, SmtpSink, TestDir};
use std::sync::Arc;
use std::time::Duration;
use support::fixture::{self, ID};
use tokio_util::sync::CancellationToken;

const USERS: u32 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_postfix_queue_ids_rejections_and_dsn_parameters() {
    let dir = TestDir::new("send-postfix").expect("test dir");
    let sink = SmtpSink::start(&dir.subdir("sink").unwrap()).expect("sink");
    let relay = match PostfixBuilder::new("relay", &dir.subdir("relay").unwrap())
        .myhostname("mx.remote.test")
        .relay_domain(REMOTE_DOMAIN)
        .route_smtp(REMOTE_DOMAIN, &sink.next_hop())
        .recipient_access(REMOTE_ACCESS)
        .start()
    {
        Ok(p) => p,
        Err(e @ (HarnessError::NotRoot { .. } | HarnessError::NotInstalled { .. })) => {
            eprintln!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("start Postfix: {e}"),
    };

    let mut addresses: Vec<String> = (0..USERS).map(|i| format!("user{i}@remote.test")).collect();
    addresses.extend(
        [
            "unknown@remote.test",
            "full@remote.test",
            "later@remote.test",
        ]
        .map(String::from),
    );
    let folder = fixture::write_mailing(dir.path());
    let store = Store::open(dir.path().join("store"), fixture::CACHE).expect("store");
    let number = fixture::setup_store(&store, addresses.clone());
    let render = Arc::new(fixture::prepare(&folder));

    let pool = SmtpPool::start(
        SenderConfig {
            relays: vec![relay.smtpd_addr().to_string()],
            helo: "sender.test".into(),
            concurrency: 4,
            max_attempts: 2,
            retry_delay: Duration::from_millis(100),
            timeout: Duration::from_secs(20),
            ..SenderConfig::default()
        },
        CancellationToken::new(),
    );
    let progress = Progress::new();
    let finished = tokio::time::timeout(
        Duration::from_secs(120),
        dispatch::run(
            &store,
            ID,
            render,
            &fixture::verp(),
            &pool,
            &progress,
            &CancellationToken::new(),
        ),
    )
    .await
    .expect("dispatch finishes")
    .expect("dispatch");
    assert_eq!(finished, Finished::Complete);

    // Accepted: sent, with Postfix's queue id, which Postfix's log knows.
    let mut queue_ids = Vec::new();
    for i in 0..USERS {
        let r = store.recipient(number, i).unwrap().unwrap();
        assert_eq!(r.status, RecipientStatus::Sent, "{}", r.email);
        let qid = r.queue_id.clone().expect("queue id from Postfix's 250");
        assert!(
            r.smtp_reply
                .as_deref()
                .is_some_and(|s| s.contains(&format!("queued as {qid}"))),
            "{:?}",
            r.smtp_reply
        );
        queue_ids.push(qid);
    }
    relay
        .wait_for_log(
            &format!("{}: to=<user0@remote.test>", queue_ids[0]),
            Duration::from_secs(30),
        )
        .expect("Postfix logged the delivery under that queue id");

    // Refused at RCPT with 5xx: rejected with Postfix's whole reply.
    let unknown = store.recipient(number, USERS).unwrap().unwrap();
    assert_eq!(unknown.status, RecipientStatus::Rejected);
    assert_eq!(unknown.status_code.as_deref(), Some("5.1.1"));
    let reply = unknown.smtp_reply.unwrap();
    assert!(reply.starts_with("550 5.1.1 "), "{reply}");
    assert!(reply.contains("User unknown"), "{reply}");
    let full = store.recipient(number, USERS + 1).unwrap().unwrap();
    assert_eq!(full.status, RecipientStatus::Rejected);
    assert!(full.smtp_reply.unwrap().starts_with("552 5.2.2 "));
    // 4xx every time: failed after max_attempts.
    let later = store.recipient(number, USERS + 2).unwrap().unwrap();
    assert_eq!(later.status, RecipientStatus::Failed);
    assert_eq!(later.attempts, 2);
    assert!(later.smtp_reply.unwrap().contains("450 4.2.0"));

    // Behind Postfix: each accepted message once, VERP sender and DSN parameters intact.
    let messages = sink
        .wait_for_messages_async(USERS as usize, Duration::from_secs(60))
        .await
        .expect("Postfix delivered to the sink");
    assert_eq!(messages.len(), USERS as usize);
    let key = fixture::verp().key;
    let mut seen = std::collections::HashSet::new();
    for m in &messages {
        let rcpt = &m.recipients[0];
        assert!(seen.insert(rcpt.address.clone()), "{} twice", rcpt.address);
        let row: u32 = rcpt.address["user".len()..rcpt.address.find('@').unwrap()]
            .parse()
            .unwrap();
        let token = VerpToken::from_address(&m.mail_from, "bounce").expect("VERP sender");
        assert!(key.verify(&token));
        assert_eq!((token.mailing, token.recipient), (number, row));
        assert_eq!(m.mail_param("RET"), Some("HDRS"));
        assert_eq!(m.mail_param("ENVID"), Some(token.to_string().as_str()));
        assert_eq!(rcpt.param("NOTIFY"), Some("FAILURE,DELAY"));
        assert_eq!(
            rcpt.param("ORCPT"),
            Some(format!("rfc822;{}", rcpt.address).as_str())
        );
        let parsed = m.parsed().unwrap();
        assert_eq!(parsed.subject(), Some(format!("Hello Name {row}").as_str()));
    }
}
