//! [`Report`]: the streaming reader over a report export.
use crate::columns::{ColumnNames, WellKnown};
use crate::error::ReportError;
use crate::sniff::{self, NotText, Sniffed, TextEncoding, SAMPLE_LEN};
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

/// One data row of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line of the file where the record starts (the header is line 1).
    pub line: u64,
    /// The fields, decoded, one per column (trailing empty extra fields are dropped).
    pub values: Vec<String>,
}

/// A report being read: header known, rows streamed on demand.
///
/// Iterate with `for row in &mut report` or [`Report::next_row`]. After the first error the
/// iterator ends.
pub struct Report {
    path: PathBuf,
    columns: Vec<String>,
    well_known: WellKnown,
    sniffed: Sniffed,
    reader: csv::Reader<QuoteTracker>,
    record: csv::ByteRecord,
    done: bool,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("path", &self.path)
            .field("columns", &self.columns)
            .field("well_known", &self.well_known)
            .field("sniffed", &self.sniffed)
            .finish_non_exhaustive()
    }
}

impl Report {
    /// Opens a report file, sniffs it, reads the header row and finds the columns.
    pub fn open(path: &Path, names: &ColumnNames) -> Result<Report, ReportError> {
        let file = File::open(path).map_err(|source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Report::from_reader(path, file, names)
    }

    /// Like [`Report::open`] but over any byte source; `path` is used in messages.
    pub fn from_reader(
        path: &Path,
        mut input: impl Read + Send + 'static,
        names: &ColumnNames,
    ) -> Result<Report, ReportError> {
        let io = |source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut sample = Vec::with_capacity(SAMPLE_LEN);
        (&mut input)
            .take(SAMPLE_LEN as u64)
            .read_to_end(&mut sample)
            .map_err(io)?;
        let complete = sample.len() < SAMPLE_LEN;
        let sniffed = sniff::sniff(&sample, complete).map_err(|e| match e {
            NotText::Empty => ReportError::Empty {
                path: path.to_path_buf(),
            },
            NotText::Utf16 => ReportError::NotText {
                path: path.to_path_buf(),
                line: 1,
                what: "UTF-16 text; export as UTF-8 or Windows-1252",
            },
            NotText::Nul => ReportError::NotText {
                path: path.to_path_buf(),
                line: 1,
                what: "NUL bytes: binary data",
            },
        })?;
        let mut cursor = Cursor::new(sample);
        cursor.set_position(sniffed.skip as u64);
        let source: Box<dyn Read + Send> = Box::new(cursor.chain(input));
        let tracker = QuoteTracker::new(source, sniffed.delimiter);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(sniffed.delimiter)
            .has_headers(false)
            .flexible(true)
            // Lines are counted at '\n' only: with the default CRLF terminator the `csv`
            // crate reports CRLF records one line too early. The '\r' that then ends the
            // last field is removed in `field`.
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(tracker);
        let mut record = csv::ByteRecord::new();
        let mut report_err = |e: csv::Error| csv_error(path, e);
        // The header is the first record that is not blank.
        loop {
            if !reader
                .read_byte_record(&mut record)
                .map_err(&mut report_err)?
            {
                return Err(ReportError::Empty {
                    path: path.to_path_buf(),
                });
            }
            if !record.iter().all(|f| f.trim_ascii().is_empty()) {
                break;
            }
        }
        let columns: Vec<String> = (0..record.len())
            .map(|i| {
                sniff::decode(field(&record, i), sniffed.encoding)
                    .trim()
                    .to_string()
            })
            .collect();
        let well_known = WellKnown::find(path, &columns, names)?;
        Ok(Report {
            path: path.to_path_buf(),
            columns,
            well_known,
            sniffed,
            reader,
            record,
            done: false,
        })
    }

    /// The report file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header texts, in column order: the merge-field names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Indexes of the e-mail and the other well-known columns.
    pub fn well_known(&self) -> &WellKnown {
        &self.well_known
    }

    /// The field delimiter found.
    pub fn delimiter(&self) -> u8 {
        self.sniffed.delimiter
    }

    /// The text encoding found.
    pub fn encoding(&self) -> TextEncoding {
        self.sniffed.encoding
    }

    /// Reads the next non-empty row; `Ok(None)` at the end.
    pub fn next_row(&mut self) -> Result<Option<Row>, ReportError> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_row();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn read_row(&mut self) -> Result<Option<Row>, ReportError> {
        loop {
            let more = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| csv_error(&self.path, e))?;
            if !more {
                return Ok(None);
            }
            let line = self.record.position().map(|p| p.line()).unwrap_or(0);
            if self.reader.get_ref().unclosed_at_eof() {
                return Err(ReportError::UnclosedQuote {
                    path: self.path.clone(),
                    line,
                });
            }
            if self.record.iter().all(|f| f.trim_ascii().is_empty()) {
                continue; // blank line or ";;;;" filler row: no data to lose
            }
            if self.record.iter().any(|f| f.contains(&0)) {
                return Err(ReportError::NotText {
                    path: self.path.clone(),
                    line,
                    what: "NUL bytes: binary data",
                });
            }
            let expected = self.columns.len();
            let found = self.record.len();
            let extra_is_empty = self
                .record
                .iter()
                .skip(expected)
                .all(|f| f.trim_ascii().is_empty());
            if found < expected || !extra_is_empty {
                return Err(ReportError::FieldCount {
                    path: self.path.clone(),
                    line,
                    expected,
                    found,
                });
            }
            let values = (0..expected)
                .map(|i| sniff::decode(field(&self.record, i), self.sniffed.encoding))
                .collect();
            return Ok(Some(Row { line, values }));
        }
    }
}

