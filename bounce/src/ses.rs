//! Amazon SES notifications delivered by mail (SNS e-mail subscriptions): a JSON document,
//! possibly wrapped in an SNS envelope whose `Message` field holds the SES JSON as a string.
use serde_json::Value;

/// One recipient from an SES notification.
#[derive(Debug, Clone, Default)]
pub struct SesRecipient {
    /// `emailAddress`.
    pub address: String,
    /// `action`.
    pub action: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `diagnosticCode`, without `smtp;`.
    pub diagnostic: Option<String>,
}

/// What the notification says.
#[derive(Debug, Clone)]
pub enum Ses {
    /// `Bounce` (permanent or transient).
    Bounce {
        /// `bounceType == "Permanent"`.
        permanent: bool,
        /// `bounceSubType` (`General`, `NoEmail`, `Suppressed`, `MailboxFull`, ...).
        sub_type: String,
        /// Bounced recipients.
        recipients: Vec<SesRecipient>,
    },
    /// `Complaint`.
    Complaint {
        /// Complained recipients.
        recipients: Vec<String>,
        /// `complaintFeedbackType`.
        feedback_type: Option<String>,
    },
    /// `Delivery`.
    Delivery {
        /// Delivered recipients.
        recipients: Vec<String>,
        /// `smtpResponse`.
        response: Option<String>,
    },
}

/// Parses `text` if it is an SES notification.
pub fn parse(text: &str) -> Option<Ses> {
    let t = text.trim();
    if !t.starts_with('{') || !t.contains("notificationType") && !t.contains("eventType") {
        return None;
    }
    // Long lines may have been broken by a mail system; JSON has no raw newlines in strings.
    // Only the first JSON value counts: SNS appends an unsubscribe footer after it.
    let first = |s: &str| -> Option<Value> {
        serde_json::Deserializer::from_str(s)
            .into_iter::<Value>()
            .next()?
            .ok()
    };
    let mut v: Value = match first(t) {
        Some(v) => v,
        None => first(&t.replace(['\r', '\n'], ""))?,
    };
    if let Some(inner) = v.get("Message").and_then(Value::as_str) {
        v = serde_json::from_str(inner).ok()?;
    }
    let kind = v
        .get("notificationType")
        .or_else(|| v.get("eventType"))
        .and_then(Value::as_str)?
        .to_ascii_lowercase();
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    match kind.as_str() {
        "bounce" => {
            let b = v.get("bounce")?;
            let recipients = b
                .get("bouncedRecipients")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|r| {
                            Some(SesRecipient {
                                address: crate::scan::clean_address(&s(r, "emailAddress")?)?,
                                action: s(r, "action"),
                                status: s(r, "status"),
                                diagnostic: s(r, "diagnosticCode").map(|d| {
                                    match d.split_once(';') {
                                        Some((ty, rest)) if ty.len() < 8 => rest.trim().to_string(),
                                        _ => d,
                                    }
                                }),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(Ses::Bounce {
                permanent: s(b, "bounceType").is_some_and(|t| t.eq_ignore_ascii_case("permanent")),
                sub_type: s(b, "bounceSubType").unwrap_or_default(),
                recipients,
            })
        }
        "complaint" => {
            let c = v.get("complaint")?;
            let recipients = c
                .get("complainedRecipients")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|r| s(r, "emailAddress")).collect())
                .unwrap_or_default();
            Some(Ses::Complaint {
                recipients,
                feedback_type: s(c, "complaintFeedbackType"),
            })
        }
        "delivery" => {
            let d = v.get("delivery")?;
            let recipients = d
                .get("recipients")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            Some(Ses::Delivery {
                recipients,
                response: s(d, "smtpResponse"),
            })
        }
        _ => None,
    }
}
