//! Unticking by hand through the API ("Versenden" off), remembered per mailing and address so
//! that a re-import of the draft's list (the CSV changed) keeps the choice.
use crate::error::{Result, StoreError};
use crate::keys::u32_key;
use crate::recipient::Recipient;
use crate::store::Store;
use mm_domain::{MailingState, SkipReason};

/// `[mailing u32][lowercased address][0xFF]`, the same form as the address index prefix.
fn untick_key(mailing: u32, address: &str) -> Vec<u8> {
    crate::keys::email_prefix(mailing, address)
}

impl Store {
    /// Unticks every ticked row of draft mailing `id` whose address is `address`
    /// (case-insensitive) with reason `unticked`, and remembers the address so that later
    /// imports of the list untick it too. Returns the rows as they are now. Errors:
    /// [`StoreError::NotDraft`] once sending started, [`StoreError::UnknownAddress`] when no
    /// row has the address. NOT flushed.
    pub fn untick_address(&self, id: &str, address: &str) -> Result<Vec<Recipient>> {
        let m = self.draft_number(id, "unticking a recipient")?;
        let rows = self.rows_by_email(m, address)?;
        if rows.is_empty() {
            return Err(StoreError::UnknownAddress {
                mailing: id.to_string(),
                address: address.to_string(),
            });
        }
        self.inner.unticked.insert(untick_key(m, address), &[])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let r = match self.recipient(m, row)? {
                Some(r) if r.send => self.set_send(m, row, false, Some(SkipReason::Unticked))?,
                Some(r) => r,
                None => continue,
            };
            out.push(r);
        }
        Ok(out)
    }

    /// Undoes [`Store::untick_address`]: forgets the address and ticks again the rows of draft
    /// mailing `id` that are unticked by hand (reason `unticked`). Rows excluded for another
    /// reason (block, duplicate, invalid, suppressed) stay excluded. NOT flushed.
    pub fn retick_address(&self, id: &str, address: &str) -> Result<Vec<Recipient>> {
        let m = self.draft_number(id, "ticking a recipient")?;
        let rows = self.rows_by_email(m, address)?;
        if rows.is_empty() {
            return Err(StoreError::UnknownAddress {
                mailing: id.to_string(),
                address: address.to_string(),
            });
        }
        self.inner.unticked.remove(untick_key(m, address))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let r = match self.recipient(m, row)? {
                Some(r) if !r.send && r.skip_reason == Some(SkipReason::Unticked) => {
                    self.set_send(m, row, true, None)?
                }
                Some(r) => r,
                None => continue,
            };
            out.push(r);
        }
        Ok(out)
    }

    /// The addresses unticked by hand in mailing number `mailing` (normalised form).
    pub fn unticked_addresses(&self, mailing: u32) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for kv in self.inner.unticked.scan_prefix(u32_key(mailing)) {
            let (k, _) = kv?;
            let addr = k.get(4..k.len().saturating_sub(1)).unwrap_or_default();
            out.push(String::from_utf8_lossy(addr).into_owned());
        }
        Ok(out)
    }

    /// Whether `address` was unticked by hand in mailing `mailing` (used by the import).
    pub(crate) fn is_unticked(&self, mailing: u32, address: &str) -> Result<bool> {
        Ok(self
            .inner
            .unticked
            .contains_key(untick_key(mailing, address))?)
    }

    /// True when mailing `mailing` has any address unticked by hand.
    pub(crate) fn has_unticked(&self, mailing: u32) -> Result<bool> {
        Ok(self
            .inner
            .unticked
            .scan_prefix(u32_key(mailing))
            .next()
            .transpose()?
            .is_some())
    }

    fn draft_number(&self, id: &str, what: &'static str) -> Result<u32> {
        let m = self
            .mailing(id)?
            .ok_or_else(|| StoreError::UnknownMailing(id.to_string()))?;
        if m.state != MailingState::Draft {
            return Err(StoreError::NotDraft {
                id: id.to_string(),
                state: m.state,
                what,
            });
        }
        Ok(m.number)
    }
}
