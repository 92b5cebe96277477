//! `mailing-manager check`: validates the config, every report and every mailing under DATA
//! without starting anything, and prints per mailing its problems and recipient counts.
//!
//! Exit codes: 0 all good; 65 (EX_DATAERR) when a mailing has a problem or a report cannot be
//! read; 78 (EX_CONFIG) for a bad config (via `ConfigError`).
//!
//! Suppression is not applied here: `check` works on the files alone (the store may be held
//! by the running daemon), so `suppressed` counts are those of the daemon's API.
use crate::cli::CheckArgs;
use crate::config::Config;
use crate::exit;
use mm_mailing::{ColumnNames, Counts, Mailing, Problem, RecipientList, Report, ReportError};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `check` found about one report file.
#[derive(Debug, Serialize)]
struct ReportCheck {
    name: String,
    rows: Option<u64>,
    columns: Vec<String>,
    delimiter: Option<String>,
    encoding: Option<String>,
    /// A note that does not fail the check (e.g. no usual e-mail column: mailings may name it).
    note: Option<String>,
    error: Option<String>,
}

/// What `check` found about one mailing.
#[derive(Debug, Serialize)]
struct MailingCheck {
    id: String,
    title: Option<String>,
    report: Option<String>,
    problems: Vec<ProblemOut>,
    counts: Option<Counts>,
    notes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ProblemOut {
    message: String,
    #[serde(flatten)]
    problem: Option<Problem>,
}

impl From<Problem> for ProblemOut {
    fn from(p: Problem) -> Self {
        ProblemOut {
            message: p.to_string(),
            problem: Some(p),
        }
    }
}

#[derive(Debug, Serialize)]
struct CheckOut {
    config: PathBuf,
    data_dir: PathBuf,
    reports: Vec<ReportCheck>,
    mailings: Vec<MailingCheck>,
    ok: bool,
}

pub fn run(config: &Path, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    let reports = if args.mailing.is_some() {
        Vec::new()
    } else {
        list_files(&cfg.reports_dir())
            .into_iter()
            .map(|p| check_report(&p))
            .collect()
    };
    let mailing_dirs = match &args.mailing {
        Some(id) => {
            let dir = cfg.mailings_dir().join(id);
            if id.contains(['/', '\\']) || !dir.join("mailing.toml").is_file() {
                return Err(exit::Exit(
                    exit::USAGE,
                    format!("no mailing {id:?} in {}", cfg.mailings_dir().display()),
                )
                .into());
            }
            vec![dir]
        }
        None => list_dirs(&cfg.mailings_dir()),
    };
    let mailings: Vec<MailingCheck> = mailing_dirs
        .iter()
        .map(|d| check_mailing(d, &cfg.reports_dir()))
        .collect();
    let ok =
        reports.iter().all(|r| r.error.is_none()) && mailings.iter().all(|m| m.problems.is_empty());
    let out = CheckOut {
        config: cfg.file.clone(),
        data_dir: cfg.data_dir.clone(),
        reports,
        mailings,
        ok,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_text(&out, &cfg);
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::DATAERR)
    })
}

