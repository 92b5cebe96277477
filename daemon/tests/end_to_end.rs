//! The whole path, walked as an administrator would (issue 6), against a real mail system on
//! loopback: an outbound Postfix with the daemon's milter attached, a remote Postfix that
//! rejects some recipients, `nxdomain.test` that does not resolve, and smtp-sink receivers.
//!
//! A report CSV and a mailing folder are dropped into the watched data dir; the daemon picks
//! them up; a test mail goes out; the mailing is sent through Postfix; Postfix's own reports
//! for unknown user, mailbox full, host not found and a delay come back through the milter;
//! the API shows each recipient's status and reason; the CSV export and the customer documents
//! are right; a copy of the mailing to another report skips the hard-bounced addresses; a
//! forged report with a bad token changes nothing.
mod common;

use common::Daemon;
use mm_domain::{VerpKey, VerpToken};
use mm_tests::topology::{BOUNCE_DOMAIN, REMOTE_FULL, REMOTE_LATER, REMOTE_UNKNOWN};
use mm_tests::{Submission, Topology};
use serde_json::Value;
use std::time::Duration;

const MAILING: &str = "herbst";
const NXDOMAIN_ADDR: &str = "niemand@nxdomain.test";

/// The CRM's export: `;`, Windows-1252 (the umlauts are single bytes), one good contact per
/// customer plus the four that will come back as reports.
fn report_cp1252() -> Vec<u8> {
    let text = "Kundennummer;Firmenname;Kontakt-ID;Nachname;E-Mail\n\
K1;Müller GmbH;1;Müller;anna@remote.test\n\
K1;Müller GmbH;2;Weiß;unknown@remote.test\n\
K2;Bäckerei Groß;3;Groß;full@remote.test\n\
K3;Nirgendwo AG;4;Niemand;niemand@nxdomain.test\n\
K4;Später KG;5;Später;later@remote.test\n\
K5;Öko OHG;6;Özdemir;oezdemir@remote.test\n";
    text.chars()
        .map(|c| match c {
            'ü' => 0xfc,
            'ß' => 0xdf,
            'ä' => 0xe4,
            'Ö' => 0xd6,
            'ö' => 0xf6,
            'Ä' => 0xc4,
            c if c.is_ascii() => c as u8,
            c => panic!("add {c} to the cp1252 table"),
        })
        .collect()
}

/// The second report, for the copy: two addresses that hard-bounced before, one that was
/// only full, and two new ones.
const REPORT2: &str = "Kundennummer;Firmenname;Kontakt-ID;Nachname;E-Mail\n\
K1;Müller GmbH;2;Weiß;unknown@remote.test\n\
K3;Nirgendwo AG;4;Niemand;niemand@nxdomain.test\n\
K2;Bäckerei Groß;3;Groß;full@remote.test\n\
K6;Neu GmbH;7;Neumann;neu@remote.test\n\
K7;Zwei AG;8;Zweig;zwei@remote.test\n";

fn mailing_toml(report: &str) -> String {
    format!(
        "title = \"Herbstaktion\"\n\
from = \"Muster Handel <news@muster.test>\"\n\
report = \"{report}\"\n\
subject = \"Guten Tag [Nachname] von [Firmenname]\"\n\
html = \"body.html\"\n"
    )
}

const BODY: &str = "<html><body><p>Liebe Familie [Nachname],</p>\
<p>unser Herbstangebot für [Firmenname].</p></body></html>";

fn recipients(d: &Daemon, id: &str) -> Vec<Value> {
    let page = d.get_json(&format!("/api/mailings/{id}/recipients?limit=1000"));
    page["recipients"].as_array().cloned().unwrap_or_default()
}

fn recipient(d: &Daemon, id: &str, email: &str) -> Value {
    recipients(d, id)
        .into_iter()
        .find(|r| r["email"].as_str() == Some(email))
        .unwrap_or_else(|| panic!("{email} not in {id}'s recipient list"))
}

fn wait_status(d: &Daemon, id: &str, email: &str, status: &str, secs: u64) -> Value {
    d.wait_for(secs, &format!("{email} to become {status}"), || {
        let r = recipient(d, id, email);
        (r["status"] == status).then_some(r)
    })
}

