//! [`SmtpSink`]: Postfix's `smtp-sink` test server on a loopback port, dumping every mail
//! transaction to its own file so tests can read back the envelope and the message.
//!
//! The child is started and stopped by pid (`Drop` kills the child we spawned, never anything
//! found by name). A dump file counts as complete once smtp-sink no longer holds it open (checked
//! in `/proc/<pid>/fd`), so a reader never sees half a message.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::capture::CapturedMessage;
use crate::error::{HarnessError, Result};
use crate::port::free_port;
use crate::registry::Registration;
use crate::system::{effective_uid, process_alive, require_program, SMTP_SINK};
use crate::wait::{poll_until, poll_until_async};

/// How long a sink may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for an [`SmtpSink`].
#[derive(Debug, Clone)]
pub struct SmtpSinkBuilder {
    dir: PathBuf,
    hostname: String,
    port: Option<u16>,
    extra_args: Vec<String>,
}

impl SmtpSinkBuilder {
    /// The greeting host name (default `sink.test`); also used to recognise our own sink.
    pub fn hostname(mut self, hostname: &str) -> Self {
        self.hostname = hostname.to_string();
        self
    }

    /// A fixed port instead of a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Extra smtp-sink options, e.g. `["-N"]` (no DSN), `["-r", "RCPT"]` (4xx every RCPT).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Starts the sink and waits until it answers with its greeting.
    pub fn start(self) -> Result<SmtpSink> {
        require_program("smtp-sink", SMTP_SINK)?;
        let dumps = self.dir.join("dumps");
        std::fs::create_dir_all(&dumps)
            .map_err(|e| HarnessError::io(format!("create {}", dumps.display()), e))?;
        let mut sink = SmtpSink {
            hostname: self.hostname,
            dir: self.dir,
            dumps,
            extra_args: self.extra_args,
            port: 0,
            child: None,
            registration: None,
        };
        // A free port can be taken between choosing and binding it: retry with another one.
        let mut last_err = None;
        for _ in 0..3 {
            sink.port = match self.port {
                Some(p) => p,
                None => free_port()?,
            };
            match sink.spawn() {
                Ok(()) => return Ok(sink),
                Err(e) => last_err = Some(e),
            }
            if self.port.is_some() {
                break;
            }
        }
        Err(last_err.unwrap_or_else(|| {
            HarnessError::io("start smtp-sink", std::io::Error::other("no attempt"))
        }))
    }
}

/// A running `smtp-sink` capturing each message (see the module docs).
#[derive(Debug)]
pub struct SmtpSink {
    hostname: String,
    dir: PathBuf,
    dumps: PathBuf,
    extra_args: Vec<String>,
    port: u16,
    child: Option<Child>,
    registration: Option<Registration>,
}

impl SmtpSink {
    /// Starts a sink with default options, keeping its files under `dir`.
    pub fn start(dir: &Path) -> Result<SmtpSink> {
        Self::builder(dir).start()
    }

    /// Options for a sink keeping its files under `dir`.
    pub fn builder(dir: &Path) -> SmtpSinkBuilder {
        SmtpSinkBuilder {
            dir: dir.to_path_buf(),
            hostname: "sink.test".to_string(),
            port: None,
            extra_args: Vec::new(),
        }
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The next hop for a Postfix transport map: `[127.0.0.1]:PORT`.
    pub fn next_hop(&self) -> String {
        format!("[127.0.0.1]:{}", self.port)
    }

    /// Where the dump files are.
    pub fn dump_dir(&self) -> &Path {
        &self.dumps
    }

    /// The pid of the smtp-sink child, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn spawn(&mut self) -> Result<()> {
        let log_path = self.dir.join("smtp-sink.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| HarnessError::io(format!("open {}", log_path.display()), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| HarnessError::io("duplicate the smtp-sink log handle", e))?;
        let mut cmd = Command::new(SMTP_SINK);
        if effective_uid()? == 0 {
            // smtp-sink insists on a user to switch to when started as root.
            cmd.args(["-u", "root"]);
        }
        let template = format!("{}/%Y%m%d%H%M%S.", self.dumps.display());
        cmd.args(["-h", &self.hostname, "-d", &template])
            .args(&self.extra_args)
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("256")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let mut child = cmd
            .spawn()
            .map_err(|e| HarnessError::io(format!("spawn {SMTP_SINK}"), e))?;
        let pid = child.id();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(HarnessError::Command {
                    command: format!("{SMTP_SINK} … 127.0.0.1:{}", self.port),
                    status: status.to_string(),
                    output: log,
                });
            }
            if self.greets() {
                break;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HarnessError::Timeout {
                    what: format!("smtp-sink on 127.0.0.1:{} to greet", self.port),
                    waited: START_TIMEOUT,
                    seen: std::fs::read_to_string(&log_path).unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.registration = Some(Registration::record("pid", &pid.to_string()));
        self.child = Some(child);
        Ok(())
    }

    /// True when the port answers with *our* greeting (not another program's).
    fn greets(&self) -> bool {
        let Ok(stream) = TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200))
        else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut reader = BufReader::new(&stream);
        let mut greeting = String::new();
        if reader.read_line(&mut greeting).is_err() {
            return false;
        }
        let _ = (&stream).write_all(b"QUIT\r\n");
        greeting.starts_with("220 ") && greeting.contains(&self.hostname)
    }

