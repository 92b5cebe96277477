//! Signed VERP tokens (SPEC §7).
//!
//! A token names a mailing (by the store's numeric mailing number) and a recipient (its row
//! index in the mailing) and carries a truncated HMAC-SHA256 over both, so that a forged report
//! cannot mark anyone bounced.
//!
//! Wire form: 19 bytes — version `1`, mailing number (u32 BE), recipient index (u32 BE),
//! the first 10 bytes of HMAC-SHA256(key, first 9 bytes) — in lowercase base32hex without
//! padding: 31 characters of `[0-9a-v]`. Lowercase base32 survives MTAs that fold the case of
//! local parts (decoding accepts either case), and `bounce+<31 chars>` fits easily in the
//! 64-octet local-part limit of RFC 5321. The same token is the local part of the Message-ID.
use data_encoding::BASE32HEX_NOPAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::io::Write;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const MAC_LEN: usize = 10;
const RAW_LEN: usize = 9 + MAC_LEN;
/// Length of the encoded token in characters.
pub const TOKEN_LEN: usize = 31;

/// Errors loading or creating the VERP key.
#[derive(Debug, thiserror::Error)]
pub enum VerpError {
    /// The key file could not be read or written.
    #[error("VERP key {path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file exists but is too short to be a key.
    #[error("VERP key {path}: too short ({len} bytes, need at least 32)")]
    TooShort {
        /// The key file.
        path: String,
        /// Its length.
        len: usize,
    },
}

/// The secret HMAC key. Cheap to clone.
#[derive(Clone)]
pub struct VerpKey(std::sync::Arc<[u8]>);

impl fmt::Debug for VerpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerpKey(..)")
    }
}

impl VerpKey {
    /// A key from raw bytes (tests, or keys held elsewhere).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        VerpKey(bytes.into())
    }

    /// Reads the key at `path`, or creates a new random 32-byte key there with mode 0600
    /// (creating parent directories) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, VerpError> {
        let err = |source| VerpError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) if bytes.len() >= 32 => Ok(VerpKey(bytes.into())),
            Ok(bytes) => Err(VerpError::TooShort {
                path: path.display().to_string(),
                len: bytes.len(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| err(std::io::Error::other(e.to_string())))?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                write_private(path, &key).map_err(err)?;
                Ok(VerpKey(key.as_slice().into()))
            }
            Err(e) => Err(err(e)),
        }
    }

    fn mac(&self, body: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(body);
        mac
    }

    /// Signs a token for `mailing` (store mailing number) and `recipient` (row index).
    pub fn sign(&self, mailing: u32, recipient: u32) -> VerpToken {
        let mut raw = [0u8; RAW_LEN];
        raw[0] = VERSION;
        raw[1..5].copy_from_slice(&mailing.to_be_bytes());
        raw[5..9].copy_from_slice(&recipient.to_be_bytes());
        let tag = self.mac(&raw[..9]).finalize().into_bytes();
        raw[9..].copy_from_slice(&tag[..MAC_LEN]);
        VerpToken {
            mailing,
            recipient,
            raw,
        }
    }

    /// Verifies the token's signature in constant time.
    pub fn verify(&self, token: &VerpToken) -> bool {
        self.mac(&token.raw[..9])
            .verify_truncated_left(&token.raw[9..])
            .is_ok()
    }
}

/// Writes `bytes` to a new file readable only by its owner.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A decoded (not necessarily verified) VERP token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerpToken {
    /// The store's mailing number.
    pub mailing: u32,
    /// The recipient's row index within the mailing.
    pub recipient: u32,
    raw: [u8; RAW_LEN],
}

impl fmt::Debug for VerpToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VerpToken({}, m={}, r={})",
            self, self.mailing, self.recipient
        )
    }
}

impl fmt::Display for VerpToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&BASE32HEX_NOPAD.encode(&self.raw).to_ascii_lowercase())
    }
}