#[test]
fn administrator_walks_the_whole_path() {
    let milter_port = common::free_port();
    let topo = Topology::builder("e2e")
        .milter(&format!("inet:127.0.0.1:{milter_port}"))
        .start()
        .expect("start the private Postfix topology (run scripts/install-deps.sh as root)");
    let relay = topo.outbound.smtpd_addr().to_string();

    let mut d = Daemon::prepare(&relay, &format!("[bounce]\ndomain = \"{BOUNCE_DOMAIN}\"\n"));
    // Daemon::prepare picked its own milter port; use the one the outbound Postfix calls.
    let cfg = std::fs::read_to_string(&d.config).unwrap();
    let cfg = cfg.replace(
        &format!("inet:127.0.0.1:{}", d.milter_port),
        &format!("inet:127.0.0.1:{milter_port}"),
    );
    std::fs::write(&d.config, cfg).unwrap();
    d.milter_port = milter_port;
    d.start();

    // 1. Files dropped into the watched data dir (temp file + rename) are picked up.
    d.write("data/reports/herbst.csv", &report_cp1252());
    d.write(
        &format!("data/mailings/{MAILING}/body.html"),
        BODY.as_bytes(),
    );
    d.write(
        &format!("data/mailings/{MAILING}/mailing.toml"),
        mailing_toml("herbst.csv").as_bytes(),
    );
    let m = d.wait_for(30, "the watcher to load the mailing", || {
        let (status, body) = d.get(&format!("/api/mailings/{MAILING}"));
        let v: Value = serde_json::from_str(&body).ok()?;
        (status == 200 && v["total"].as_u64() == Some(6)).then_some(v)
    });
    assert_eq!(m["state"], "draft");
    assert_eq!(m["problems"].as_array().map(Vec::len), Some(0), "{m}");
    let number = m["number"].as_u64().expect("mailing number") as u32;

    // 2. A test mail, rendered for Özdemir's row, goes to an address of our choice and
    //    changes no recipient's state.
    let (status, body) = d.post(
        &format!("/api/mailings/{MAILING}/test"),
        Some(r#"{"to": "pruefer@remote.test", "as": "oezdemir@remote.test"}"#),
    );
    assert!(status < 300, "test mail: {status} {body}");
    let test_mail = topo
        .remote_sink
        .wait_for_recipient("pruefer@remote.test", Duration::from_secs(30))
        .expect("the test mail arrives");
    let subject = subject_of(&test_mail);
    assert!(
        subject.contains("Özdemir") && subject.contains("Öko OHG"),
        "{subject}"
    );
    assert!(recipients(&d, MAILING)
        .iter()
        .all(|r| r["status"] != "sent"));

    // 3. The send: every ticked recipient goes through Postfix.
    let (status, body) = d.post(&format!("/api/mailings/{MAILING}/send"), None);
    assert!(status < 300, "send: {status} {body}");
    d.wait_for(60, "the mailing to be sent", || {
        let v = d.get_json(&format!("/api/mailings/{MAILING}"));
        (v["state"] == "sent").then_some(())
    });
    let anna = topo
        .remote_sink
        .wait_for_recipient("anna@remote.test", Duration::from_secs(30))
        .expect("anna's message arrives at the remote");
    let key = VerpKey::load_or_create(&d.path("state/verp.key")).unwrap();
    let token = VerpToken::from_address(&anna.mail_from, "bounce")
        .unwrap_or_else(|| panic!("VERP envelope sender, got {}", anna.mail_from));
    assert!(
        key.verify(&token),
        "the envelope token verifies with the daemon's key"
    );
    assert_eq!(token.mailing, number);
    assert!(
        subject_of(&anna).contains("Müller"),
        "{}",
        subject_of(&anna)
    );

    // 4. Postfix's own reports come back through the milter and are recorded.
    let unknown = wait_status(&d, MAILING, REMOTE_UNKNOWN, "bounced", 60);
    assert_eq!(unknown["reason"], "user_unknown", "{unknown}");
    assert_eq!(unknown["status_code"], "5.1.1");
    assert_eq!(unknown["hard"], true);
    let full = wait_status(&d, MAILING, REMOTE_FULL, "bounced", 60);
    assert_eq!(full["reason"], "mailbox_full", "{full}");
    assert_eq!(full["status_code"], "5.2.2");
    assert_eq!(full["hard"], false);
    let nx = wait_status(&d, MAILING, NXDOMAIN_ADDR, "bounced", 60);
    assert_eq!(nx["reason"], "host_unknown", "{nx}");
    assert_eq!(nx["hard"], true);
    // The delay warning comes after Postfix's delay_warning_time (about 21 s here).
    let later = wait_status(&d, MAILING, REMOTE_LATER, "delayed", 90);
    assert!(
        later["status_code"]
            .as_str()
            .unwrap_or("")
            .starts_with("4."),
        "{later}"
    );
    for ok in ["anna@remote.test", "oezdemir@remote.test"] {
        assert_eq!(recipient(&d, MAILING, ok)["status"], "sent");
    }
    // The raw report is kept per recipient.
    let (status, raw) = d.get(&format!(
        "/api/mailings/{MAILING}/recipients/{REMOTE_UNKNOWN}/report"
    ));
    assert_eq!(status, 200);
    assert!(raw.contains("5.1.1"), "raw report: {raw}");
    // Reports are discarded after recording: none reached the bounce mailbox.
    assert_eq!(
        topo.bounce_sink.count().unwrap(),
        0,
        "reports leaked to the mailbox"
    );

    // 5. The CSV export and the customer documents.
    let (status, csv) = d.get(&format!("/api/mailings/{MAILING}/recipients.csv"));
    assert_eq!(status, 200);
    let line = csv
        .lines()
        .find(|l| l.contains(REMOTE_UNKNOWN))
        .unwrap_or_else(|| panic!("{REMOTE_UNKNOWN} in the CSV:\n{csv}"));
    for field in ["K1", "bounced", "user_unknown", "5.1.1"] {
        assert!(line.contains(field), "{field} in {line:?}");
    }
    let doc_path = d.path(&format!("data/documents/K1/{MAILING}.json"));
    let doc: Value = serde_json::from_slice(&std::fs::read(&doc_path).unwrap()).unwrap();
    let contacts = doc["contacts"].as_array().expect("contacts");
    assert_eq!(contacts.len(), 2, "{doc}");
    let weiss = contacts
        .iter()
        .find(|c| c["email"] == REMOTE_UNKNOWN)
        .expect("Weiß in K1's document");
    assert_eq!(
        weiss["status"], "bounced",
        "documents follow the reports: {doc}"
    );
    let docs = d.get_json("/api/documents?type=mailing&customer=K1");
    assert!(docs.to_string().contains(MAILING), "{docs}");

    // 6. A forged report (right mailing and row, wrong key) changes nothing.
    let forged = VerpKey::from_bytes(&[0x5a; 32]).sign(number, 0);
    let anna_before = recipient(&d, MAILING, "anna@remote.test");
    let forged_rcpt = forged.address("bounce", BOUNCE_DOMAIN);
    let dsn = forged_dsn(&forged_rcpt, "anna@remote.test");
    Submission::new("")
        .rcpt(&forged_rcpt)
        .data(dsn.into_bytes())
        .send(topo.outbound.smtpd_addr())
        .expect("the outbound Postfix takes the forged report");
    d.wait_for(30, "the forged report to be counted", || {
        let (_, metrics) = d.get_raw("/metrics", None).ok()?;
        metrics
            .lines()
            .any(|l| l.starts_with("mm_milter_forged_total") && !l.ends_with(" 0"))
            .then_some(())
    });
    let anna_after = recipient(&d, MAILING, "anna@remote.test");
    assert_eq!(anna_after["status"], "sent");
    assert_eq!(anna_after["updated"], anna_before["updated"]);

    // 7. A copy to another report sends to the new group and skips the hard bounces.
    d.write("data/reports/zwei.csv", REPORT2.as_bytes());
    let (status, body) = d.post(
        &format!("/api/mailings/{MAILING}/copy"),
        Some(r#"{"id": "herbst-2", "report": "zwei.csv"}"#),
    );
    assert!(status < 300, "copy: {status} {body}");
    d.wait_for(30, "the copy to be loaded", || {
        let (status, body) = d.get("/api/mailings/herbst-2");
        let v: Value = serde_json::from_str(&body).ok()?;
        (status == 200 && v["total"].as_u64() == Some(5)).then_some(())
    });
    let (status, body) = d.post("/api/mailings/herbst-2/send", None);
    assert!(status < 300, "send the copy: {status} {body}");
    d.wait_for(60, "the copy to be sent", || {
        let v = d.get_json("/api/mailings/herbst-2");
        (v["state"] == "sent").then_some(())
    });
    for addr in [REMOTE_UNKNOWN, NXDOMAIN_ADDR] {
        let r = recipient(&d, "herbst-2", addr);
        assert_eq!(r["send"], false, "{r}");
        assert_eq!(r["skip_reason"], "suppressed", "{r}");
    }
    for addr in ["neu@remote.test", "zwei@remote.test"] {
        topo.remote_sink
            .wait_for_recipient(addr, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{addr} gets the copy: {e}"));
    }
    // full@ was a soft bounce: it is sent again (and bounces again).
    assert_ne!(recipient(&d, "herbst-2", REMOTE_FULL)["send"], false);
    let suppressed_got_it = topo
        .remote_sink
        .messages()
        .unwrap()
        .iter()
        .filter(|m| {
            m.recipient_addresses()
                .iter()
                .any(|a| a.eq_ignore_ascii_case(REMOTE_UNKNOWN))
        })
        .count();
    assert_eq!(suppressed_got_it, 0);

    assert_eq!(d.stop(), Some(0), "clean shutdown:\n{}", d.log_text());
}

/// The decoded Subject of a captured message.
fn subject_of(m: &mm_tests::CapturedMessage) -> String {
    m.parsed()
        .and_then(|p| p.subject().map(str::to_string))
        .unwrap_or_default()
}

/// An RFC 3464 report as a remote MTA would send it, claiming `victim` does not exist.
fn forged_dsn(to: &str, victim: &str) -> String {
    format!(
        "From: MAILER-DAEMON@elsewhere.test\r\n\
To: {to}\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain\r\n\
\r\n\
Your message could not be delivered.\r\n\
--b1\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; elsewhere.test\r\n\
\r\n\
Final-Recipient: rfc822; {victim}\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\
\r\n\
--b1--\r\n"
    )
}