    /// Stops the sink (kill by the pid we spawned). Captured files stay.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.registration = None;
    }

    /// Starts the sink again on the same port and dump directory (after [`stop`](Self::stop)).
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                // The old socket may linger briefly; try again until the deadline.
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Dump files that smtp-sink has finished writing, oldest first.
    fn complete_files(&self) -> Result<Vec<PathBuf>> {
        let open = match self.child.as_ref().map(Child::id) {
            Some(pid) if process_alive(pid) => open_files(pid),
            _ => HashSet::new(),
        };
        let mut files = Vec::new();
        walk(&self.dumps, &mut files)?;
        files.retain(|f| !open.contains(f));
        let mut with_time: Vec<_> = files
            .into_iter()
            .map(|f| {
                let t = std::fs::metadata(&f).and_then(|m| m.modified()).ok();
                (t, f)
            })
            .collect();
        with_time.sort();
        Ok(with_time.into_iter().map(|(_, f)| f).collect())
    }

    /// Number of complete messages captured so far.
    pub fn count(&self) -> Result<usize> {
        Ok(self.complete_files()?.len())
    }

    /// All complete messages captured so far, oldest first.
    pub fn messages(&self) -> Result<Vec<CapturedMessage>> {
        self.complete_files()?
            .iter()
            .map(|f| CapturedMessage::from_file(f))
            .collect()
    }

    /// Waits until at least `n` messages arrived, then returns all of them.
    pub fn wait_for_messages(&self, n: usize, timeout: Duration) -> Result<Vec<CapturedMessage>> {
        let what = format!("{n} message(s) at smtp-sink {}", self.addr());
        poll_until(&what, timeout, || self.ready(n), || self.seen())
    }

    /// Async twin of [`wait_for_messages`](Self::wait_for_messages).
    pub async fn wait_for_messages_async(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<CapturedMessage>> {
        let what = format!("{n} message(s) at smtp-sink {}", self.addr());
        poll_until_async(&what, timeout, || self.ready(n), || self.seen()).await
    }

    /// Waits for the first message with a recipient equal to `address` (case-insensitive).
    pub fn wait_for_recipient(&self, address: &str, timeout: Duration) -> Result<CapturedMessage> {
        let what = format!("a message to <{address}> at smtp-sink {}", self.addr());
        poll_until(
            &what,
            timeout,
            || self.find_recipient(address),
            || self.seen(),
        )
    }

    /// Async twin of [`wait_for_recipient`](Self::wait_for_recipient).
    pub async fn wait_for_recipient_async(
        &self,
        address: &str,
        timeout: Duration,
    ) -> Result<CapturedMessage> {
        let what = format!("a message to <{address}> at smtp-sink {}", self.addr());
        poll_until_async(
            &what,
            timeout,
            || self.find_recipient(address),
            || self.seen(),
        )
        .await
    }

    fn ready(&self, n: usize) -> Result<Option<Vec<CapturedMessage>>> {
        if self.count()? >= n {
            self.messages().map(Some)
        } else {
            Ok(None)
        }
    }

    fn find_recipient(&self, address: &str) -> Result<Option<CapturedMessage>> {
        Ok(self.messages()?.into_iter().find(|m| {
            m.recipients
                .iter()
                .any(|r| r.address.eq_ignore_ascii_case(address))
        }))
    }

    fn seen(&self) -> String {
        match self.messages() {
            Ok(msgs) => {
                let rcpts: Vec<String> = msgs
                    .iter()
                    .map(|m| format!("<{}> → {:?}", m.mail_from, m.recipient_addresses()))
                    .collect();
                format!("{} message(s) arrived: {}", msgs.len(), rcpts.join("; "))
            }
            Err(e) => format!("cannot read the dumps: {e}"),
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(HarnessError::io(format!("list {}", dir.display()), e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| HarnessError::io(format!("list {}", dir.display()), e))?;
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Paths a process holds open, from `/proc/<pid>/fd`.
fn open_files(pid: u32) -> HashSet<PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}
