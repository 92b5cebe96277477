//! The admin API's bearer token: generated with mode 0600 on first start, read by the daemon
//! and by the CLI, compared in constant time.
use anyhow::Context;
use std::path::Path;
use subtle::ConstantTimeEq;

/// The admin token (a 43-character URL-safe string).
#[derive(Clone)]
pub struct AdminToken(String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// Reads the token file, or creates one with a fresh random token (mode 0600) when it
    /// does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match Self::load(path) {
            Ok(t) => Ok(t),
            Err(e)
                if e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
            {
                let mut raw = [0u8; 32];
                getrandom::fill(&mut raw)
                    .map_err(|e| anyhow::anyhow!("no randomness for the admin token: {e}"))?;
                let text = base64url(&raw);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                mm_domain::verp::write_private(path, format!("{text}\n").as_bytes())
                    .with_context(|| format!("writing admin token {}", path.display()))?;
                tracing::info!(file = %path.display(), "generated the admin API token");
                Ok(AdminToken(text))
            }
            Err(e) => Err(e),
        }
    }

    /// A fresh random token kept only in memory (the CLI's in-process mode calls the API
    /// routes directly and needs no file).
    pub fn local() -> Self {
        let mut raw = [0u8; 32];
        // Without randomness the token is still never written anywhere nor reachable over
        // a socket; it only has to match itself.
        let _ = getrandom::fill(&mut raw);
        AdminToken(base64url(&raw))
    }

    /// Reads an existing token file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let text = text.trim();
        if text.len() < 16 {
            anyhow::bail!(
                "admin token {}: too short (at least 16 characters)",
                path.display()
            );
        }
        Ok(AdminToken(text.to_string()))
    }

    /// The token text (for the CLI's `Authorization` header).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks an `Authorization` header value (`Bearer <token>`) in constant time.
    pub fn check_header(&self, header: Option<&str>) -> bool {
        let Some(given) = header.and_then(|h| {
            let (scheme, rest) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        }) else {
            return false;
        };
        // ct_eq on slices of different lengths is false without early exit on content.
        bool::from(given.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_private_reused_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/api.token");
        let a = AdminToken::load_or_create(&path).unwrap();
        let b = AdminToken::load_or_create(&path).unwrap();
        assert_eq!(a.as_str(), b.as_str());
        assert_eq!(a.as_str().len(), 43);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let good = format!("Bearer {}", a.as_str());
        assert!(a.check_header(Some(&good)));
        assert!(a.check_header(Some(&format!("bearer  {} ", a.as_str()))));
        assert!(!a.check_header(None));
        assert!(!a.check_header(Some(a.as_str())));
        assert!(!a.check_header(Some("Bearer ")));
        assert!(!a.check_header(Some(&good[..good.len() - 1])));
        assert!(!a.check_header(Some(&format!("Basic {}", a.as_str()))));
    }

    #[test]
    fn short_token_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.token");
        std::fs::write(&path, "abc\n").unwrap();
        let e = AdminToken::load_or_create(&path).unwrap_err();
        assert!(e.to_string().contains("too short"), "{e}");
    }
}
