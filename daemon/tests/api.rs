//! The admin API over HTTP against the real daemon binary, relaying to Postfix's smtp-sink:
//! every endpoint, missing and wrong tokens, bad bodies, unknown ids, the send of an invalid
//! mailing (409 with the problems), a complete send with customer documents, and the metrics
//! checked by `promtool`.
mod common;

use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

fn statuses(d: &Daemon, id: &str) -> Vec<(String, String, Option<String>)> {
    let page = d.get_json(&format!("/api/mailings/{id}/recipients?limit=100"));
    page["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["skip_reason"].as_str().map(String::from),
            )
        })
        .collect()
}

fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) is installed");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- metrics:\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_endpoint_over_http() {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = mm_tests::SmtpSink::start(sink_dir.path()).expect("smtp-sink");
    let mut d = Daemon::prepare(&sink.addr().to_string(), "");
    d.write("data/reports/kunden.csv", REPORT.as_bytes());
    d.add_mailing(
        "good",
        &mailing_toml("kunden.csv", "[Anrede] [Nachname], news for [Firmenname]"),
        "<html><body><p>Hello [Anrede] [Nachname]</p></body></html>",
    );
    d.add_mailing(
        "bad",
        &mailing_toml("kunden.csv", "Hello [Nachnmae]"),
        "<p>Hi</p>",
    );
    d.start();
    let token = d.token();

    // Open endpoints.
    let (status, body) = d.get_raw("/healthz", None).unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, metrics) = d.get_raw("/metrics", None).unwrap();
    assert_eq!(status, 200);
    promtool_check(&metrics);
    assert!(
        metrics.contains("mm_component_up{component=\"milter\"} 1"),
        "{metrics}"
    );

    // Authentication.
    for t in [
        None,
        Some("wrong-token-wrong-token"),
        Some(&token[..token.len() - 1]),
    ] {
        let (status, body) = d.get_raw("/api/mailings", t).unwrap();
        assert_eq!(status, 401, "{t:?}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"].as_str().unwrap().contains("token"), "{body}");
    }
    let (status, _) = d.send("POST", "/api/mailings/good/send", None, None);
    assert_eq!(status, 401, "a send without token must not start anything");
    let (status, _) = d.send(
        "PATCH",
        "/api/mailings/good/recipients/ernst@remote.test",
        Some(r#"{"send":false}"#),
        Some("nope-nope-nope-nope"),
    );
    assert_eq!(status, 401);

    // List and detail.
    let list = d.get_json("/api/mailings");
    let mailings = list["mailings"].as_array().unwrap();
    assert_eq!(mailings.len(), 2, "{list}");
    let bad = mailings.iter().find(|m| m["id"] == "bad").unwrap();
    assert!(
        bad["problems"].to_string().contains("Nachnmae"),
        "the unknown merge field is a problem: {bad}"
    );
    let good = d.get_json("/api/mailings/good");
    assert_eq!(good["state"], "draft");
    assert_eq!(good["problems"], serde_json::json!([]));
    assert_eq!(good["counts"]["pending"], 3, "{good}");
    assert_eq!(good["counts"]["excluded"], 3, "{good}");
    assert!(good["merge_fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "Nachname"));
    let (status, body) = d.get("/api/mailings/nope");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    let (status, _) = d.get("/api/nope");
    assert_eq!(status, 404);

    // Recipient pages.
    let p1 = d.get_json("/api/mailings/good/recipients?limit=2");
    assert_eq!(p1["total"], 6);
    assert_eq!(p1["recipients"].as_array().unwrap().len(), 2);
    assert_eq!(p1["next_after"], 1);
    let p2 = d.get_json("/api/mailings/good/recipients?after=1&limit=2");
    assert_eq!(p2["recipients"][0]["row"], 2);
    assert_eq!(p2["recipients"][0]["skip_reason"], "customer_block");
    let p3 = d.get_json("/api/mailings/good/recipients?offset=4&limit=10");
    assert_eq!(p3["recipients"].as_array().unwrap().len(), 2);
    assert_eq!(p3["recipients"][0]["skip_reason"], "duplicate");
    assert_eq!(p3["next_after"], Value::Null);
    for q in [
        "limit=0",
        "limit=5000",
        "offset=1&after=1",
        "colour=red",
        "limit=abc",
    ] {
        let (status, body) = d.get(&format!("/api/mailings/good/recipients?{q}"));
        assert_eq!(status, 400, "{q}: {body}");
    }
    let (status, _) = d.get("/api/mailings/nope/recipients");
    assert_eq!(status, 404);

    // Unticking before the send.
    let (status, body) = d.post("/api/mailings/good/recipients/berger@remote.test", None);
    assert_eq!(status, 405, "POST is not PATCH: {body}");
    for bad_body in ["not json", r#"{"sned": false}"#, r#"{"send": "no"}"#, "{}"] {
        let (status, body) = d.send(
            "PATCH",
            "/api/mailings/good/recipients/berger@remote.test",
            Some(bad_body),
            Some(&token),
        );
        assert_eq!(status, 400, "{bad_body}: {body}");
        assert!(body.contains("\"error\""));
    }
    let (status, body) = d.send(
        "PATCH",
        "/api/mailings/good/recipients/nobody@remote.test",
        Some(r#"{"send":false}"#),
        Some(&token),
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = d.send(
        "PATCH",
        "/api/mailings/good/recipients/Berger%40remote.test",
        Some(r#"{"send":false}"#),
        Some(&token),
    );
    assert_eq!(status, 200, "{body}");
    assert!(statuses(&d, "good").contains(&(
        "berger@remote.test".into(),
        "excluded".into(),
        Some("unticked".into())
    )));

    // Preview.
    let (status, html) = d.get("/api/mailings/good/preview");
    assert_eq!(status, 200);
    assert!(html.contains("Hello Herr Albrecht"), "{html}");
    let (status, eml) = d.get("/api/mailings/good/preview?recipient=ernst@remote.test&format=eml");
    assert_eq!(status, 200);
    assert!(
        eml.contains("Subject: Frau Ernst, news for Delta OHG"),
        "{eml}"
    );
    assert!(eml.contains("Message-ID: <"), "{eml}");
    let (status, _) = d.get("/api/mailings/good/preview?format=pdf");
    assert_eq!(status, 400);
    let (status, _) = d.get("/api/mailings/good/preview?recipient=nobody@remote.test");
    assert_eq!(status, 404);

    // Test mail: delivered to the relay, no recipient state changes.
    let before = statuses(&d, "good");
    let (status, body) = d.post(
        "/api/mailings/good/test",
        Some(r#"{"to": "tester@sink.test", "as": "ernst@remote.test"}"#),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"], "accepted", "{body}");
    let got = sink
        .wait_for_recipient("tester@sink.test", Duration::from_secs(20))
        .expect("the test mail arrives");
    assert!(String::from_utf8_lossy(&got.data).contains("Frau Ernst"));
    assert_eq!(
        statuses(&d, "good"),
        before,
        "a test mail changes no recipient"
    );
    for bad_body in [
        r#"{"to": "not an address"}"#,
        r#"{"too": "a@b.test"}"#,
        "[]",
    ] {
        let (status, body) = d.post("/api/mailings/good/test", Some(bad_body));
        assert_eq!(status, 400, "{bad_body}: {body}");
    }

    // Send of an invalid mailing: 409 with the problems; nothing sent.
    let (status, body) = d.post("/api/mailings/bad/send", None);
    assert_eq!(status, 409, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["problems"].to_string().contains("Nachnmae"), "{body}");
    assert_eq!(d.get_json("/api/mailings/bad")["state"], "draft");
    let (status, _) = d.post("/api/mailings/nope/send", None);
    assert_eq!(status, 404);

    // The send.
    let (status, body) = d.post("/api/mailings/good/send", None);
    assert_eq!(status, 202, "{body}");
    d.wait_for(30, "the mailing to be sent", || {
        (d.get_json("/api/mailings/good")["state"] == "sent").then_some(())
    });
    let got = sink.wait_for_messages(3, Duration::from_secs(20)).unwrap();
    let mut rcpts: Vec<String> = got
        .iter()
        .flat_map(|m| m.recipients.iter().map(|r| r.address.clone()))
        .collect();
    rcpts.sort();
    assert_eq!(
        rcpts,
        vec!["albrecht@remote.test", "ernst@remote.test", "tester@sink.test"],
        "the two ticked recipients and the test mail; not the unticked, blocked, invalid or duplicate rows"
    );
    let (status, body) = d.post("/api/mailings/good/send", None);
    assert_eq!(status, 409, "a mailing starts once: {body}");
    let (status, _) = d.send(
        "PATCH",
        "/api/mailings/good/recipients/ernst@remote.test",
        Some(r#"{"send":false}"#),
        Some(&token),
    );
    assert_eq!(status, 409, "a sent mailing is frozen");

    // CSV export.
    let (status, csv) = d.get("/api/mailings/good/recipients.csv");
    assert_eq!(status, 200);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("customer,email,send,status,reason,status_code,diagnostic")
    );
    assert!(csv.contains("K1,albrecht@remote.test,true,sent,"), "{csv}");
    assert!(
        csv.contains("K1,berger@remote.test,false,excluded,unticked"),
        "{csv}"
    );
    assert!(
        csv.contains("K3,dietz(at)remote.test,false,excluded,invalid_address"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 7);

    // Customer documents: K1 (albrecht) and K4 (ernst); K2 was blocked, K3 had nobody sent to.
    let docs = d.get_json("/api/documents?type=mailing");
    let mut customers: Vec<&str> = docs["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["customer_id"].as_str().unwrap())
        .collect();
    customers.sort();
    assert_eq!(customers, vec!["K1", "K4"], "{docs}");
    let k1 = d.get_json("/api/customers/K1/documents?type=mailing");
    let contacts = &k1["documents"][0]["contacts"];
    assert_eq!(contacts.as_array().unwrap().len(), 1, "{k1}");
    assert_eq!(contacts[0]["email"], "albrecht@remote.test");
    assert_eq!(contacts[0]["status"], "sent");
    let file: Value = serde_json::from_slice(
        &std::fs::read(d.path("data/documents/K1/good.json")).expect("document file written"),
    )
    .unwrap();
    assert_eq!(file["mailing_id"], "good");
    let only_k4 = d.get_json("/api/documents?type=mailing&customer=K4");
    assert_eq!(only_k4["documents"].as_array().unwrap().len(), 1);
    let none = d.get_json("/api/customers/K9/documents");
    assert_eq!(none["documents"], serde_json::json!([]));

    // Raw reports (none arrived) and the bounce list.
    let r = d.get_json("/api/mailings/good/recipients/albrecht@remote.test/report");
    assert_eq!(r["reports"], serde_json::json!([]));
    let (status, _) = d.get("/api/mailings/good/recipients/nobody@remote.test/report");
    assert_eq!(status, 404);
    assert_eq!(
        d.get_json("/api/bounces?hard=true")["bounces"],
        serde_json::json!([])
    );
    let (status, csv) = d.get("/api/bounces.csv");
    assert_eq!(status, 200);
    assert!(csv.starts_with("email,mailing,"), "{csv}");
    let (status, _) = d.get("/api/bounces?hard=maybe");
    assert_eq!(status, 400);

    // Copy to a new draft.
    let (status, body) = d.post("/api/mailings/good/copy", Some(r#"{"id": "good-again"}"#));
    assert_eq!(status, 201, "{body}");
    let copy: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(copy["state"], "draft");
    assert_eq!(
        copy["counts"]["pending"], 3,
        "the file's exclude list is copied, API unticks are not: {copy}"
    );
    let toml = std::fs::read_to_string(d.path("data/mailings/good-again/mailing.toml")).unwrap();
    assert!(!toml.contains("send ="), "{toml}");
    let (status, _) = d.post("/api/mailings/good/copy", Some(r#"{"id": "good-again"}"#));
    assert_eq!(status, 409);
    for (body, code) in [
        (r#"{"id": "../escape"}"#, 400),
        (r#"{"id": "x", "report": "missing.csv"}"#, 400),
        (r#"{"identifier": "x"}"#, 400),
        ("", 400),
    ] {
        let (status, resp) = d.post("/api/mailings/good/copy", Some(body));
        assert_eq!(status, code, "{body}: {resp}");
    }
    let (status, _) = d.post("/api/mailings/nope/copy", Some(r#"{"id": "x2"}"#));
    assert_eq!(status, 404);
    let huge = format!(r#"{{"id": "{}"}}"#, "a".repeat(100_000));
    let (status, _) = d.post("/api/mailings/good/copy", Some(&huge));
    assert_eq!(status, 413, "bodies are size-limited");

    // Status and metrics after the send.
    let status_json = d.get_json("/api/status");
    assert_eq!(status_json["health"]["sender"], true);
    let (_, metrics) = d.get_raw("/metrics", None).unwrap();
    promtool_check(&metrics);
    assert!(
        metrics.contains("mm_messages_total{result=\"sent\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mm_mailings{state=\"sent\"} 1"),
        "{metrics}"
    );

    assert_eq!(d.stop(), Some(0), "{}", d.log_text());
}
