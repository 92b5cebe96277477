//! The compact binary form of [`Recipient`] records — the one table that holds millions of
//! rows, where JSON's repeated field names doubled the store's size and its encode/decode time.
//!
//! Layout (version 1): `01`, mailing u32, row u32, then in `Recipient` field order: optional
//! strings (`00` = none, `01` + string), strings (LEB128 length + UTF-8), `send`/`hard` as a
//! flag byte, enums by their snake_case name (as a string, so reordering the enum in
//! `mm-domain` never changes what a stored record means), integers big-endian.
//! Decoding never panics: a short or malformed record is [`StoreError::Corrupt`].
use crate::error::{Result, StoreError};
use crate::keys::hex;
use crate::recipient::Recipient;
use std::str::FromStr;

const VERSION: u8 = 1;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn len(&mut self, mut n: usize) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

type R<T> = std::result::Result<T, &'static str>;

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or("length overflow")?;
        let s = self.bytes.get(self.at..end).ok_or("record too short")?;
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> R<u32> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().map_err(|_| "u32")?,
        ))
    }
    fn u64(&mut self) -> R<u64> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().map_err(|_| "u64")?,
        ))
    }
    fn len(&mut self) -> R<usize> {
        let mut n: usize = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            n |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("length too long")
    }
    fn str(&mut self) -> R<String> {
        let n = self.len()?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| "string is not UTF-8")
    }
    fn opt_str(&mut self) -> R<Option<String>> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.str()?)),
            _ => Err("bad option tag"),
        }
    }
    fn name<T: FromStr>(&mut self) -> R<T> {
        self.str()?.parse().map_err(|_| "unknown enum name")
    }
    fn opt_name<T: FromStr>(&mut self) -> R<Option<T>> {
        self.opt_str()?
            .map(|s| s.parse().map_err(|_| "unknown enum name"))
            .transpose()
    }
}

/// Encodes a recipient record.
pub(crate) fn encode_recipient(r: &Recipient) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(
        64 + r.email.len() + r.fields.iter().map(|f| f.len() + 2).sum::<usize>(),
    ));
    w.u8(VERSION);
    w.u32(r.mailing);
    w.u32(r.row);
    w.opt_str(r.customer_id.as_deref());
    w.opt_str(r.customer_name.as_deref());
    w.opt_str(r.contact_id.as_deref());
    w.str(&r.email);
    w.u8(u8::from(r.send) | (u8::from(r.hard) << 1));
    w.opt_str(r.skip_reason.map(|s| s.as_str()));
    w.len(r.fields.len());
    for f in &r.fields {
        w.str(f);
    }
    w.str(r.status.as_str());
    w.u32(r.attempts);
    w.u64(r.next_attempt);
    w.opt_str(r.queue_id.as_deref());
    w.opt_str(r.smtp_reply.as_deref());
    w.opt_str(r.status_code.as_deref());
    w.opt_str(r.reason.map(|s| s.as_str()));
    w.opt_str(r.diagnostic.as_deref());
    w.opt_str(r.remote_mta.as_deref());
    w.u64(r.updated);
    w.0
}

/// Decodes a recipient record stored under `key`.
pub(crate) fn decode_recipient(key: &[u8], bytes: &[u8]) -> Result<Recipient> {
    read_recipient(bytes).map_err(|detail| StoreError::Corrupt {
        what: "recipient",
        key: hex(key),
        detail: detail.to_string(),
    })
}

fn read_recipient(bytes: &[u8]) -> R<Recipient> {
    let mut r = Reader { bytes, at: 0 };
    if r.u8()? != VERSION {
        return Err("unknown record version");
    }
    let mailing = r.u32()?;
    let row = r.u32()?;
    let customer_id = r.opt_str()?;
    let customer_name = r.opt_str()?;
    let contact_id = r.opt_str()?;
    let email = r.str()?;
    let flags = r.u8()?;
    let skip_reason = r.opt_name()?;
    let n = r.len()?;
    // Each field takes at least one byte: a corrupt count cannot make us allocate wildly.
    if n > bytes.len() {
        return Err("field count exceeds record length");
    }
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        fields.push(r.str()?);
    }
    let rec = Recipient {
        mailing,
        row,
        customer_id,
        customer_name,
        contact_id,
        email,
        send: flags & 1 != 0,
        hard: flags & 2 != 0,
        skip_reason,
        fields,
        status: r.name()?,
        attempts: r.u32()?,
        next_attempt: r.u64()?,
        queue_id: r.opt_str()?,
        smtp_reply: r.opt_str()?,
        status_code: r.opt_str()?,
        reason: r.opt_name()?,
        diagnostic: r.opt_str()?,
        remote_mta: r.opt_str()?,
        updated: r.u64()?,
    };
    if r.at != bytes.len() {
        return Err("trailing bytes");
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm_domain::{BounceReason, RecipientStatus, SkipReason};

    fn full() -> Recipient {
        Recipient {
            mailing: 7,
            row: 1_000_001,
            customer_id: Some("K-1".into()),
            customer_name: Some("Müller & Söhne GmbH".into()),
            contact_id: None,
            email: "grüße@beispiel.de".into(),
            send: false,
            skip_reason: Some(SkipReason::ContactBlock),
            fields: vec!["".into(), "x".repeat(300), "Straße; \"quoted\"\n".into()],
            status: RecipientStatus::Bounced,
            attempts: 3,
            next_attempt: u64::MAX,
            queue_id: Some("4Xyz".into()),
            smtp_reply: Some("250 2.0.0 Ok".into()),
            status_code: Some("5.1.1".into()),
            reason: Some(BounceReason::UserUnknown),
            hard: true,
            diagnostic: Some("smtp; 550".into()),
            remote_mta: None,
            updated: 1_700_000_000_123,
        }
    }

    #[test]
    fn round_trips_every_field() {
        let r = full();
        let bytes = encode_recipient(&r);
        assert_eq!(decode_recipient(b"k", &bytes).unwrap(), r);
        let mut bare = full();
        bare.customer_id = None;
        bare.customer_name = None;
        bare.skip_reason = None;
        bare.fields.clear();
        bare.reason = None;
        bare.send = true;
        bare.hard = false;
        assert_eq!(
            decode_recipient(b"k", &encode_recipient(&bare)).unwrap(),
            bare
        );
    }

    #[test]
    fn is_much_smaller_than_json() {
        let r = full();
        let bin = encode_recipient(&r).len();
        let json = serde_json::to_vec(&r).unwrap().len();
        assert!(bin * 10 < json * 8, "binary {bin} vs JSON {json}");
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let bytes = encode_recipient(&full());
        for cut in 0..bytes.len() {
            assert!(
                decode_recipient(b"k", &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xA5;
            let _ = decode_recipient(b"k", &b); // may decode to something else; must not panic
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode_recipient(b"k", &extra).is_err());
        let err = decode_recipient(&[0xab], &[9]).unwrap_err();
        assert!(err.to_string().contains("recipient"), "{err}");
        assert!(err.to_string().contains("ab"), "{err}");
    }
}
