//! The benchmark mailing, made like the example mailing in `config/data/` but newsletter-sized:
//! ~30 KB of HTML using all 10 merge fields, an inline logo, a PDF attachment with a non-ASCII
//! name, a reply-to and a campaign header; its report rows; and a store with it ready to send.
use anyhow::{bail, Context, Result};
use mm_domain::{MailingState, VerpKey};
use mm_mailing::{Mailing, RecipientList};
use mm_render::{PreparedMailing, RenderOptions};
use mm_send::Verp;
use mm_store::{NewRecipient, Store};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The report's columns (those of the example report plus address fields): 10 merge fields.
pub const COLUMNS: [&str; 10] = [
    "Kundennummer",
    "Firmenname",
    "Kontakt-ID",
    "Anrede",
    "Vorname",
    "Nachname",
    "E-Mail",
    "Straße",
    "PLZ",
    "Ort",
];

/// The mailing id (folder name).
pub const ID: &str = "bench-newsletter";
/// The VERP bounce domain.
pub const BOUNCE_DOMAIN: &str = "bounces.test";
/// The recipients' domain (routed to the sink by the Postfix benchmarks).
pub const DEST_DOMAIN: &str = "dest.test";
/// The store cache the daemon uses by default (MiB).
pub const CACHE_MB: u64 = 64;

/// The column names as owned strings.
pub fn columns() -> Vec<String> {
    COLUMNS.iter().map(|c| c.to_string()).collect()
}

/// Writes the mailing folder `root/<ID>` (mailing.toml, body.html, logo.png, the PDF) and
/// returns it. `pdf_kb` sets the attachment's size.
pub fn write_mailing(root: &Path, pdf_kb: usize) -> Result<PathBuf> {
    let m = root.join(ID);
    std::fs::create_dir_all(&m).with_context(|| format!("create {}", m.display()))?;
    std::fs::write(
        m.join("mailing.toml"),
        "title = \"Frühjahrsaktion (Benchmark)\"\n\
         from = \"Muster Handel GmbH <newsletter@muster-handel.test>\"\n\
         reply_to = \"Vertrieb Muster Handel <vertrieb@muster-handel.test>\"\n\
         report = \"bench.csv\"\n\
         subject = \"[Anrede] [Nachname], unsere Frühjahrsangebote für [Firmenname]\"\n\
         html = \"body.html\"\n\
         attachments = [\"Preisliste März.pdf\"]\n\
         [headers]\n\"X-Kampagne\" = \"fruehjahr-bench\"\n",
    )?;
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Frühjahrsangebote</title></head>\n\
         <body><img src=\"logo.png\" alt=\"Muster Handel\" width=\"180\">\n",
    );
    let mut i = 0;
    while html.len() < 30_000 {
        html.push_str(&format!(
            "<table width=\"600\" cellpadding=\"0\"><tr><td style=\"padding:8px 32px; font-size:14px\">\
             <h2>Angebot {i}: Gartenmöbel &amp; Zubehör</h2>\
             <p>Guten Tag [Anrede] [Vorname] [Nachname],</p>\
             <p>für die [Firmenname] in [PLZ] [Ort], [Straße], haben wir neue Angebote. \
             Ihre Kundennummer: [Kundennummer], Kontakt [Kontakt-ID], Adresse [E-Mail]. \
             Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor \
             incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud \
             exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.</p>\
             <p><a href=\"https://shop.muster-handel.test/angebot/{i}?k=[Kundennummer]\">Zum Angebot</a></p>\
             </td></tr></table>\n"
        ));
        i += 1;
    }
    html.push_str("<p>Mit freundlichen Grüßen<br>Ihr Team von Muster Handel</p></body></html>\n");
    std::fs::write(m.join("body.html"), &html)?;
    // Deterministic filler bytes: sizes matter here, not pictures.
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..6_000u32).map(|x| (x.wrapping_mul(7919) % 251) as u8))
        .collect();
    std::fs::write(m.join("logo.png"), png)?;
    let pdf: Vec<u8> = b"%PDF-1.4\n"
        .iter()
        .copied()
        .chain((0..pdf_kb * 1024).map(|x| (x.wrapping_mul(31) % 253) as u8))
        .collect();
    std::fs::write(m.join("Preisliste März.pdf"), pdf)?;
    Ok(m)
}

/// Loads the mailing folder and checks that it validates against [`COLUMNS`].
pub fn load(folder: &Path) -> Result<Mailing> {
    let mailing = Mailing::load(folder).with_context(|| format!("load {}", folder.display()))?;
    let problems = mailing.validate(&columns());
    if !problems.is_empty() {
        bail!("the benchmark mailing does not validate: {problems:?}");
    }
    Ok(mailing)
}

