//! A small real mailing for the dispatch tests and examples: a mailing folder (mailing.toml
//! and body.html with merge fields), a store with its recipients imported and the mailing in
//! state `sending`, the prepared renderer and a VERP identity with a fixed key.
#![allow(dead_code)]

use mm_domain::{MailingState, VerpKey};
use mm_render::{PreparedMailing, RenderOptions};
use mm_send::Verp;
use mm_store::{NewRecipient, Store};
use std::path::{Path, PathBuf};

/// The mailing id (folder name).
pub const ID: &str = "spring";
/// The bounce domain of the VERP addresses.
pub const BOUNCE_DOMAIN: &str = "bounces.test";
/// The store's cache in the tests.
pub const CACHE: u64 = 16 << 20;

/// Report columns: the address, a name and a code that personalise each message.
pub fn columns() -> Vec<String> {
    vec!["email".into(), "Name".into(), "Code".into()]
}

/// The default recipient address of row `i`, spread over three domains.
pub fn address(i: u32) -> String {
    format!("user{i}@dest{}.test", i % 3)
}

/// The row values of recipient `i` with address `email`.
pub fn values(i: u32, email: &str) -> Vec<String> {
    vec![email.to_string(), format!("Name {i}"), format!("C{i:05}")]
}

/// Writes `root/mailings/spring/{mailing.toml, body.html}` and returns the folder.
pub fn write_mailing(root: &Path) -> PathBuf {
    let dir = root.join("mailings").join(ID);
    std::fs::create_dir_all(&dir).expect("mailing dir");
    std::fs::write(
        dir.join("mailing.toml"),
        "title = \"Spring\"\n\
         from = \"News <news@sender.test>\"\n\
         report = \"list.csv\"\n\
         subject = \"Hello [Name]\"\n",
    )
    .expect("mailing.toml");
    std::fs::write(
        dir.join("body.html"),
        "<html><body><p>Dear [Name],</p><p>your code is [Code].</p>\n\
         <p>end of message</p></body></html>\n",
    )
    .expect("body.html");
    dir
}

/// Loads and prepares the mailing in `folder`.
pub fn prepare(folder: &Path) -> PreparedMailing {
    let mailing = mm_mailing::Mailing::load(folder).expect("load mailing");
    PreparedMailing::new(&mailing, &columns(), &RenderOptions::default()).expect("prepare")
}

/// Creates the mailing in `store` with `addresses` (row i gets `values(i, addr)`), moves it
/// to `sending` and flushes. Returns the mailing number.
pub fn setup_store(store: &Store, addresses: impl IntoIterator<Item = String>) -> u32 {
    let m = store.create_mailing(ID).expect("create mailing");
    let rows = addresses
        .into_iter()
        .enumerate()
        .map(|(i, email)| NewRecipient {
            fields: values(i as u32, &email),
            email,
            send: true,
            ..Default::default()
        });
    store.import_recipients(ID, rows).expect("import");
    store
        .update_mailing(ID, |m| m.columns = columns())
        .expect("columns");
    store
        .set_mailing_state(ID, MailingState::Sending)
        .expect("sending");
    store.flush().expect("flush");
    m.number
}

/// The VERP identity with a fixed test key.
pub fn verp() -> Verp {
    Verp {
        key: VerpKey::from_bytes(&[42u8; 32]),
        local_part: "bounce".into(),
        domain: BOUNCE_DOMAIN.into(),
    }
}
