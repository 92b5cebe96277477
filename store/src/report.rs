//! Raw bounce reports kept per recipient, and the bounce log across mailings
//! (`GET /api/bounces?hard=true`).
use crate::error::Result;
use crate::keys::{corrupt, decode, pair_key, read_u64, Millis};
use crate::recipient::Recipient;
use crate::store::Store;
use mm_domain::{BounceReason, ReportKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A report as it arrived at the bounce address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReport {
    /// Store-wide sequence number (arrival order); with mailing and row it names the report.
    pub seq: u64,
    /// When it arrived.
    pub received: Millis,
    /// What the classifier made of it.
    pub kind: ReportKind,
    /// The message bytes.
    pub bytes: Vec<u8>,
}

/// One line of the bounce log: the latest bounce of one recipient. Written by
/// [`Store::update_recipient`] just before the record that makes a recipient `bounced`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BounceEntry {
    /// The address that bounced.
    pub address: String,
    /// The mailing id (folder name); filled in when read.
    #[serde(default)]
    pub mailing: String,
    /// The mailing number.
    pub mailing_number: u32,
    /// The recipient's row.
    pub row: u32,
    /// Customer id, when known.
    pub customer_id: Option<String>,
    /// Contact id, when known.
    pub contact_id: Option<String>,
    /// Bounce reason.
    pub reason: Option<BounceReason>,
    /// Enhanced status code.
    pub status_code: Option<String>,
    /// Hard bounce.
    pub hard: bool,
    /// Diagnostic text.
    pub diagnostic: Option<String>,
    /// When it was recorded.
    pub when: Millis,
}

impl BounceEntry {
    pub(crate) fn of(r: &Recipient) -> Self {
        BounceEntry {
            address: r.email.clone(),
            mailing: String::new(),
            mailing_number: r.mailing,
            row: r.row,
            customer_id: r.customer_id.clone(),
            contact_id: r.contact_id.clone(),
            reason: r.reason,
            status_code: r.status_code.clone(),
            hard: r.hard,
            diagnostic: r.diagnostic.clone(),
            when: r.updated,
        }
    }
}

impl Store {
    /// Keeps the raw report `bytes` for recipient `row` of `mailing`; returns its sequence
    /// number. Key `[mailing][row][seq u64]`, value `[name len u8][kind name][received u64][bytes]`.
    /// Fails with [`crate::StoreError::UnknownRecipient`] when there is no such recipient.
    /// NOT flushed: the milter flushes before it answers (so a lost write means a tempfail and
    /// a retry by the MTA, never a lost report).
    pub fn add_report(
        &self,
        mailing: u32,
        row: u32,
        kind: ReportKind,
        received: Millis,
        bytes: &[u8],
    ) -> Result<u64> {
        self.recipient_exists(mailing, row)?;
        let seq = self.inner.db.generate_id()?;
        let mut key = pair_key(mailing, row).to_vec();
        key.extend_from_slice(&seq.to_be_bytes());
        let name = kind.as_str().as_bytes();
        let mut value = Vec::with_capacity(9 + name.len() + bytes.len());
        value.push(name.len() as u8);
        value.extend_from_slice(name);
        value.extend_from_slice(&received.to_be_bytes());
        value.extend_from_slice(bytes);
        self.inner.reports.insert(key, value)?;
        Ok(seq)
    }

    /// The raw reports of recipient `row` of `mailing`, oldest first.
    pub fn reports(&self, mailing: u32, row: u32) -> Result<Vec<RawReport>> {
        let mut out = Vec::new();
        for kv in self.inner.reports.scan_prefix(pair_key(mailing, row)) {
            let (k, v) = kv?;
            out.push(decode_report(&k, &v)?);
        }
        Ok(out)
    }

    /// One raw report by its sequence number.
    pub fn report(&self, mailing: u32, row: u32, seq: u64) -> Result<Option<RawReport>> {
        let mut key = pair_key(mailing, row).to_vec();
        key.extend_from_slice(&seq.to_be_bytes());
        match self.inner.reports.get(&key)? {
            Some(v) => Ok(Some(decode_report(&key, &v)?)),
            None => Ok(None),
        }
    }

    /// The bounce log across mailings (mailing number, then row order); only hard bounces when
    /// `hard_only`. Streams; the mailing id is filled in from the mailings table.
    pub fn bounces(
        &self,
        hard_only: bool,
    ) -> impl Iterator<Item = Result<BounceEntry>> + Send + 'static {
        let mut ids: HashMap<u32, String> = HashMap::new();
        let store = self.clone();
        self.inner.bounces.iter().filter_map(move |kv| {
            let entry = (|| {
                let (k, v) = kv?;
                let mut e: BounceEntry = decode("bounce log", &k, &v)?;
                if hard_only && !e.hard {
                    return Ok(None);
                }
                if let Some(id) = ids.get(&e.mailing_number) {
                    e.mailing = id.clone();
                } else if let Some(m) = store.mailing_by_number(e.mailing_number)? {
                    ids.insert(m.number, m.id.clone());
                    e.mailing = m.id;
                }
                Ok(Some(e))
            })();
            entry.transpose()
        })
    }
}

fn decode_report(k: &[u8], v: &[u8]) -> Result<RawReport> {
    let seq = read_u64(k, 8).ok_or_else(|| corrupt("report", k, "short key"))?;
    let n = *v
        .first()
        .ok_or_else(|| corrupt("report", k, "empty value"))? as usize;
    let kind = v
        .get(1..1 + n)
        .and_then(|name| std::str::from_utf8(name).ok())
        .and_then(|name| name.parse::<ReportKind>().ok())
        .ok_or_else(|| corrupt("report", k, "bad report kind"))?;
    let received = read_u64(v, 1 + n).ok_or_else(|| corrupt("report", k, "short value"))?;
    Ok(RawReport {
        seq,
        received,
        kind,
        bytes: v[9 + n..].to_vec(),
    })
}