impl Iterator for Report {
    type Item = Result<Row, ReportError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row().transpose()
    }
}

/// Field `i` of `record`, without the '\r' of a CRLF line end on the last field.
fn field(record: &csv::ByteRecord, i: usize) -> &[u8] {
    let f = record.get(i).unwrap_or_default();
    if i + 1 == record.len() {
        f.strip_suffix(b"\r").unwrap_or(f)
    } else {
        f
    }
}

fn csv_error(path: &Path, e: csv::Error) -> ReportError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => ReportError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => ReportError::Csv {
            path: path.to_path_buf(),
            line,
            message: format!("{other:?}"),
        },
    }
}

/// Watches the bytes going into the CSV parser with the same quoting rules, to notice a
/// quoted field still open at the end of the input — the one truncation the `csv` crate
/// accepts silently (it ends the field at EOF).
struct QuoteTracker {
    inner: Box<dyn Read + Send>,
    delimiter: u8,
    state: State,
    /// Set when the inner reader returned EOF: [`EOF_CLEAN`] or [`EOF_UNCLOSED`].
    eof: u8,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: either the closing quote or the first of `""`.
    QuoteInQuoted,
}

const EOF_CLEAN: u8 = 1;
const EOF_UNCLOSED: u8 = 2;

impl QuoteTracker {
    fn new(inner: Box<dyn Read + Send>, delimiter: u8) -> Self {
        QuoteTracker {
            inner,
            delimiter,
            state: State::FieldStart,
            eof: 0,
        }
    }

    fn unclosed_at_eof(&self) -> bool {
        self.eof == EOF_UNCLOSED
    }

    fn feed(&mut self, bytes: &[u8]) {
        let d = self.delimiter;
        let mut state = self.state;
        for &b in bytes {
            state = match state {
                State::FieldStart if b == b'"' => State::Quoted,
                State::FieldStart | State::Unquoted => {
                    if b == d || b == b'\n' || b == b'\r' {
                        State::FieldStart
                    } else {
                        State::Unquoted
                    }
                }
                State::Quoted if b == b'"' => State::QuoteInQuoted,
                State::Quoted => State::Quoted,
                State::QuoteInQuoted if b == b'"' => State::Quoted,
                // After the closing quote the field goes on unquoted up to the delimiter.
                State::QuoteInQuoted => {
                    if b == d || b == b'\n' || b == b'\r' {
                        State::FieldStart
                    } else {
                        State::Unquoted
                    }
                }
            };
        }
        self.state = state;
    }
}

impl Read for QuoteTracker {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.eof = if self.state == State::Quoted {
                EOF_UNCLOSED
            } else {
                EOF_CLEAN
            };
        } else {
            self.feed(&buf[..n]);
        }
        Ok(n)
    }
}
