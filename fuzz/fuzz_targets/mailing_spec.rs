//! Any text as `mailing.toml`, and as a `from` / recipient address: parse errors, never a
//! panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mm_mailing::{address, Mailbox, MailingSpec};

fuzz_target!(|text: &str| {
    let _ = toml::from_str::<MailingSpec>(text);
    if let Some(m) = Mailbox::parse(text) {
        assert!(address::is_valid(&m.address));
    }
    let _ = address::is_valid(text.trim());
});
