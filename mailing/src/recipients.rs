//! The recipient list (SPEC §5): one [`Recipient`] per report row, streamed.
//!
//! Rules, in order of precedence (the first that applies is the row's `skip` reason):
//! 1. `customer_block`: the row's customer has a block on *any* of its rows — also rows
//!    before the blocked one. A first streaming pass collects the blocked customer ids (a
//!    small set), so the report is read twice and never held in memory.
//! 2. `contact_block`: the row's contact block flag is set.
//! 3. `unticked`: the address is in the mailing's `exclude` list.
//! 4. `invalid_address`: the address fails [`crate::address::is_valid`].
//! 5. `duplicate`: the address (trimmed, case-insensitive) already appeared on an earlier
//!    row with a valid address — whether or not that row is sent, so a blocked person is
//!    not reached through a second row. Compared as 64-bit hashes. The first pass also
//!    finds which addresses repeat, so that the list, while it streams into the store,
//!    remembers only those (see `repeats`).
//! 6. `suppressed`: the suppression callback says so (hard bounces, complaints).
//!
//! Nothing disappears: every row yields a recipient, with `send = false` and the reason.
use crate::address;
use crate::mailing::Mailing;
use crate::repeats::{RepeatFinder, Repeats};
use mm_domain::SkipReason;
use mm_report::{is_truthy, ColumnNames, Report, ReportError, Row, WellKnown};
use serde::Serialize;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

/// One row of the recipient list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// 0-based index of the row among the report's data rows (the VERP token's recipient).
    pub index: u32,
    /// Line in the report file where the row starts.
    pub line: u64,
    /// Customer id ("" without a customer-id column).
    pub customer_id: String,
    /// Customer name ("" without such a column).
    pub customer_name: String,
    /// Contact id ("" without such a column).
    pub contact_id: String,
    /// The address, trimmed.
    pub email: String,
    /// Whether the mailing goes to this row.
    pub send: bool,
    /// Why not, when `send` is false.
    pub skip: Option<SkipReason>,
    /// All fields of the row (merge-field values), in column order.
    pub values: Vec<String>,
}

/// How many rows got which outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rows.
    pub total: u64,
    /// Rows with `send = true`.
    pub to_send: u64,
    /// Skipped: customer block.
    pub customer_block: u64,
    /// Skipped: contact block.
    pub contact_block: u64,
    /// Skipped: unticked (`exclude`).
    pub unticked: u64,
    /// Skipped: invalid address.
    pub invalid_address: u64,
    /// Skipped: duplicate address.
    pub duplicate: u64,
    /// Skipped: on the suppression list.
    pub suppressed: u64,
}

impl Counts {
    /// Customer plus contact blocks.
    pub fn blocked(&self) -> u64 {
        self.customer_block + self.contact_block
    }

    fn add(&mut self, skip: Option<SkipReason>) {
        self.total += 1;
        match skip {
            None => self.to_send += 1,
            Some(SkipReason::CustomerBlock) => self.customer_block += 1,
            Some(SkipReason::ContactBlock) => self.contact_block += 1,
            Some(SkipReason::Unticked) => self.unticked += 1,
            Some(SkipReason::InvalidAddress) => self.invalid_address += 1,
            Some(SkipReason::Duplicate) => self.duplicate += 1,
            Some(SkipReason::Suppressed) => self.suppressed += 1,
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "total {}, to send {}, blocked {} (customer {}, contact {}), unticked {}, invalid {}, duplicate {}, suppressed {}",
            self.total,
            self.to_send,
            self.blocked(),
            self.customer_block,
            self.contact_block,
            self.unticked,
            self.invalid_address,
            self.duplicate,
            self.suppressed
        )
    }
}

/// The suppression check: called with the trimmed, lowercase address.
type SuppressionCheck<'a> = Box<dyn FnMut(&str) -> bool + Send + 'a>;

/// The streaming recipient list over a report.
pub struct RecipientList<'a> {
    report: Report,
    blocked_customers: HashSet<String>,
    exclude: HashSet<String>,
    repeats: Repeats,
    suppressed: Option<SuppressionCheck<'a>>,
    counts: Counts,
    next_index: u32,
}

