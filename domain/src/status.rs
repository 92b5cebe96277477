//! Recipient and mailing states (SPEC §5).

macro_rules! snake_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The snake_case name used in JSON, CSV and the store.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.as_str()) }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($s => Ok($name::$var),)+ other => Err(format!("unknown {}: {other:?}", stringify!($name))) }
            }
        }
    };
}
pub(crate) use snake_enum;

snake_enum! {
    /// Delivery status of one recipient.
    RecipientStatus {
        /// Not sent to (`send = false`); the skip reason says why.
        Excluded => "excluded",
        /// Waiting to be sent (or to be retried).
        Pending => "pending",
        /// The relay accepted it (250); the queue id is kept.
        Sent => "sent",
        /// A success DSN came back.
        Delivered => "delivered",
        /// A delay DSN came back.
        Delayed => "delayed",
        /// A failure report came back.
        Bounced => "bounced",
        /// The relay refused it with 5xx at SMTP time.
        Rejected => "rejected",
        /// Gave up after retries on 4xx / connection errors.
        Failed => "failed",
        /// An abuse report (ARF) came back.
        Complained => "complained",
    }
}

snake_enum! {
    /// Why a recipient row has `send = false`.
    SkipReason {
        /// The customer has a mailing block: all its contacts are skipped.
        CustomerBlock => "customer_block",
        /// The contact has a mailing block.
        ContactBlock => "contact_block",
        /// Unticked by hand (`exclude` in mailing.toml, or the API).
        Unticked => "unticked",
        /// The address is not a valid e-mail address.
        InvalidAddress => "invalid_address",
        /// The address already appears earlier in the report.
        Duplicate => "duplicate",
        /// The address is on the suppression list (hard bounce or complaint before).
        Suppressed => "suppressed",
    }
}

snake_enum! {
    /// Life cycle of a mailing: draft → sending → sent (frozen).
    MailingState {
        /// Editable; files are (re)loaded when they change.
        Draft => "draft",
        /// Being sent; recipients are frozen.
        Sending => "sending",
        /// Closed: later file edits are reported, not applied.
        Sent => "sent",
    }
}

impl RecipientStatus {
    /// True when the status is final for the sender (nothing left to send).
    pub fn is_settled(self) -> bool {
        !matches!(self, RecipientStatus::Pending)
    }
}
