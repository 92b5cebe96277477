//! A real `smtp-sink` (Postfix's test server) on a free loopback port, for the sender's
//! tests and examples: started per test, stopped by its pid, with each received transaction
//! dumped to a file so that tests can look at envelopes (MAIL/RCPT arguments) and messages.
#![allow(dead_code)]

pub mod fixture;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// True when smtp-sink is installed; tests print a message and return otherwise.
pub fn have_sink() -> bool {
    if Path::new(SMTP_SINK).exists() {
        true
    } else {
        eprintln!("SKIPPED: {SMTP_SINK} is not installed (Debian package postfix)");
        false
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; the small race is acceptable in tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A running smtp-sink.
pub struct Sink {
    child: Option<Child>,
    pub port: u16,
    /// Dump directory (None when started without dumping).
    pub dir: Option<PathBuf>,
    args: Vec<String>,
    probes: usize,
}

impl Sink {
    /// Starts smtp-sink on `port` with extra `args` (e.g. `["-f", "RCPT"]`). With a `dir`,
    /// every transaction is dumped there (files `m.*`) and stderr goes to `dir/sink.log`.
    pub fn start_on(port: u16, dump: Option<&Path>, args: &[&str]) -> Sink {
        let mut sink = Sink {
            child: None,
            port,
            dir: dump.map(Path::to_path_buf),
            args: args.iter().map(|s| s.to_string()).collect(),
            probes: 0,
        };
        sink.restart();
        sink
    }

    /// Starts smtp-sink on a free port.
    pub fn start(dump: Option<&Path>, args: &[&str]) -> Sink {
        Sink::start_on(free_port(), dump, args)
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// (Re)starts the process on the same port with the same options.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "sink already running");
        let mut cmd = Command::new(SMTP_SINK);
        if is_root() {
            // smtp-sink refuses to run as root without dropping privileges.
            cmd.args(["-u", "nobody"]);
        }
        if let Some(dir) = &self.dir {
            std::fs::create_dir_all(dir).expect("dump dir");
            // smtp-sink writes as `nobody`.
            set_mode(dir, 0o777);
            cmd.arg("-d").arg(format!("{}/m.", dir.display()));
        }
        // With `-v` smtp-sink logs every connection and command to stderr; keep that in
        // DIR/sink.log for `log()`.
        let stderr = match &self.dir {
            Some(dir) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("sink.log"))
                    .expect("sink.log"),
            ),
            None => Stdio::inherit(),
        };
        cmd.args(&self.args)
            .arg(self.addr())
            .arg("256")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let child = cmd.spawn().expect("spawn smtp-sink");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(self.addr()).is_err() {
            assert!(
                Instant::now() < deadline,
                "smtp-sink did not start on {}",
                self.addr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The probe connection above is a session too; `sessions()` leaves it out.
        self.probes += 1;
    }

    /// Stops the process (SIGKILL by pid) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every transaction dumped so far.
    pub fn dumps(&self) -> Vec<Dump> {
        let dir = self.dir.as_ref().expect("sink started without a dump dir");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("read dump dir") {
            let path = entry.expect("dir entry").path();
            let is_dump = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("m."));
            if !is_dump {
                continue;
            }
            let bytes = std::fs::read(&path).expect("read dump");
            if let Some(d) = Dump::parse(&bytes) {
                out.push(d);
            }
        }
        out
    }
}

impl Sink {
    /// Lines smtp-sink logged (start it with `-v` to get connections and commands), each
    /// prefixed with the program path and `: `.
    pub fn log(&self) -> Vec<String> {
        let dir = self.dir.as_ref().expect("sink started without a dir");
        std::fs::read_to_string(dir.join("sink.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// How many SMTP sessions were opened, not counting the start-up probes (needs `-v`).
    pub fn sessions(&self) -> usize {
        let connects = self
            .log()
            .iter()
            .filter(|l| l.contains("smtp-sink: connect ("))
            .count();
        connects - self.probes
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// One transaction as smtp-sink dumped it.
#[derive(Debug, Clone)]
pub struct Dump {
    /// `X-Mail-Args`: `<sender> PARAMS…`
    pub mail_args: String,
    /// `X-Rcpt-Args`, one per RCPT.
    pub rcpt_args: Vec<String>,
    /// The message as received (after smtp-sink's own header block and Received: header),
    /// with the dump's trailing empty line removed.
    pub message: Vec<u8>,
}

impl Dump {
    /// Parses a dump file; `None` for a transaction that never reached the end of data.
    pub fn parse(bytes: &[u8]) -> Option<Dump> {
        let text = bytes;
        let mut mail_args = None;
        let mut rcpt_args = Vec::new();
        let mut pos = 0;
        // smtp-sink's records end with the 3-line Received: header.
        loop {
            let end = text[pos..].iter().position(|&b| b == b'\n')? + pos;
            let line = String::from_utf8_lossy(&text[pos..end])
                .trim_end()
                .to_string();
            pos = end + 1;
            if let Some(v) = line.strip_prefix("X-Mail-Args: ") {
                mail_args = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("X-Rcpt-Args: ") {
                rcpt_args.push(v.to_string());
            } else if line.starts_with("Received: ") {
                for _ in 0..2 {
                    let end = text[pos..].iter().position(|&b| b == b'\n')? + pos;
                    pos = end + 1;
                }
                break;
            }
        }
        let mut message = text[pos..].to_vec();
        // smtp-sink appends an empty line after each message.
        if message.ends_with(b"\n\n") {
            message.pop();
        }
        Some(Dump {
            mail_args: mail_args?,
            rcpt_args,
            message,
        })
    }

    /// The envelope sender (inside the angle brackets of `X-Mail-Args`).
    pub fn sender(&self) -> &str {
        let a = self.mail_args.trim_start_matches('<');
        &a[..a.find('>').unwrap_or(a.len())]
    }

    /// The first envelope recipient.
    pub fn recipient(&self) -> &str {
        let a = self.rcpt_args.first().map(String::as_str).unwrap_or("");
        let a = a.trim_start_matches('<');
        &a[..a.find('>').unwrap_or(a.len())]
    }
}
