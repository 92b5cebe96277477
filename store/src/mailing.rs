//! Mailings: id (folder name) ↔ stable mailing number, state, content hash, report, timestamps,
//! validation problems.
use crate::error::{Result, StoreError};
use crate::keys::{corrupt, decode, encode, now_ms, read_u32, u32_key, Millis};
use crate::store::Store;
use mm_domain::MailingState;
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

const NEXT_MAILING: &[u8] = b"next_mailing_number";

/// One mailing's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailing {
    /// The folder name under `DATA/mailings/`.
    pub id: String,
    /// Allocated sequentially from 1 when the mailing is first seen; never reused. The VERP
    /// token carries it.
    pub number: u32,
    /// Life cycle state.
    pub state: MailingState,
    /// Hash of the mailing's content (files) as last loaded.
    pub content_hash: String,
    /// The report (CSV) file name.
    pub report: String,
    /// The report's column names: the merge fields it offers; `Recipient::fields` follow this
    /// order.
    pub columns: Vec<String>,
    /// Title from `mailing.toml`.
    pub title: String,
    /// When the store first saw the mailing.
    pub created: Millis,
    /// When a send was requested.
    pub send_requested: Option<Millis>,
    /// When the mailing became `sending`.
    pub send_started: Option<Millis>,
    /// When it became `sent`.
    pub finished: Option<Millis>,
    /// Problems found by the last validation (empty = valid).
    pub problems: Vec<String>,
    /// True once a recipient import ran to its end; false while one is running or after one
    /// failed part-way. The sender must not start on an incomplete list.
    pub recipients_complete: bool,
    /// Number of recipient rows of the last complete import.
    pub recipient_total: u32,
}

/// The mailing life cycle in one place: draft → sending → sent; staying in a state is allowed.
pub fn mailing_transition_allowed(from: MailingState, to: MailingState) -> bool {
    use MailingState::*;
    matches!(
        (from, to),
        (Draft, Draft) | (Draft, Sending) | (Sending, Sending) | (Sending, Sent) | (Sent, Sent)
    )
}

impl Store {
    /// Creates a draft mailing for folder `id`, allocating the next mailing number.
    /// Fails with [`StoreError::MailingExists`] when the id is known.
    pub fn create_mailing(&self, id: &str) -> Result<Mailing> {
        let i = &self.inner;
        let res = (&i.meta, &i.mailing_ids, &i.mailings).transaction(|(meta, ids, mailings)| {
            if ids.get(id.as_bytes())?.is_some() {
                return Err(ConflictableTransactionError::Abort(
                    StoreError::MailingExists(id.to_string()),
                ));
            }
            let number = meta
                .get(NEXT_MAILING)?
                .and_then(|v| read_u32(&v, 0))
                .unwrap_or(1);
            let next = number
                .checked_add(1)
                .ok_or(ConflictableTransactionError::Abort(StoreError::Exhausted(
                    "mailing numbers",
                )))?;
            meta.insert(NEXT_MAILING, &next.to_be_bytes())?;
            let m = Mailing {
                id: id.to_string(),
                number,
                state: MailingState::Draft,
                content_hash: String::new(),
                report: String::new(),
                columns: Vec::new(),
                title: String::new(),
                created: now_ms(),
                send_requested: None,
                send_started: None,
                finished: None,
                problems: Vec::new(),
                recipients_complete: false,
                recipient_total: 0,
            };
            ids.insert(id.as_bytes(), &u32_key(number))?;
            mailings.insert(&u32_key(number), encode(&m))?;
            Ok(m)
        });
        tx_result(res)
    }

    /// The mailing with folder name `id`, creating a draft when it is new.
    pub fn ensure_mailing(&self, id: &str) -> Result<Mailing> {
        if let Some(m) = self.mailing(id)? {
            return Ok(m);
        }
        match self.create_mailing(id) {
            Err(StoreError::MailingExists(_)) => self
                .mailing(id)?
                .ok_or_else(|| StoreError::UnknownMailing(id.to_string())),
            other => other,
        }
    }

