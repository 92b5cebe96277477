//! Memory check for SPEC §4: generates a 1,000,000-row report in a temp dir, reads it through
//! the recipient-list builder (both passes: blocked customers, then the rows) and prints the
//! peak RSS (VmHWM). Target: under 100 MB.
//!
//! ```text
//! cargo run --release -p mm-report --example import_1m [ROWS]
//! ```
use mm_mailing::{ColumnNames, RecipientList};
use std::io::Write;
use std::time::Instant;

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("gross.csv");
    let started = Instant::now();
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
        // Windows-1252, ';', CRLF — the German CRM export.
        w.write_all(b"Kundennummer;Firmenname;Kontakt-ID;Anrede;Vorname;Nachname;E-Mail;Ort;Kundensperre;Kontaktsperre\r\n")?;
        for i in 0..rows {
            let customer = i / 3;
            let block = if customer % 97 == 0 && i % 3 == 2 {
                "ja"
            } else {
                ""
            };
            let contact_block = if i % 101 == 0 { "x" } else { "" };
            // Every 1000th address repeats an earlier one; every 500th is invalid.
            let email = if i % 1000 == 999 {
                format!("kontakt{}@firma{}.test", i - 500, (i - 500) / 3)
            } else if i % 500 == 7 {
                format!("kontakt{i} at firma{customer}.test")
            } else {
                format!("kontakt{i}@firma{customer}.test")
            };
            let line = format!(
                "{};\"Müller & Söhne {}; GmbH\";{};Herr;Jürgen;Groß {};{};Köln;{};{}\r\n",
                10_000 + customer,
                customer,
                i,
                i,
                email,
                block,
                contact_block
            );
            let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&line);
            w.write_all(&bytes)?;
        }
        w.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    println!(
        "generated {rows} rows, {:.1} MB, in {:.1?}",
        size as f64 / 1e6,
        started.elapsed()
    );
    let before = vm_hwm_kb().unwrap_or(0);
    let started = Instant::now();
    let list = RecipientList::open(&path, &ColumnNames::default(), &[])?
        .with_suppression(|a| a.ends_with("@firma7.test"));
    let counts = list.count_all()?;
    let elapsed = started.elapsed();
    println!(
        "imported in {elapsed:.1?} ({:.0} rows/s)",
        rows as f64 / elapsed.as_secs_f64()
    );
    println!("counts: {counts}");
    let peak = vm_hwm_kb().unwrap_or(0);
    println!(
        "peak RSS (VmHWM): {:.1} MB (before import: {:.1} MB)",
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
    Ok(())
}
