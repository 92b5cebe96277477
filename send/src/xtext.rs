//! xtext (RFC 3461 §4): how addresses travel in `ORCPT=` and `ENVID=` parameters.

/// Encodes `s` as xtext: every byte outside `!`..=`~`, and `+` and `=`, becomes `+HH`
/// (uppercase hex).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn plain_addresses_pass_through() {
        assert_eq!(encode("anna@example.com"), "anna@example.com");
    }

    #[test]
    fn plus_equals_space_and_non_ascii_are_hex_escaped() {
        // Examples worked by hand from RFC 3461 §4: '+' is 0x2B, '=' 0x3D, ' ' 0x20.
        assert_eq!(encode("a+b@x.org"), "a+2Bb@x.org");
        assert_eq!(encode("a=b c@x.org"), "a+3Db+20c@x.org");
        // "é" is C3 A9 in UTF-8.
        assert_eq!(encode("é@x.org"), "+C3+A9@x.org");
        assert_eq!(encode("\u{7f}"), "+7F");
    }
}