impl VerpToken {
    /// Decodes a 31-character token (either case). Does not verify the signature.
    pub fn decode(s: &str) -> Option<VerpToken> {
        if s.len() != TOKEN_LEN {
            return None;
        }
        let upper = s.to_ascii_uppercase();
        let bytes = BASE32HEX_NOPAD.decode(upper.as_bytes()).ok()?;
        let raw: [u8; RAW_LEN] = bytes.try_into().ok()?;
        if raw[0] != VERSION {
            return None;
        }
        Some(VerpToken {
            mailing: u32::from_be_bytes(raw[1..5].try_into().ok()?),
            recipient: u32::from_be_bytes(raw[5..9].try_into().ok()?),
            raw,
        })
    }

    /// The envelope sender `local+token@domain`.
    pub fn address(&self, local_part: &str, domain: &str) -> String {
        format!("{local_part}+{self}@{domain}")
    }

    /// The Message-ID (without angle brackets): `token@domain`.
    pub fn message_id(&self, domain: &str) -> String {
        format!("{self}@{domain}")
    }

    /// Finds a token in an address like `bounce+TOKEN@domain` (angle brackets, `rfc822;`
    /// prefixes and case are tolerated). `local_part` is the configured VERP local part.
    pub fn from_address(addr: &str, local_part: &str) -> Option<VerpToken> {
        let addr = addr.rsplit(';').next().unwrap_or(addr).trim();
        let addr = addr.trim_start_matches('<').trim_end_matches('>');
        let (local, _domain) = addr.rsplit_once('@')?;
        let (prefix, token) = local.split_once('+')?;
        if !prefix.eq_ignore_ascii_case(local_part) {
            return None;
        }
        VerpToken::decode(token)
    }

    /// Finds a token in a Message-ID like `<TOKEN@domain>`.
    pub fn from_message_id(mid: &str) -> Option<VerpToken> {
        let mid = mid.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, _) = mid.split_once('@')?;
        VerpToken::decode(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_verify() {
        let key = VerpKey::from_bytes(&[7u8; 32]);
        let t = key.sign(42, 1_000_001);
        let s = t.to_string();
        assert_eq!(s.len(), TOKEN_LEN);
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
        let back = VerpToken::decode(&s).unwrap();
        assert_eq!((back.mailing, back.recipient), (42, 1_000_001));
        assert!(key.verify(&back));
        // Case folding by an MTA does not break it.
        let upper = VerpToken::decode(&s.to_ascii_uppercase()).unwrap();
        assert!(key.verify(&upper));
        let addr = t.address("bounce", "bounces.example.org");
        assert!(addr.split('@').next().unwrap().len() <= 64);
        assert_eq!(
            VerpToken::from_address(&format!("rfc822;<{}>", addr.to_uppercase()), "bounce"),
            Some(t)
        );
        assert_eq!(
            VerpToken::from_message_id(&format!("<{}>", t.message_id("x.org"))),
            Some(t)
        );
    }

    #[test]
    fn forged_or_other_key_fails() {
        let key = VerpKey::from_bytes(&[7u8; 32]);
        let other = VerpKey::from_bytes(&[8u8; 32]);
        let t = key.sign(1, 2);
        assert!(!other.verify(&t));
        // Flip the recipient but keep the MAC: a forgery.
        let mut s: Vec<u8> = t.to_string().into_bytes();
        s[10] = if s[10] == b'0' { b'1' } else { b'0' };
        let forged = VerpToken::decode(std::str::from_utf8(&s).unwrap()).unwrap();
        assert!(!key.verify(&forged));
        assert!(VerpToken::decode("short").is_none());
        assert!(VerpToken::decode("wwwwwwwwwwwwwwwwwwwwwwwwwwwwwww").is_none());
    }

    #[test]
    fn key_file_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/verp.key");
        let a = VerpKey::load_or_create(&path).unwrap();
        let b = VerpKey::load_or_create(&path).unwrap();
        assert!(b.verify(&a.sign(3, 4)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