impl std::fmt::Debug for RecipientList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecipientList")
            .field("report", &self.report)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl<'a> RecipientList<'a> {
    /// The list for `mailing`, whose report lies in `reports_dir` (`DATA/reports`).
    pub fn for_mailing(mailing: &Mailing, reports_dir: &Path) -> Result<Self, ReportError> {
        RecipientList::open(
            &mailing.report_path(reports_dir),
            mailing.column_names(),
            &mailing.spec.exclude,
        )
    }

    /// The list over the report at `path`, with column overrides and unticked addresses.
    pub fn open(path: &Path, names: &ColumnNames, exclude: &[String]) -> Result<Self, ReportError> {
        let mut first = Report::open(path, names)?;
        let wk = *first.well_known();
        let mut blocked_customers = HashSet::new();
        let mut repeats = RepeatFinder::default();
        for row in &mut first {
            let row = row?;
            if let (Some(id), Some(block)) = (wk.customer_id, wk.customer_block) {
                if is_truthy(&row.values[block]) && !row.values[id].trim().is_empty() {
                    blocked_customers.insert(row.values[id].trim().to_string());
                }
            }
            // As `recipient` decides it: every valid address counts.
            let email = row.values[wk.email].trim();
            if address::is_valid(email) {
                repeats.add(hash(&normalise(email)));
            }
        }
        let repeats = repeats.finish();
        let report = Report::open(path, names)?;
        Ok(RecipientList {
            report,
            blocked_customers,
            exclude: exclude.iter().map(|e| normalise(e)).collect(),
            repeats,
            suppressed: None,
            counts: Counts::default(),
            next_index: 0,
        })
    }

    /// Marks addresses for which `is_suppressed` returns true as `suppressed`; it is called
    /// with the trimmed, lowercase address, only for rows that would otherwise be sent.
    pub fn with_suppression(mut self, is_suppressed: impl FnMut(&str) -> bool + Send + 'a) -> Self {
        self.suppressed = Some(Box::new(is_suppressed));
        self
    }

    /// The report's columns (merge-field names).
    pub fn columns(&self) -> &[String] {
        self.report.columns()
    }

    /// The report's well-known column indexes.
    pub fn well_known(&self) -> &WellKnown {
        self.report.well_known()
    }

    /// The report being read.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Counts of the rows yielded so far (all rows once the list is drained).
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Reads the rest of the list and returns the counts.
    pub fn count_all(mut self) -> Result<Counts, ReportError> {
        for r in &mut self {
            r?;
        }
        Ok(self.counts)
    }

    fn recipient(&mut self, row: Row) -> Recipient {
        let wk = *self.report.well_known();
        let get = |i: Option<usize>| {
            i.map(|i| row.values[i].trim().to_string())
                .unwrap_or_default()
        };
        let customer_id = get(wk.customer_id);
        let customer_name = get(wk.customer_name);
        let contact_id = get(wk.contact_id);
        let email = row.values[wk.email].trim().to_string();
        let flag = |i: Option<usize>| i.is_some_and(|i| is_truthy(&row.values[i]));
        let key = normalise(&email);
        let valid = address::is_valid(&email);
        // Every valid address is remembered, whatever else applies to its row.
        let first_time = valid && self.repeats.first_time(hash(&key));

        let skip = if flag(wk.customer_block)
            || (!customer_id.is_empty() && self.blocked_customers.contains(&customer_id))
        {
            Some(SkipReason::CustomerBlock)
        } else if flag(wk.contact_block) {
            Some(SkipReason::ContactBlock)
        } else if self.exclude.contains(&key) {
            Some(SkipReason::Unticked)
        } else if !valid {
            Some(SkipReason::InvalidAddress)
        } else if !first_time {
            Some(SkipReason::Duplicate)
        } else if self.suppressed.as_mut().is_some_and(|f| f(&key)) {
            Some(SkipReason::Suppressed)
        } else {
            None
        };
        self.counts.add(skip);
        let index = self.next_index;
        self.next_index = self.next_index.saturating_add(1);
        Recipient {
            index,
            line: row.line,
            customer_id,
            customer_name,
            contact_id,
            email,
            send: skip.is_none(),
            skip,
            values: row.values,
        }
    }
}

impl Iterator for RecipientList<'_> {
    type Item = Result<Recipient, ReportError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.report.next_row() {
            Ok(Some(row)) => Some(Ok(self.recipient(row))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// The comparison form of an address: trimmed, lowercase.
pub fn normalise(addr: &str) -> String {
    addr.trim().to_lowercase()
}

fn hash(key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}
