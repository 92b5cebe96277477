//! A pragmatic syntax check for recipient addresses.
//!
//! We accept what mail servers deliver to in practice (`local@domain.tld`, internationalised
//! domain labels included) and refuse what a CRM field typically gets wrong: missing `@`,
//! spaces, two addresses in one field, a trailing dot, a domain without a dot.

/// True when `addr` (already trimmed) looks like a deliverable address.
pub fn is_valid(addr: &str) -> bool {
    if addr.len() > 254 {
        return false;
    }
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    valid_local(local) && valid_domain(domain)
}

fn valid_local(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| !c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn accepts_real_addresses() {
        for a in [
            "max.mustermann@example.de",
            "info+news@remote.test",
            "o'brien@example.ie",
            "jürgen@müller-bau.de",
            "a@b.co",
        ] {
            assert!(is_valid(a), "{a}");
        }
    }

    #[test]
    fn refuses_typical_crm_mistakes() {
        for a in [
            "",
            "keine-angabe",
            "max@",
            "@example.de",
            "max mustermann@example.de",
            "max@example",
            "max@example.de.",
            "max@@example.de",
            "a@b.de; c@d.de",
            "max..m@example.de",
            ".max@example.de",
            "max@-example.de",
            "max@192.168.0.1",
            "<max@example.de>",
        ] {
            assert!(!is_valid(a), "{a}");
        }
    }
}
