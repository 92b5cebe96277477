//! Customer-record documents (SPEC §8): one per customer and mailing, listing the customer's
//! contacts that the mailing went to and their current status.
use crate::error::Result;
use crate::keys::{decode, encode, push_str, Millis};
use crate::store::Store;
use mm_domain::{BounceReason, RecipientStatus};
use serde::{Deserialize, Serialize};

/// The document type of a mailing record.
pub const MAILING_DOCUMENT: &str = "mailing";

/// A customer-record document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDocument {
    /// Document type; [`MAILING_DOCUMENT`] for mailings.
    #[serde(rename = "type")]
    pub doc_type: String,
    /// Customer id.
    pub customer_id: String,
    /// Customer name.
    pub customer_name: Option<String>,
    /// The mailing id (folder name).
    pub mailing_id: String,
    /// The mailing's title.
    pub title: String,
    /// When the mailing was sent.
    pub sent: Millis,
    /// The customer's contacts the mailing went to.
    pub contacts: Vec<DocumentContact>,
}

/// One contact in a [`CustomerDocument`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentContact {
    /// The address.
    pub email: String,
    /// Contact id.
    pub contact_id: Option<String>,
    /// Delivery status.
    pub status: RecipientStatus,
    /// Bounce reason, if any.
    pub reason: Option<BounceReason>,
}

fn customer_prefix(customer: &str) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, customer);
    k
}

fn type_prefix(customer: &str, doc_type: &str) -> Vec<u8> {
    let mut k = customer_prefix(customer);
    push_str(&mut k, doc_type);
    k
}

fn doc_key(customer: &str, doc_type: &str, mailing: &str) -> Vec<u8> {
    let mut k = type_prefix(customer, doc_type);
    k.extend_from_slice(mailing.as_bytes());
    k
}

impl Store {
    /// Stores `doc`, replacing the one for the same customer, type and mailing.
    /// Key `[len u16][customer][len u16][type][mailing id]`. NOT flushed.
    pub fn put_document(&self, doc: &CustomerDocument) -> Result<()> {
        let key = doc_key(&doc.customer_id, &doc.doc_type, &doc.mailing_id);
        self.inner.documents.insert(key, encode(doc))?;
        Ok(())
    }

    /// The document of `customer` of type `doc_type` for mailing `mailing_id`.
    pub fn document(
        &self,
        customer: &str,
        doc_type: &str,
        mailing_id: &str,
    ) -> Result<Option<CustomerDocument>> {
        let key = doc_key(customer, doc_type, mailing_id);
        match self.inner.documents.get(&key)? {
            Some(v) => Ok(Some(decode("document", &key, &v)?)),
            None => Ok(None),
        }
    }

    /// The documents of `customer`, of type `doc_type` when given.
    pub fn customer_documents(
        &self,
        customer: &str,
        doc_type: Option<&str>,
    ) -> Result<Vec<CustomerDocument>> {
        let prefix = match doc_type {
            Some(t) => type_prefix(customer, t),
            None => customer_prefix(customer),
        };
        let mut out = Vec::new();
        for kv in self.inner.documents.scan_prefix(prefix) {
            let (k, v) = kv?;
            out.push(decode("document", &k, &v)?);
        }
        Ok(out)
    }

    /// Streams every document across customers, of type `doc_type` when given.
    pub fn documents(
        &self,
        doc_type: Option<&str>,
    ) -> impl Iterator<Item = Result<CustomerDocument>> + Send + 'static {
        let doc_type = doc_type.map(str::to_string);
        self.inner.documents.iter().filter_map(move |kv| {
            let doc = kv
                .map_err(Into::into)
                .and_then(|(k, v)| decode::<CustomerDocument>("document", &k, &v));
            match doc {
                Ok(d) if doc_type.as_ref().is_some_and(|t| *t != d.doc_type) => None,
                other => Some(other),
            }
        })
    }
}
