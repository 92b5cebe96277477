//! Customer-record documents (SPEC §8) and the CSV exports (SPEC §9).
//!
//! After a mailing is sent, one document of type `mailing` per customer lists that customer's
//! contacts the mailing went to and their current status; it is kept in the store (served by
//! the API) and written as JSON to `DATA/documents/<customer>/<mailing-id>.json`. When a report
//! changes a contact's status later, that customer's document is rewritten. No documents when
//! the mailing says `documents = false` or its report has no customer-id column.
use crate::app::App;
use anyhow::Context;
use mm_domain::RecipientStatus;
use mm_store::{CustomerDocument, DocumentContact, Recipient, MAILING_DOCUMENT};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Writes the documents of sent mailing `id`; returns how many customers got one.
pub fn write_for_mailing(app: &App, id: &str) -> anyhow::Result<usize> {
    let store = app.store();
    let Some(mailing) = store.mailing(id)? else {
        anyhow::bail!("unknown mailing {id:?}");
    };
    let wanted = app
        .catalog()
        .entry(id)
        .and_then(|e| e.mailing)
        .map(|m| m.spec.documents)
        .unwrap_or(true);
    if !wanted {
        tracing::info!(mailing = id, "no customer documents: `documents = false`");
        return Ok(0);
    }
    let sent = mailing
        .finished
        .or(mailing.send_started)
        .unwrap_or_else(mm_store::now_ms);
    let mut customers = BTreeSet::new();
    for r in store.recipients(mailing.number) {
        let r = r?;
        let Some(customer) = r.customer_id.clone().filter(|c| !c.trim().is_empty()) else {
            continue;
        };
        if !r.send {
            continue;
        }
        let mut doc = if customers.contains(&customer) {
            store
                .document(&customer, MAILING_DOCUMENT, id)?
                .unwrap_or_else(|| new_doc(&r, &mailing, sent))
        } else {
            new_doc(&r, &mailing, sent)
        };
        doc.contacts.push(contact(&r));
        store.put_document(&doc)?;
        customers.insert(customer);
    }
    store.flush()?;
    if customers.is_empty() {
        tracing::info!(
            mailing = id,
            "no customer documents: the report has no customer-id column (or nobody was sent to)"
        );
        return Ok(0);
    }
    for customer in &customers {
        if let Some(doc) = store.document(customer, MAILING_DOCUMENT, id)? {
            write_file(app, &doc)?;
        }
    }
    tracing::info!(
        mailing = id,
        customers = customers.len(),
        "customer documents written"
    );
    Ok(customers.len())
}

fn new_doc(r: &Recipient, m: &mm_store::Mailing, sent: u64) -> CustomerDocument {
    CustomerDocument {
        doc_type: MAILING_DOCUMENT.to_string(),
        customer_id: r.customer_id.clone().unwrap_or_default(),
        customer_name: r.customer_name.clone(),
        mailing_id: m.id.clone(),
        title: m.title.clone(),
        sent,
        contacts: Vec::new(),
    }
}

fn contact(r: &Recipient) -> DocumentContact {
    DocumentContact {
        email: r.email.clone(),
        contact_id: r.contact_id.clone(),
        status: r.status,
        reason: r.reason,
    }
}

/// Brings `customer`'s document of mailing `number` up to the contacts' current statuses
/// (after a report). Does nothing when the mailing has no such document.
pub fn refresh_customer(app: &App, number: u32, customer: &str) -> anyhow::Result<()> {
    let store = app.store();
    let Some(mailing) = store.mailing_by_number(number)? else {
        return Ok(());
    };
    let Some(mut doc) = store.document(customer, MAILING_DOCUMENT, &mailing.id)? else {
        return Ok(());
    };
    for c in &mut doc.contacts {
        for row in store.rows_by_email(number, &c.email)? {
            if let Some(r) = store.recipient(number, row)? {
                if r.customer_id.as_deref() == Some(customer) && r.send {
                    c.status = r.status;
                    c.reason = r.reason;
                }
            }
        }
    }
    store.put_document(&doc)?;
    store.flush()?;
    write_file(app, &doc)
}

/// A customer id as a folder name: path separators and leading dots replaced.
fn safe_name(s: &str) -> String {
    let mut out: String = s
        .trim()
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if out.starts_with('.') || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

/// `DATA/documents/<customer>/<mailing-id>.json`
pub fn document_path(app: &App, customer: &str, mailing_id: &str) -> PathBuf {
    app.config()
        .documents_dir()
        .join(safe_name(customer))
        .join(format!("{}.json", safe_name(mailing_id)))
}

fn write_file(app: &App, doc: &CustomerDocument) -> anyhow::Result<()> {
    let path = document_path(app, &doc.customer_id, &doc.mailing_id);
    let dir = path.parent().context("document path has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("doc")
    ));
    let mut json = serde_json::to_vec_pretty(doc)?;
    json.push(b'\n');
    std::fs::write(&tmp, json).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The recipients CSV (SPEC §9): customer, e-mail, send, status, reason, status code,
/// diagnostic. `reason` is the skip reason for unsent rows and the bounce reason otherwise.
pub fn recipients_csv(app: &App, number: u32) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "customer",
        "email",
        "send",
        "status",
        "reason",
        "status_code",
        "diagnostic",
    ])?;
    for r in app.store().recipients(number) {
        let r = r?;
        let reason = match (r.skip_reason, r.reason) {
            (Some(s), _) if r.status == RecipientStatus::Excluded => s.to_string(),
            (_, Some(b)) => b.to_string(),
            (Some(s), None) => s.to_string(),
            (None, None) => String::new(),
        };
        let diagnostic = r.diagnostic.clone().or_else(|| {
            matches!(
                r.status,
                RecipientStatus::Rejected | RecipientStatus::Failed
            )
            .then(|| r.smtp_reply.clone())
            .flatten()
        });
        w.write_record([
            r.customer_id.as_deref().unwrap_or(""),
            r.email.as_str(),
            if r.send { "true" } else { "false" },
            r.status.as_str(),
            reason.as_str(),
            r.status_code.as_deref().unwrap_or(""),
            diagnostic.as_deref().unwrap_or(""),
        ])?;
    }
    Ok(w.into_inner()?)
}

/// The bounce log as CSV: the addresses to correct in the CRM.
pub fn bounces_csv(app: &App, hard_only: bool) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "email",
        "mailing",
        "customer",
        "contact",
        "reason",
        "status_code",
        "hard",
        "diagnostic",
    ])?;
    for b in app.store().bounces(hard_only) {
        let b = b?;
        w.write_record([
            b.address.as_str(),
            b.mailing.as_str(),
            b.customer_id.as_deref().unwrap_or(""),
            b.contact_id.as_deref().unwrap_or(""),
            b.reason.map(|r| r.as_str()).unwrap_or(""),
            b.status_code.as_deref().unwrap_or(""),
            if b.hard { "true" } else { "false" },
            b.diagnostic.as_deref().unwrap_or(""),
        ])?;
    }
    Ok(w.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_cannot_escape_the_documents_folder() {
        assert_eq!(safe_name("K-1001"), "K-1001");
        assert_eq!(safe_name("../etc"), "_.._etc");
        assert_eq!(safe_name("a/b"), "a_b");
        assert_eq!(safe_name(""), "_");
    }
}
