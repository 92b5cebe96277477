//! [`PostfixBuilder`]: what a private instance accepts, where it routes, which milter it
//! calls. `start()` writes the files and starts it; `prepare()` only writes them, so several
//! instances can share the ~2 s Postfix waits after a fresh `main.cf`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::config::{base_main_cf, master_cf, MainCf};
use super::instance::Postfix;
use crate::error::{HarnessError, Result};
use crate::port::free_port;
use crate::system::{require_program, require_root, user_ids, POSTFIX};

/// Builds a private Postfix instance in its own state directory (see the crate docs).
#[derive(Debug, Clone)]
pub struct PostfixBuilder {
    name: String,
    root: PathBuf,
    port: Option<u16>,
    myhostname: Option<String>,
    local_domains: Vec<String>,
    relay_domains: Vec<String>,
    transports: Vec<(String, String)>,
    recipient_access: Vec<String>,
    milter: Option<String>,
    settings: Vec<(String, String)>,
    smtpd_options: Vec<(String, String)>,
}

impl PostfixBuilder {
    /// An instance called `name` keeping config, queue, data and log under `dir` (created if
    /// missing; must be traversable by the `postfix` user — a [`TestDir`](crate::TestDir) is).
    pub fn new(name: &str, dir: &Path) -> Self {
        PostfixBuilder {
            name: name.to_string(),
            root: dir.to_path_buf(),
            port: None,
            myhostname: None,
            local_domains: Vec::new(),
            relay_domains: Vec::new(),
            transports: vec![("discard.test".into(), "discard:".into())],
            recipient_access: Vec::new(),
            milter: None,
            settings: Vec::new(),
            smtpd_options: Vec::new(),
        }
    }

    /// The smtpd port on 127.0.0.1 (default: a free port).
    pub fn smtpd_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// `myhostname` (default `<name>.test`); also the greeting the harness waits for.
    pub fn myhostname(mut self, host: &str) -> Self {
        self.myhostname = Some(host.to_string());
        self
    }

    /// Adds a domain delivered by `local(8)` (in `mydestination`). No users exist besides the
    /// system accounts, so `someone@domain` bounces with 5.1.1 "unknown user".
    pub fn local_domain(mut self, domain: &str) -> Self {
        self.local_domains.push(domain.to_string());
        self
    }

    /// Accepts mail for `domain` from any client (`relay_domains`), e.g. on a "remote" MTA.
    pub fn relay_domain(mut self, domain: &str) -> Self {
        self.relay_domains.push(domain.to_string());
        self
    }

    /// Routes `domain` to an SMTP server on loopback: `next_hop` is `[127.0.0.1]:PORT`
    /// (what [`SmtpSink::next_hop`](crate::SmtpSink::next_hop) and
    /// [`Postfix::next_hop`] return).
    pub fn route_smtp(self, domain: &str, next_hop: &str) -> Self {
        let transport = format!("smtp:{next_hop}");
        self.route(domain, &transport)
    }

    /// Routes `domain` with any transport-map value, e.g. `discard:` or `error:5.1.2 …`.
    pub fn route(mut self, domain: &str, transport: &str) -> Self {
        self.transports
            .retain(|(d, _)| !d.eq_ignore_ascii_case(domain));
        self.transports
            .push((domain.to_string(), transport.to_string()));
        self
    }

    /// Makes `domain` fail like a name that does not exist in DNS: an `error:` transport with
    /// `5.4.4 Host or domain name not found`, so Postfix bounces it itself.
    pub fn nxdomain(self, domain: &str) -> Self {
        self.route(
            domain,
            "error:5.4.4 Host or domain name not found. Name service error for name=nxdomain",
        )
    }

    /// `check_recipient_access` lines, e.g. `"unknown@remote.test 550 5.1.1 User unknown"`;
    /// checked at RCPT before anything else.
    pub fn recipient_access<I, S>(mut self, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.recipient_access
            .extend(lines.into_iter().map(Into::into));
        self
    }

    /// Wires a milter the way SPEC §10 says: `smtpd_milters` and `non_smtpd_milters` = `spec`
    /// (e.g. `inet:127.0.0.1:PORT`), `milter_default_action = accept`,
    /// `internal_mail_filter_classes = bounce`, `milter_protocol = 6`.
    pub fn milter(mut self, spec: &str) -> Self {
        self.milter = Some(spec.to_string());
        self
    }

    /// Any `main.cf` parameter; applied after everything else, so it wins.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.to_string(), value.to_string()));
        self
    }

    /// A `-o key=value` for the smtpd service in `master.cf` only.
    pub fn smtpd_option(mut self, key: &str, value: &str) -> Self {
        self.smtpd_options
            .push((key.to_string(), value.to_string()));
        self
    }

    /// Writes the instance's files without starting it.
    pub fn prepare(self) -> Result<Postfix> {
        require_program("postfix", POSTFIX)?;
        require_root()?;
        let port = match self.port {
            Some(p) => p,
            None => free_port()?,
        };
        let host = self
            .myhostname
            .clone()
            .unwrap_or_else(|| format!("{}.test", self.name));
        let root = &self.root;
        let etc = root.join("etc");
        let spool = root.join("spool");
        let data = root.join("data");
        let log = root.join("log");
        for dir in [root, &etc, &spool, &log] {
            make_dir(dir, 0o755)?;
        }
        make_dir(&data, 0o700)?;
        let (uid, gid) = user_ids("postfix")?;
        std::os::unix::fs::chown(&data, Some(uid), Some(gid))
            .map_err(|e| HarnessError::io(format!("chown postfix {}", data.display()), e))?;

        let mut cf: MainCf = base_main_cf(root, &host);
        cf.set("mydestination", self.local_domains.join(", "));
        cf.set("relay_domains", self.relay_domains.join(", "));
        if !self.recipient_access.is_empty() {
            cf.set(
                "smtpd_recipient_restrictions",
                format!(
                    "check_recipient_access texthash:{}/recipient_access, permit_mynetworks, \
                     reject_unauth_destination",
                    etc.display()
                ),
            );
        }
        if let Some(spec) = &self.milter {
            cf.set("smtpd_milters", spec.clone());
            cf.set("non_smtpd_milters", spec.clone());
            cf.set("milter_default_action", "accept");
            cf.set("internal_mail_filter_classes", "bounce");
            cf.set("milter_protocol", "6");
        }
        for (k, v) in &self.settings {
            cf.set(k, v.clone());
        }

        let transport: String = self
            .transports
            .iter()
            .map(|(d, t)| format!("{d} {t}\n"))
            .collect();
        let access: String = self
            .recipient_access
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        write(&etc.join("main.cf"), &cf.render())?;
        write(
            &etc.join("master.cf"),
            &master_cf(port, &self.smtpd_options),
        )?;
        write(&etc.join("transport"), &transport)?;
        write(&etc.join("recipient_access"), &access)?;
        Ok(Postfix::new(self.name, root.clone(), host, port))
    }

    /// Writes the files and starts the instance (see [`Postfix::start`]).
    pub fn start(self) -> Result<Postfix> {
        let mut postfix = self.prepare()?;
        postfix.start()?;
        Ok(postfix)
    }
}

fn make_dir(dir: &Path, mode: u32) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| HarnessError::io(format!("create {}", dir.display()), e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .map_err(|e| HarnessError::io(format!("chmod {mode:o} {}", dir.display()), e))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| HarnessError::io(format!("write {}", path.display()), e))
}
