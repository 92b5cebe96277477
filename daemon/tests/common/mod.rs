//! Starting the real `mailing-manager` binary in a fresh temporary directory with a generated
//! config on free loopback ports, and talking to it over HTTP.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_mailing-manager");

/// A report with 6 rows: a customer block, a duplicate, an invalid address, and 3 sendable.
pub const REPORT: &str = "Kundennummer;Firmenname;Kontakt-ID;Anrede;Nachname;E-Mail;Kundensperre\n\
K1;Alpha GmbH;1;Herr;Albrecht;albrecht@remote.test;\n\
K1;Alpha GmbH;2;Frau;Berger;berger@remote.test;\n\
K2;Beta AG;3;Frau;Conrad;conrad@remote.test;ja\n\
K3;Gamma KG;4;Herr;Dietz;dietz(at)remote.test;\n\
K3;Gamma KG;5;Herr;Dietz;ALBRECHT@remote.test;\n\
K4;Delta OHG;6;Frau;Ernst;ernst@remote.test;\n";

/// A mailing folder's `mailing.toml` using `report`; `subject` may hold merge fields.
pub fn mailing_toml(report: &str, subject: &str) -> String {
    format!(
        "title = \"Test mailing\"\nfrom = \"Sender <news@sender.test>\"\nreport = \"{report}\"\nsubject = \"{subject}\"\n"
    )
}

/// One daemon under test.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub api: String,
    pub milter_port: u16,
    pub child: Option<Child>,
    pub log: PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Daemon {
    /// A temp dir with `data/reports`, `data/mailings` and a config relaying to `relay`.
    pub fn prepare(relay: &str, extra: &str) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("mm-daemon-")
            .tempdir()
            .unwrap();
        let api_port = free_port();
        let milter_port = free_port();
        std::fs::create_dir_all(dir.path().join("data/reports")).unwrap();
        std::fs::create_dir_all(dir.path().join("data/mailings")).unwrap();
        let config = dir.path().join("mm.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = \"data\"\nstate_dir = \"state\"\n{extra}\n[smtp]\nrelay = \"{relay}\"\nretry_delay_secs = 1\ntimeout_secs = 10\n[api]\nlisten = \"127.0.0.1:{api_port}\"\n[milter]\nlisten = \"inet:127.0.0.1:{milter_port}\"\n[watch]\ndebounce_ms = 100\n"
            ),
        )
        .unwrap();
        let log = dir.path().join("daemon.log");
        Daemon {
            config,
            api: format!("http://127.0.0.1:{api_port}"),
            milter_port,
            child: None,
            log,
            dir,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file atomically: a temp file, then rename (as editors and exporters do).
    pub fn write(&self, rel: &str, content: &[u8]) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tmp = path.with_file_name(format!(
            ".{}.tmp",
            path.file_name().unwrap().to_str().unwrap()
        ));
        std::fs::write(&tmp, content).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }

    /// A mailing folder `id` with `mailing.toml` and `body.html`.
    pub fn add_mailing(&self, id: &str, toml: &str, body: &str) {
        self.write(&format!("data/mailings/{id}/body.html"), body.as_bytes());
        self.write(&format!("data/mailings/{id}/mailing.toml"), toml.as_bytes());
    }

    /// Starts the binary (`run`) and waits until /healthz answers 200.
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env("MAILING_MANAGER_LOG", "info,mailing_manager=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the daemon");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("daemon exited early with {status}:\n{}", self.log_text());
            }
            if let Ok((200, _)) = self.get_raw("/healthz", None) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "daemon not healthy in 30 s:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.path("state/api.token"))
            .unwrap()
            .trim()
            .to_string()
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into()
    }

    /// GET with an optional bearer token → (status, body).
    pub fn get_raw(&self, path: &str, token: Option<&str>) -> Result<(u16, String), ureq::Error> {
        let mut req = Self::agent().get(format!("{}{path}", self.api));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let mut resp = req.call()?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        Ok((status, body))
    }

    /// Authenticated GET.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.get_raw(path, Some(&self.token())).expect("GET")
    }

    /// Authenticated GET that must be 200 and JSON.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// A request with a raw body (`None` = no body) → (status, body).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> (u16, String) {
        let url = format!("{}{path}", self.api);
        let agent = Self::agent();
        let auth = token.map(|t| format!("Bearer {t}"));
        let result = match method {
            "POST" => {
                let mut r = agent.post(&url).header("content-type", "application/json");
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                match body {
                    Some(b) => r.send(b),
                    None => r.send_empty(),
                }
            }
            "PATCH" => {
                let mut r = agent.patch(&url).header("content-type", "application/json");
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                match body {
                    Some(b) => r.send(b),
                    None => r.send_empty(),
                }
            }
            other => panic!("method {other}"),
        };
        let mut resp = result.expect("request");
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    }

    pub fn post(&self, path: &str, body: Option<&str>) -> (u16, String) {
        self.send("POST", path, body, Some(&self.token()))
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        signal(child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("daemon did not stop within 40 s:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls `f` until it returns Some, at most `secs`.
    pub fn wait_for<T>(&self, secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs a CLI command with this config.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("run the CLI")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends a signal to a process we started (by pid).
pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{sig} {pid}");
}

/// The state dir of a daemon (for reading files it wrote).
pub fn state_dir(d: &Daemon) -> &Path {
    d.dir.path()
}
