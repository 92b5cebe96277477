//! The suppression list: addresses later mailings skip (hard bounces, complaints, by hand).
//! Keyed by the normalised (trimmed, lowercased) address, so lookups are case-insensitive.
use crate::error::Result;
use crate::keys::{decode, encode, normalize_address, Millis};
use crate::store::Store;
use mm_domain::BounceReason;
use serde::{Deserialize, Serialize};

/// Why and since when an address is suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The address as first given.
    pub address: String,
    /// Why (`user_unknown`, `feedback` for a complaint, `suppressed` for by hand, ...).
    pub reason: BounceReason,
    /// The mailing whose report caused it, if any.
    pub mailing: Option<String>,
    /// When.
    pub when: Millis,
}

impl Store {
    /// Puts `s.address` on the suppression list (replacing an earlier entry). NOT flushed.
    pub fn suppress(&self, s: &Suppression) -> Result<()> {
        let key = normalize_address(&s.address);
        self.inner.suppressed.insert(key.as_bytes(), encode(s))?;
        Ok(())
    }

    /// Whether `address` is suppressed (case-insensitive, surrounding space ignored).
    pub fn is_suppressed(&self, address: &str) -> Result<bool> {
        Ok(self
            .inner
            .suppressed
            .contains_key(normalize_address(address).as_bytes())?)
    }

    /// The suppression entry of `address`.
    pub fn suppression(&self, address: &str) -> Result<Option<Suppression>> {
        let key = normalize_address(address);
        match self.inner.suppressed.get(key.as_bytes())? {
            Some(v) => Ok(Some(decode("suppression", key.as_bytes(), &v)?)),
            None => Ok(None),
        }
    }

    /// Removes `address` from the list; true when it was there.
    pub fn unsuppress(&self, address: &str) -> Result<bool> {
        Ok(self
            .inner
            .suppressed
            .remove(normalize_address(address).as_bytes())?
            .is_some())
    }

    /// The whole list, sorted by normalised address.
    pub fn suppressions(&self) -> Result<Vec<Suppression>> {
        let mut out = Vec::new();
        for kv in self.inner.suppressed.iter() {
            let (k, v) = kv?;
            out.push(decode("suppression", &k, &v)?);
        }
        Ok(out)
    }
}