    /// The mailing number of folder `id`.
    pub fn mailing_number(&self, id: &str) -> Result<Option<u32>> {
        Ok(self
            .inner
            .mailing_ids
            .get(id.as_bytes())?
            .and_then(|v| read_u32(&v, 0)))
    }

    /// The mailing with folder name `id`.
    pub fn mailing(&self, id: &str) -> Result<Option<Mailing>> {
        match self.mailing_number(id)? {
            Some(n) => self.mailing_by_number(n),
            None => Ok(None),
        }
    }

    /// The mailing with number `number` (from a VERP token).
    pub fn mailing_by_number(&self, number: u32) -> Result<Option<Mailing>> {
        let key = u32_key(number);
        match self.inner.mailings.get(key)? {
            Some(v) => Ok(Some(decode("mailing", &key, &v)?)),
            None => Ok(None),
        }
    }

    /// Every mailing, in number order (creation order).
    pub fn mailings(&self) -> Result<Vec<Mailing>> {
        let mut out = Vec::new();
        for kv in self.inner.mailings.iter() {
            let (k, v) = kv?;
            out.push(decode("mailing", &k, &v)?);
        }
        Ok(out)
    }

    /// Changes the mailing `id` with `change` atomically (compare-and-swap; `change` may run
    /// more than once under contention, so keep it free of side effects). `id` and `number`
    /// cannot change; a state change must follow [`mailing_transition_allowed`]. Entering
    /// `sending` / `sent` stamps `send_started` / `finished` when the change did not set them.
    pub fn update_mailing(
        &self,
        id: &str,
        mut change: impl FnMut(&mut Mailing),
    ) -> Result<Mailing> {
        let number = self
            .mailing_number(id)?
            .ok_or_else(|| StoreError::UnknownMailing(id.to_string()))?;
        let key = u32_key(number);
        loop {
            let old_bytes = self
                .inner
                .mailings
                .get(key)?
                .ok_or_else(|| corrupt("mailing", &key, "id index points to no mailing"))?;
            let old: Mailing = decode("mailing", &key, &old_bytes)?;
            let mut new = old.clone();
            change(&mut new);
            new.id = old.id.clone();
            new.number = old.number;
            if !mailing_transition_allowed(old.state, new.state) {
                return Err(StoreError::MailingStateChange {
                    id: id.to_string(),
                    from: old.state,
                    to: new.state,
                });
            }
            if old.state != new.state {
                match new.state {
                    MailingState::Sending if new.send_started.is_none() => {
                        new.send_started = Some(now_ms())
                    }
                    MailingState::Sent if new.finished.is_none() => new.finished = Some(now_ms()),
                    _ => {}
                }
            }
            let swapped =
                self.inner
                    .mailings
                    .compare_and_swap(key, Some(old_bytes), Some(encode(&new)))?;
            if swapped.is_ok() {
                return Ok(new);
            }
        }
    }

    /// Moves mailing `id` to `state` (see [`Store::update_mailing`]).
    pub fn set_mailing_state(&self, id: &str, state: MailingState) -> Result<Mailing> {
        self.update_mailing(id, |m| m.state = state)
    }
}

/// Unwraps a transaction result whose abort error is a [`StoreError`].
pub(crate) fn tx_result<T>(r: Result<T, TransactionError<StoreError>>) -> Result<T> {
    match r {
        Ok(v) => Ok(v),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MailingState::*;

    #[test]
    fn life_cycle_is_draft_sending_sent() {
        assert!(mailing_transition_allowed(Draft, Sending));
        assert!(mailing_transition_allowed(Sending, Sent));
        assert!(!mailing_transition_allowed(Draft, Sent));
        assert!(!mailing_transition_allowed(Sent, Draft));
        assert!(!mailing_transition_allowed(Sent, Sending));
        assert!(!mailing_transition_allowed(Sending, Draft));
    }
}
