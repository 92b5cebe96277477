//! Start-up errors of the real binary: a busy port is exit 69 with a clear message (never a
//! panic), a bad config is exit 78 naming file, line and key, a second daemon on the same
//! store is refused, and SIGTERM stops a daemon cleanly.
mod common;

use common::*;
use std::process::Command;

fn run_daemon(config: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("run")
        .output()
        .expect("run")
}

#[test]
fn busy_api_port_is_exit_69() {
    let d = Daemon::prepare("127.0.0.1:9", "");
    let port: u16 = d.api.rsplit(':').next().unwrap().parse().unwrap();
    let _holder = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let out = run_daemon(&d.config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(
        stderr.contains("api.listen") && stderr.contains("already in use"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn busy_milter_port_is_exit_69() {
    let d = Daemon::prepare("127.0.0.1:9", "");
    let _holder = std::net::TcpListener::bind(("127.0.0.1", d.milter_port)).unwrap();
    let out = run_daemon(&d.config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(stderr.contains("milter.listen"), "{stderr}");
}

#[test]
fn bad_config_is_exit_78_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mm.toml");
    std::fs::write(
        &config,
        "data_dir = \"data\"\n\n[smtp]\nhelo = \"mx\"\nconcurrency = 0\n",
    )
    .unwrap();
    let out = run_daemon(&config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:5: key `smtp.concurrency`", config.display())),
        "{stderr}"
    );

    std::fs::write(
        &config,
        "[milter]\nlisten = \"inet:127.0.0.1:8891\"\nlisen = 1\n",
    )
    .unwrap();
    let out = run_daemon(&config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains(":3") && stderr.contains("lisen"),
        "{stderr}"
    );
}

#[test]
fn second_daemon_on_the_same_store_is_refused_and_sigterm_stops_cleanly() {
    let mut d = Daemon::prepare("127.0.0.1:9", "");
    d.start();
    // Same state dir, other ports: the store is held.
    let text = std::fs::read_to_string(&d.config).unwrap();
    let other = d.path("other.toml");
    std::fs::write(
        &other,
        text.replace(
            &d.api.replace("http://", ""),
            &format!("127.0.0.1:{}", free_port()),
        )
        .replace(
            &format!("inet:127.0.0.1:{}", d.milter_port),
            &format!("inet:127.0.0.1:{}", free_port()),
        ),
    )
    .unwrap();
    let out = run_daemon(&other);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(stderr.contains("held by another process"), "{stderr}");

    // The CLI with a config whose API address is wrong: the store is held, the API does not
    // answer → 69 with a clear message.
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&other)
        .arg("list")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(stderr.contains("a daemon holds the store"), "{stderr}");

    assert_eq!(d.stop(), Some(0));
    let log = d.log_text();
    assert!(
        log.contains("store flushed") && log.contains("stopped"),
        "{log}"
    );
    // Ports are free again: a restart works.
    d.start();
    assert_eq!(d.stop(), Some(0));
}

#[test]
fn admin_token_and_verp_key_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mut d = Daemon::prepare("127.0.0.1:9", "");
    d.start();
    for f in ["state/api.token", "state/verp.key"] {
        let mode = std::fs::metadata(d.path(f)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    assert_eq!(d.stop(), Some(0));
}

#[test]
fn sighup_applies_css_and_warns_about_listen_changes() {
    let mut d = Daemon::prepare("127.0.0.1:9", "");
    d.write("data/reports/kunden.csv", REPORT.as_bytes());
    d.add_mailing(
        "m",
        &mailing_toml("kunden.csv", "Hi [Nachname]"),
        "<p>Hi</p>",
    );
    d.start();
    let (status, before) = d.get("/api/mailings/m/preview");
    assert_eq!(status, 200, "{before}");
    assert!(!before.contains("reloaded-css-marker"), "{before}");

    let text = std::fs::read_to_string(&d.config).unwrap();
    let new_port = free_port();
    let changed = text.replace(
        &d.api.replace("http://", ""),
        &format!("127.0.0.1:{new_port}"),
    ) + "[content]\ndefault_css = \"p { color: red } /* reloaded-css-marker */\"\n";
    std::fs::write(&d.config, changed).unwrap();
    signal(d.child.as_ref().unwrap().id(), "HUP");
    d.wait_for(10, "the reload", || {
        d.log_text().contains("config reloaded").then_some(())
    });
    let log = d.log_text();
    assert!(
        log.contains("api.listen") && log.contains("needs a restart"),
        "{log}"
    );
    // Still on the old address (the new one takes a restart), with the new CSS.
    let (status, after) = d.get("/api/mailings/m/preview");
    assert_eq!(status, 200, "{after}");
    assert!(after.contains("reloaded-css-marker"), "{after}");

    // A broken config on SIGHUP changes nothing and keeps the daemon running.
    std::fs::write(&d.config, "[smtp\n").unwrap();
    signal(d.child.as_ref().unwrap().id(), "HUP");
    d.wait_for(10, "the failed reload", || {
        d.log_text().contains("config not reloaded").then_some(())
    });
    assert_eq!(d.get_raw("/healthz", None).unwrap().0, 200);
    assert_eq!(d.stop(), Some(0));
}

#[test]
fn unix_milter_socket_and_json_logs() {
    let mut d = Daemon::prepare("127.0.0.1:9", "log_format = \"json\"");
    let sock = d.path("milter.sock");
    let config = std::fs::read_to_string(&d.config).unwrap().replace(
        &format!("inet:127.0.0.1:{}", d.milter_port),
        &format!("unix:{}", sock.display()),
    );
    std::fs::write(&d.config, config).unwrap();
    d.start();
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&sock).unwrap().file_type().is_socket());
    std::os::unix::net::UnixStream::connect(&sock).expect("the milter accepts on the socket");
    assert_eq!(d.stop(), Some(0));
    assert!(!sock.exists(), "the socket is removed at shutdown");
    let log = d.log_text();
    let first = log.lines().next().expect("log lines");
    let v: serde_json::Value =
        serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}: {first}"));
    assert!(v["level"].is_string(), "{v}");
}
