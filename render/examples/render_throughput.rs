//! Rendering throughput on one core: a ~30 KB HTML newsletter with 10 merge fields, a logo
//! and a PDF attachment, rendered for N recipients. Prints messages per second.
//!
//! ```text
//! cargo run --release -p mm-render --example render_throughput [N] [PDF_KB]
//! ```
use mm_mailing::Mailing;
use mm_render::{MessageIds, PreparedMailing, RenderOptions};
use std::time::Instant;

/// CPU seconds (user + system) used by this process so far: on a shared machine the wall
/// clock also counts other people's work.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th, stime the
    // 15th field of the whole line, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let pdf_kb: usize = std::env::args()
        .nth(2)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50);
    let columns: Vec<String> = [
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
    ]
    .map(String::from)
    .to_vec();

    let dir = tempfile::tempdir()?;
    let m = dir.path().join("bench");
    std::fs::create_dir_all(&m)?;
    std::fs::write(
        m.join("mailing.toml"),
        "title = \"Bench\"\nfrom = \"Muster GmbH <news@muster.test>\"\nreport = \"r.csv\"\n\
         subject = \"[Anrede] [Nachname], Neues für [Firmenname]\"\nattachments = [\"Preisliste März.pdf\"]\n",
    )?;
    let mut html = String::from(
        "<!DOCTYPE html><html><head><title>News</title></head><body><img src=\"logo.png\" alt=\"Logo\">\n",
    );
    let mut i = 0;
    while html.len() < 30_000 {
        html.push_str(&format!(
            "<table width=\"600\"><tr><td style=\"padding:8px 32px; font-size:14px\"><h2>Abschnitt {i}</h2>\
             <p>Guten Tag [Anrede] [Vorname] [Nachname], für die [Firmenname] in [PLZ] [Ort], [Straße], \
             haben wir neue Angebote – Kundennummer [Kundennummer], Kontakt [Kontakt-ID], Adresse [E-Mail]. \
             Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut \
             labore et dolore magna aliqua. <a href=\"https://shop.test/?k=[Kundennummer]&amp;s={i}\">Mehr</a></p>\
             </td></tr></table>\n"
        ));
        i += 1;
    }
    html.push_str("</body></html>");
    std::fs::write(m.join("body.html"), &html)?;
    let png: Vec<u8> = (0..6_000u32).map(|x| (x * 7919 % 251) as u8).collect();
    std::fs::write(m.join("logo.png"), png)?;
    let pdf: Vec<u8> = (0..pdf_kb * 1024).map(|x| (x * 31 % 253) as u8).collect();
    std::fs::write(m.join("Preisliste März.pdf"), pdf)?;

    let mailing = Mailing::load(&m)?;
    assert!(
        mailing.validate(&columns).is_empty(),
        "{:?}",
        mailing.validate(&columns)
    );
    let started = Instant::now();
    let prepared = PreparedMailing::new(
        &mailing,
        &columns,
        &RenderOptions {
            default_css: "p { margin: 0 0 1em 0; }".into(),
            unsubscribe_url: Some("https://news.test/u/{token}".into()),
            ..RenderOptions::default()
        },
    )?;
    println!(
        "prepared once in {:.1?} (HTML {} KB, {} fields per section, PDF {pdf_kb} KB)",
        started.elapsed(),
        html.len() / 1024,
        10
    );
    let rows: Vec<Vec<String>> = (0..1000)
        .map(|r| {
            vec![
                format!("{}", 10_000 + r),
                format!("Müller & Söhne {r} GmbH"),
                format!("{r}"),
                "Herr".into(),
                "Jürgen".into(),
                format!("Groß-{r}"),
                format!("kontakt{r}@firma.test"),
                "Hauptstraße 1".into(),
                "50667".into(),
                "Köln".into(),
            ]
        })
        .collect();
    let started = Instant::now();
    let cpu_start = cpu_secs();
    let mut bytes = 0usize;
    for k in 0..n {
        let token = format!("tok{k:027}");
        let ids = MessageIds::new(format!("{token}@bounces.test"), token);
        let eml = prepared.render(&rows[k % rows.len()], &ids)?;
        bytes += eml.len();
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu_start;
    println!(
        "rendered {n} messages in {secs:.2} s wall, {cpu:.2} s CPU: {:.0} messages/s wall, \
         {:.0} messages per CPU second, {:.1} KB per message",
        n as f64 / secs,
        n as f64 / cpu,
        bytes as f64 / n as f64 / 1024.0
    );
    Ok(())
}