/// The render options the daemon would use: a default style and a one-click unsubscribe URL.
pub fn render_options() -> RenderOptions {
    RenderOptions {
        default_css: "body { font-family: Arial, sans-serif; } p { margin: 0 0 1em 0; }".into(),
        unsubscribe_url: Some("https://news.muster-handel.test/u/{token}".into()),
        ..RenderOptions::default()
    }
}

/// Prepares the mailing for rows with these columns.
pub fn prepare(mailing: &Mailing, columns: &[String]) -> Result<PreparedMailing> {
    PreparedMailing::new(mailing, columns, &render_options()).context("prepare the mailing")
}

/// The address of recipient `i`.
pub fn address(i: u64) -> String {
    format!("kontakt{i}@{DEST_DOMAIN}")
}

/// The row values of recipient `i` (in [`COLUMNS`] order), with umlauts and an ampersand to
/// escape.
pub fn row(i: u64) -> Vec<String> {
    vec![
        format!("{}", 10_000 + i / 3),
        format!("Müller & Söhne {} GmbH", i / 3),
        format!("{}", 500_000 + i),
        if i.is_multiple_of(2) { "Herr" } else { "Frau" }.into(),
        "Jürgen".into(),
        format!("Groß-{i}"),
        address(i),
        "Hauptstraße 1".into(),
        "50667".into(),
        "Köln".into(),
    ]
}

/// The VERP identity (a fixed key: the benchmark checks speed, not secrecy).
pub fn verp() -> Verp {
    Verp {
        key: VerpKey::from_bytes(&[7u8; 32]),
        local_part: "bounce".into(),
        domain: BOUNCE_DOMAIN.into(),
    }
}

/// Creates mailing `id` in `store` with `count` recipients ([`row`]), moves it to `sending`
/// and flushes.
pub fn store_with_recipients(store: &Store, id: &str, count: u64) -> Result<()> {
    store.create_mailing(id)?;
    let rows = (0..count).map(|i| {
        let values = row(i);
        NewRecipient {
            customer_id: Some(values[0].clone()),
            customer_name: Some(values[1].clone()),
            contact_id: Some(values[2].clone()),
            email: values[6].clone(),
            send: true,
            skip_reason: None,
            fields: values,
        }
    });
    store.import_recipients(id, rows)?;
    store.update_mailing(id, |m| m.columns = columns())?;
    store.set_mailing_state(id, MailingState::Sending)?;
    store.flush()?;
    Ok(())
}

/// Writes a General Report export with `count` rows to `path` (UTF-8, `;`, CRLF, like the
/// example report), every row sendable.
pub fn write_report(path: &Path, count: u64) -> Result<()> {
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?,
    );
    w.write_all(COLUMNS.join(";").as_bytes())?;
    w.write_all(b"\r\n")?;
    for i in 0..count {
        let r = row(i);
        writeln!(w, "{}\r", r.join(";"))?;
    }
    w.flush()?;
    Ok(())
}

/// Imports the report at `path` into `store` as mailing `mailing.id` the way the daemon does
/// (the streaming recipient list: blocks, duplicates, suppression), then moves it to
/// `sending`. Returns the report's columns and the number of rows to send.
pub fn import_report(store: &Store, mailing: &Mailing, path: &Path) -> Result<(Vec<String>, u32)> {
    store.create_mailing(&mailing.id)?;
    let list = RecipientList::open(path, mailing.column_names(), &mailing.spec.exclude)
        .with_context(|| format!("open report {}", path.display()))?
        .with_suppression(|addr| store.is_suppressed(addr).unwrap_or(false));
    let columns = list.columns().to_vec();
    let rows = list.map(|r| {
        r.map(|r| {
            let opt = |s: String| (!s.is_empty()).then_some(s);
            NewRecipient {
                customer_id: opt(r.customer_id),
                customer_name: opt(r.customer_name),
                contact_id: opt(r.contact_id),
                email: r.email,
                send: r.send,
                skip_reason: r.skip,
                fields: r.values,
            }
        })
    });
    let summary = store.try_import_recipients(&mailing.id, rows)?;
    store.update_mailing(&mailing.id, |m| m.columns = columns.clone())?;
    store.set_mailing_state(&mailing.id, MailingState::Sending)?;
    store.flush()?;
    Ok((columns, summary.to_send))
}