fn print_text(out: &CheckOut, cfg: &Config) {
    println!("config {}: ok", out.config.display());
    println!("data   {}", out.data_dir.display());
    if out.reports.is_empty() && out.mailings.len() != 1 {
        println!("reports: none in {}", cfg.reports_dir().display());
    }
    for r in &out.reports {
        match (&r.error, r.rows) {
            (Some(e), _) => println!("report {}: ERROR {e}", r.name),
            (None, None) => println!(
                "report {}: note: {}",
                r.name,
                r.note.as_deref().unwrap_or("not read")
            ),
            (None, Some(rows)) => {
                println!(
                    "report {}: {rows} rows, {} columns, delimiter {}, {}",
                    r.name,
                    r.columns.len(),
                    delimiter_name(r.delimiter.as_deref().unwrap_or("?")),
                    r.encoding.as_deref().unwrap_or("?"),
                );
                if let Some(n) = &r.note {
                    println!("  note: {n}");
                }
            }
        }
    }
    if out.mailings.is_empty() {
        println!("mailings: none in {}", cfg.mailings_dir().display());
    }
    for m in &out.mailings {
        println!();
        println!(
            "mailing {}{}{}",
            m.id,
            m.title
                .as_ref()
                .map(|t| format!(" \"{t}\""))
                .unwrap_or_default(),
            m.report
                .as_ref()
                .map(|r| format!(" (report {r})"))
                .unwrap_or_default()
        );
        if m.problems.is_empty() {
            println!("  problems: none");
        } else {
            println!("  problems: {}", m.problems.len());
            for p in &m.problems {
                println!("  - {}", p.message);
            }
        }
        for n in &m.notes {
            println!("  note: {n}");
        }
        if let Some(c) = &m.counts {
            println!(
                "  recipients: total {}, to send {}, blocked {} (customer {}, contact {}), invalid {}, duplicate {}, unticked {}",
                c.total,
                c.to_send,
                c.blocked(),
                c.customer_block,
                c.contact_block,
                c.invalid_address,
                c.duplicate,
                c.unticked
            );
        }
    }
    let failed = out
        .mailings
        .iter()
        .filter(|m| !m.problems.is_empty())
        .count()
        + out.reports.iter().filter(|r| r.error.is_some()).count();
    println!();
    if failed == 0 {
        println!("check: ok");
    } else {
        println!("check: {failed} with problems");
    }
}

