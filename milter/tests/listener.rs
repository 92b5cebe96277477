//! Binding the milter socket: a busy address is a clear error naming it (not a panic), a Unix
//! socket left behind by a dead process is replaced, one still in use is not stolen.
mod common;

use common::*;
use mm_milter::{Listener, MilterError};

#[tokio::test]
async fn busy_tcp_port_is_a_bind_error_naming_the_address() {
    let first = Listener::bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = first.local_addr().unwrap();
    let err = Listener::bind_tcp(addr).await.unwrap_err();
    assert!(matches!(err, MilterError::Bind { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("inet:{addr}")), "{text}");
    assert!(text.to_lowercase().contains("in use"), "{text}");
}

#[tokio::test]
async fn unix_socket_in_use_is_refused_and_a_stale_one_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("milter.sock");

    let live = Listener::bind_unix(&path).await.unwrap();
    let err = Listener::bind_unix(&path).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("unix:{}", path.display())),
        "{err}"
    );
    assert!(err.to_string().contains("another process"), "{err}");

    // The owner dies without removing its socket file: the next start takes it over.
    drop(live);
    assert!(path.exists(), "tokio leaves the socket file behind");
    let m = {
        let listener = Listener::bind_unix(&path)
            .await
            .expect("stale socket replaced");
        assert_eq!(listener.describe(), format!("unix:{}", path.display()));
        listener
    };
    drop(m);

    // A regular file at that path is not ours to delete.
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "data").unwrap();
    assert!(Listener::bind_unix(&file).await.is_err());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
}

#[tokio::test]
async fn run_on_a_tokio_listener_bound_by_the_caller() {
    // The daemon binds std/tokio listeners itself and hands them over.
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let sink = std::sync::Arc::new(RecordingSink::default());
    let token = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(mm_milter::run(
        tcp,
        TestMilter::config(),
        sink,
        token.clone().cancelled_owned(),
    ));
    let mut c = common::raw::RawClient::connect(addr).await.unwrap();
    c.open().await.unwrap();
    assert_eq!(
        c.envelope("<a@example.org>", "<b@example.test>")
            .await
            .unwrap(),
        b'a'
    );
    token.cancel();
    task.await.unwrap().unwrap();
}
