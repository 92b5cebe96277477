//! Who the messages of a mailing say they are from, envelope-wise: the signed VERP bounce
//! address (`local+TOKEN@domain`), the DSN envelope id and the Message-ID made from the token.
use crate::envelope::Envelope;
use mm_domain::{VerpKey, VerpToken};

/// The bounce identity: HMAC key, local part and domain of the VERP addresses (the daemon's
/// `[bounce]` settings).
#[derive(Debug, Clone)]
pub struct Verp {
    /// The HMAC key that signs tokens.
    pub key: VerpKey,
    /// Local part before `+token`, e.g. `bounce`.
    pub local_part: String,
    /// Domain of the bounce addresses and Message-IDs, e.g. `bounces.example.com`.
    pub domain: String,
}

/// The identifiers of one message to one recipient.
#[derive(Debug, Clone)]
pub struct Addressed {
    /// The signed token.
    pub token: VerpToken,
    /// The envelope: `local+token@domain` → recipient, `ENVID` = token.
    pub envelope: Envelope,
    /// The Message-ID without angle brackets: `token@domain`.
    pub message_id: String,
}

impl Verp {
    /// Signs a token for recipient `row` of mailing `number` and builds its envelope.
    pub fn address(&self, number: u32, row: u32, recipient: &str) -> Addressed {
        let token = self.key.sign(number, row);
        Addressed {
            envelope: Envelope {
                sender: token.address(&self.local_part, &self.domain),
                recipient: recipient.to_string(),
                envid: Some(token.to_string()),
            },
            message_id: token.message_id(&self.domain),
            token,
        }
    }

    /// The plain bounce address without a token (`local@domain`), for test mail: a bounce of
    /// a test message must not be attributed to a recipient.
    pub fn plain_sender(&self) -> String {
        format!("{}@{}", self.local_part, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_sender_carries_a_verifiable_token() {
        let verp = Verp {
            key: VerpKey::from_bytes(&[7; 32]),
            local_part: "bounce".into(),
            domain: "bounces.test".into(),
        };
        let a = verp.address(3, 41, "anna@example.org");
        let token = VerpToken::from_address(&a.envelope.sender, "bounce").unwrap();
        assert!(verp.key.verify(&token));
        assert_eq!((token.mailing, token.recipient), (3, 41));
        assert!(a.envelope.sender.ends_with("@bounces.test"));
        assert_eq!(
            a.envelope.envid.as_deref(),
            Some(token.to_string().as_str())
        );
        assert_eq!(a.message_id, format!("{token}@bounces.test"));
        assert_eq!(a.envelope.recipient, "anna@example.org");
    }
}