fn check_report(path: &Path) -> ReportCheck {
    let name = file_name(path);
    let mut out = ReportCheck {
        name,
        rows: None,
        columns: Vec::new(),
        delimiter: None,
        encoding: None,
        note: None,
        error: None,
    };
    match Report::open(path, &ColumnNames::default()) {
        Ok(mut report) => {
            out.columns = report.columns().to_vec();
            out.delimiter = Some((report.delimiter() as char).to_string());
            out.encoding = Some(report.encoding().to_string());
            let mut rows = 0u64;
            for row in &mut report {
                match row {
                    Ok(_) => rows += 1,
                    Err(e) => {
                        out.error = Some(e.to_string());
                        break;
                    }
                }
            }
            out.rows = Some(rows);
        }
        // Without the usual e-mail header a mailing may still name the column itself.
        Err(ReportError::NoEmailColumn { found, .. }) => {
            out.note = Some(format!(
                "no usual e-mail column (columns found: {}); a mailing using it must name its \
                 e-mail column in [columns]",
                found
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            out.columns = found;
        }
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}

fn check_mailing(dir: &Path, reports_dir: &Path) -> MailingCheck {
    let id = file_name(dir);
    let mut out = MailingCheck {
        id,
        title: None,
        report: None,
        problems: Vec::new(),
        counts: None,
        notes: Vec::new(),
    };
    let mailing = match Mailing::load(dir) {
        Ok(m) => m,
        Err(e) => {
            out.problems.push(ProblemOut {
                message: e.to_string(),
                problem: None,
            });
            return out;
        }
    };
    out.title = Some(mailing.spec.title.clone());
    out.report = Some(mailing.spec.report.clone());
    let list = match RecipientList::for_mailing(&mailing, reports_dir) {
        Ok(list) => list,
        Err(e) => {
            let mut problems = mailing.problems.clone();
            problems.push(Problem::Report {
                message: e.to_string(),
            });
            out.problems = problems.into_iter().map(ProblemOut::from).collect();
            return out;
        }
    };
    let problems = mailing.validate(list.columns());
    if mailing.spec.documents && list.well_known().customer_id.is_none() {
        out.notes.push(
            "the report has no customer-id column: no customer documents will be written".into(),
        );
    }
    if mailing.spec.send {
        out.notes
            .push("send = true: the daemon starts sending this mailing (once)".into());
    }
    let mut problems: Vec<ProblemOut> = problems.into_iter().map(ProblemOut::from).collect();
    match list.count_all() {
        Ok(c) => {
            if c.to_send == 0 {
                out.notes.push("no recipient would be sent to".into());
            }
            out.counts = Some(c);
        }
        Err(e) => problems.push(
            Problem::Report {
                message: e.to_string(),
            }
            .into(),
        ),
    }
    out.problems = problems;
    out
}

fn delimiter_name(d: &str) -> String {
    match d {
        "\t" => "TAB".into(),
        other => format!("'{other}'"),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Regular files in `dir` (not hidden), sorted by name; empty when `dir` does not exist.
fn list_files(dir: &Path) -> Vec<PathBuf> {
    list(dir, |p| p.is_file())
}

/// Sub-directories of `dir` holding a `mailing.toml`, sorted by name.
fn list_dirs(dir: &Path) -> Vec<PathBuf> {
    list(dir, |p| p.join("mailing.toml").is_file())
}

fn list(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| !file_name(p).starts_with('.') && keep(p))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/mailing-manager.toml")
    }

    #[test]
    fn the_example_checks_clean() {
        let code = run(
            &example_config(),
            CheckArgs {
                mailing: None,
                json: false,
            },
        )
        .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let m = check_mailing(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/data/mailings/fruehjahr-2025"),
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/data/reports"),
        );
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        let c = m.counts.unwrap();
        // The example report: 16 rows; a customer block on 2 contacts, a contact block, an
        // invalid address, a duplicate.
        assert_eq!(
            (
                c.total,
                c.to_send,
                c.customer_block,
                c.contact_block,
                c.invalid_address,
                c.duplicate
            ),
            (16, 11, 2, 1, 1, 1)
        );
    }

    fn data_dir(toml: &str, report: &[u8]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let m = root.path().join("data/mailings/m1");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::create_dir_all(root.path().join("data/reports")).unwrap();
        std::fs::write(root.path().join("data/reports/r.csv"), report).unwrap();
        std::fs::write(m.join("mailing.toml"), toml).unwrap();
        std::fs::write(m.join("body.html"), "<p>Hallo [Nachname]</p>").unwrap();
        std::fs::write(root.path().join("mm.toml"), "data_dir = \"data\"\n").unwrap();
        root
    }

    const TOML: &str = "title = \"T\"\nfrom = \"a@b.test\"\nreport = \"r.csv\"\nsubject = \"Hallo [Nachnmae]\"\nattachments = [\"../../../mm.toml\"]\n";

    #[test]
    fn problems_are_listed_and_fail_the_check() {
        let root = data_dir(TOML, b"Nachname;E-Mail\nM\xfcller;a@b.test\n");
        let m = check_mailing(
            &root.path().join("data/mailings/m1"),
            &root.path().join("data/reports"),
        );
        let messages: Vec<&str> = m.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages
                .contains(&"unknown merge field [Nachnmae] in subject (did you mean [Nachname]?)"),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("../../../mm.toml") && m.contains("leaves the mailing folder")),
            "{messages:?}"
        );
        assert!(m
            .notes
            .iter()
            .any(|n| n.contains("no customer documents will be written")));
        let code = run(
            &root.path().join("mm.toml"),
            CheckArgs {
                mailing: None,
                json: true,
            },
        )
        .unwrap();
        assert_eq!(code, ExitCode::from(exit::DATAERR));
    }

    #[test]
    fn a_report_without_email_column_is_a_problem_naming_the_columns() {
        let toml = TOML
            .replace("[Nachnmae]", "[Nachname]")
            .replace("attachments = [\"../../../mm.toml\"]\n", "");
        let root = data_dir(&toml, b"Nachname;Telefon\nA;1\n");
        let m = check_mailing(
            &root.path().join("data/mailings/m1"),
            &root.path().join("data/reports"),
        );
        assert_eq!(m.problems.len(), 1, "{:?}", m.problems);
        let msg = &m.problems[0].message;
        assert!(
            msg.contains("no e-mail column") && msg.contains("\"Nachname\", \"Telefon\""),
            "{msg}"
        );
        // A broken (truncated) report fails the report check too.
        std::fs::write(
            root.path().join("data/reports/r.csv"),
            b"Nachname;E-Mail\nA;\"a@b.test",
        )
        .unwrap();
        let r = check_report(&root.path().join("data/reports/r.csv"));
        assert!(
            r.error.as_deref().is_some_and(|e| e.contains("r.csv:2")),
            "{r:?}"
        );
    }
}
