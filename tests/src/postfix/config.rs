//! Rendering of an instance's `main.cf` and `master.cf` (the facts in
//! `POSTFIX-NOTES.md`: own directories, `chroot = n`, `maillog_file` with the `postlog`
//! service, no DNS, transport maps with loopback next hops).

use std::fmt::Write as _;
use std::path::Path;

/// `main.cf` parameters in order; a later [`MainCf::set`] of the same key replaces the value in
/// place so the file has each key once.
#[derive(Debug, Clone, Default)]
pub(crate) struct MainCf {
    entries: Vec<(String, String)>,
}

impl MainCf {
    pub(crate) fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::from("# Written by the mm-tests harness (private test instance).\n");
        for (k, v) in &self.entries {
            let _ = writeln!(out, "{k} = {v}");
        }
        out
    }
}

/// The base parameters every private instance gets.
pub(crate) fn base_main_cf(root: &Path, myhostname: &str) -> MainCf {
    let root = root.display();
    let mut cf = MainCf::default();
    for (k, v) in [
        ("compatibility_level", "3.6".to_string()),
        ("config_directory", format!("{root}/etc")),
        ("queue_directory", format!("{root}/spool")),
        ("data_directory", format!("{root}/data")),
        ("mail_owner", "postfix".to_string()),
        ("setgid_group", "postdrop".to_string()),
        // No syslog on these machines: log to a file through postlogd.
        ("maillog_file", format!("{root}/log/maillog")),
        ("maillog_file_prefixes", format!("{root}")),
        ("myhostname", myhostname.to_string()),
        ("mydomain", myhostname.to_string()),
        ("myorigin", "$myhostname".to_string()),
        ("mydestination", String::new()),
        ("relay_domains", String::new()),
        ("inet_interfaces", "127.0.0.1".to_string()),
        ("inet_protocols", "ipv4".to_string()),
        ("mynetworks", "127.0.0.0/8".to_string()),
        // Loopback only, no DNS: every destination comes from the transport map.
        ("transport_maps", format!("texthash:{root}/etc/transport")),
        (
            "default_transport",
            "error:5.4.4 Host or domain name not found (mm-tests routes only listed domains)"
                .to_string(),
        ),
        ("smtp_dns_support_level", "disabled".to_string()),
        ("smtp_host_lookup", "native".to_string()),
        ("smtpd_peername_lookup", "no".to_string()),
        ("smtp_tls_security_level", "none".to_string()),
        ("smtpd_tls_security_level", "none".to_string()),
        (
            "smtpd_relay_restrictions",
            "permit_mynetworks, reject_unauth_destination".to_string(),
        ),
        // Accept at RCPT and let the delivery agents bounce, so reports are generated.
        ("smtpd_reject_unlisted_recipient", "no".to_string()),
        // Mail for the instance's own administrative names goes nowhere (discard.test).
        (
            "alias_maps",
            "inline:{ {postmaster=postmaster@discard.test}, {root=postmaster@discard.test}, \
             {mailer-daemon=postmaster@discard.test} }"
                .to_string(),
        ),
        ("alias_database", String::new()),
        ("notify_classes", String::new()),
        ("biff", "no".to_string()),
        ("append_dot_mydomain", "no".to_string()),
        ("readme_directory", "no".to_string()),
        // Fast test cycles: retry often, give up and bounce within about a minute.
        ("queue_run_delay", "5s".to_string()),
        ("minimal_backoff_time", "5s".to_string()),
        ("maximal_backoff_time", "10s".to_string()),
        ("maximal_queue_lifetime", "60s".to_string()),
        ("bounce_queue_lifetime", "60s".to_string()),
        ("smtp_connect_timeout", "5s".to_string()),
        ("daemon_timeout", "300s".to_string()),
    ] {
        cf.set(k, v);
    }
    cf
}

/// `master.cf`: the Debian services with `chroot = n`, smtpd on `127.0.0.1:port` only.
pub(crate) fn master_cf(smtpd_port: u16, smtpd_options: &[(String, String)]) -> String {
    let mut out = String::from(
        "# Written by the mm-tests harness (private test instance, chroot = n everywhere).\n",
    );
    let _ = writeln!(out, "127.0.0.1:{smtpd_port} inet n - n - - smtpd");
    for (k, v) in smtpd_options {
        let _ = writeln!(out, "  -o {k}={v}");
    }
    out.push_str(
        "pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_set_replaces_in_place() {
        let mut cf = base_main_cf(Path::new("/s"), "a.test");
        cf.set("myhostname", "b.test");
        let text = cf.render();
        assert_eq!(text.matches("myhostname =").count(), 1);
        assert!(text.contains("myhostname = b.test\n"));
        assert_eq!(cf.get("maillog_file"), Some("/s/log/maillog"));
    }

    #[test]
    fn master_cf_never_chroots() {
        let text = master_cf(2525, &[]);
        assert!(text.starts_with("#"));
        assert!(text.contains("127.0.0.1:2525 inet n - n - - smtpd"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let fields: Vec<_> = line.split_whitespace().collect();
            if fields.len() >= 8 {
                assert_eq!(fields[4], "n", "chroot column of {line:?}");
            }
        }
    }
}
