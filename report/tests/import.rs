//! Report import against files on disk: encodings, delimiters, quoting, hostile input.
use mm_report::{ColumnNames, Report, ReportError, TextEncoding};
use std::path::PathBuf;

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn all_rows(path: &std::path::Path) -> Result<(Report, Vec<mm_report::Row>), ReportError> {
    let mut r = Report::open(path, &ColumnNames::default())?;
    let rows = (&mut r).collect::<Result<Vec<_>, _>>()?;
    Ok((r, rows))
}

#[test]
fn german_crm_export_cp1252_semicolon() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "kunden.csv",
        b"Kundennummer;Firmenname;Nachname;E-Mail\r\n1001;M\xFCller & S\xF6hne;Stra\xDFer;a@b.de\r\n1002;\"Gr\xFC\xDFe; und \"\"mehr\"\"\";\x80uro;c@d.de\r\n",
    );
    let (r, rows) = all_rows(&p).unwrap();
    assert_eq!(r.encoding(), TextEncoding::Windows1252);
    assert_eq!(r.delimiter(), b';');
    assert_eq!(
        r.columns(),
        ["Kundennummer", "Firmenname", "Nachname", "E-Mail"]
    );
    assert_eq!(r.well_known().email, 3);
    assert_eq!(r.well_known().customer_id, Some(0));
    assert_eq!(
        rows[0].values,
        ["1001", "Müller & Söhne", "Straßer", "a@b.de"]
    );
    assert_eq!(rows[1].values[1], "Grüße; und \"mehr\"");
    assert_eq!(rows[1].values[2], "€uro");
    assert_eq!((rows[0].line, rows[1].line), (2, 3));
}

#[test]
fn utf8_bom_tab_and_embedded_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "r.tsv",
        "\u{FEFF}E-Mail\tNotiz\tOrt\nx@y.de\t\"zwei\nZeilen\tmit Tab\"\tKöln\nz@y.de\tkurz\tBonn\n"
            .as_bytes(),
    );
    let (r, rows) = all_rows(&p).unwrap();
    assert_eq!(r.encoding(), TextEncoding::Utf8Bom);
    assert_eq!(
        r.columns()[0],
        "E-Mail",
        "BOM must not stick to the first header"
    );
    assert_eq!(rows[0].values, ["x@y.de", "zwei\nZeilen\tmit Tab", "Köln"]);
    // The third record starts on line 4 because the quoted field spans two lines.
    assert_eq!(rows[1].line, 4);
}

#[test]
fn blank_and_filler_rows_are_skipped_trailing_delimiter_ok() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "r.csv", b"email;Name\n\na@b.de;A;\n;;\nc@d.de;C\n");
    let (_, rows) = all_rows(&p).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].values, ["a@b.de", "A"]);
    assert_eq!(rows[1].line, 5);
}

#[test]
fn blank_lines_before_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "r.csv", b"\r\n;;\r\nName;E-Mail\r\nA;a@b.de\r\n");
    let (r, rows) = all_rows(&p).unwrap();
    assert_eq!(r.columns(), ["Name", "E-Mail"]);
    assert_eq!(rows[0].line, 4);
}

#[test]
fn no_email_column_lists_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "r.csv", b"Name;Telefon;Ort\nA;1;K\n");
    let e = Report::open(&p, &ColumnNames::default()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("r.csv: no e-mail column"), "{msg}");
    assert!(msg.contains("\"Name\", \"Telefon\", \"Ort\""), "{msg}");
}

#[test]
fn truncated_row_is_an_error_with_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "r.csv", b"email;Name;Ort\na@b.de;A;K\nc@d.de;C");
    let e = all_rows(&p).unwrap_err();
    assert!(
        matches!(
            e,
            ReportError::FieldCount {
                line: 3,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("r.csv:3:"), "{e}");
}

#[test]
fn truncated_inside_quotes_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "r.csv", b"email;Name\na@b.de;A\nc@d.de;\"Chris");
    let e = all_rows(&p).unwrap_err();
    assert!(
        matches!(e, ReportError::UnclosedQuote { line: 3, .. }),
        "{e}"
    );
    // A closed quote at the very end is fine.
    let p = write(&dir, "s.csv", b"email;Name\na@b.de;A\nc@d.de;\"Chris\"");
    assert_eq!(all_rows(&p).unwrap().1.len(), 2);
}

#[test]
fn binary_and_empty_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "logo.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10");
    let e = Report::open(&p, &ColumnNames::default()).unwrap_err();
    assert!(e.to_string().contains("not a CSV text file"), "{e}");
    let p = write(&dir, "empty.csv", b"");
    assert!(matches!(
        Report::open(&p, &ColumnNames::default()),
        Err(ReportError::Empty { .. })
    ));
    let e = Report::open(&dir.path().join("missing.csv"), &ColumnNames::default()).unwrap_err();
    assert!(matches!(e, ReportError::Io { .. }), "{e}");

    // NUL bytes after the sniffed sample are found in the row.
    let mut big = b"email;Name\n".to_vec();
    for i in 0..10_000 {
        big.extend_from_slice(format!("u{i}@x.de;Name {i}\n").as_bytes());
    }
    big.extend_from_slice(b"z@x.de;\0\0\0\n");
    let p = write(&dir, "late.csv", &big);
    let e = all_rows(&p).unwrap_err();
    assert!(
        matches!(e, ReportError::NotText { line: 10_002, .. }),
        "{e}"
    );
}

#[test]
fn random_bytes_never_panic() {
    // A cheap deterministic fuzz pass; the real one is `fuzz/` (csv_import).
    let mut seed = 0x1234_5678_u64;
    for _ in 0..500 {
        let len = (seed % 300) as usize;
        let mut bytes = Vec::with_capacity(len + 8);
        bytes.extend_from_slice(b"email;a\n");
        for _ in 0..len {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            bytes.push(b"a;\"\n\r@,\t\xFC\xC3"[(seed >> 33) as usize % 10]);
        }
        if let Ok(mut r) = Report::from_reader(
            "fuzz.csv".as_ref(),
            std::io::Cursor::new(bytes),
            &ColumnNames::default(),
        ) {
            for row in &mut r {
                if row.is_err() {
                    break;
                }
            }
        }
    }
}
