//! Postfix's `smtp-sink` as the fast receiver of the benchmarks: it accepts everything and
//! keeps nothing (no `-d` dumps, unlike the test harness's sink, so the disk is out of the
//! measurement). Started as our child and stopped by its pid.
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs it.
pub const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// A running smtp-sink on a free loopback port.
pub struct Sink {
    child: Child,
    port: u16,
}

impl Sink {
    /// Starts smtp-sink on a free port (backlog 1024) and waits for its greeting.
    pub fn start() -> Result<Sink> {
        let port = mm_tests::free_port()?;
        let mut cmd = Command::new(SMTP_SINK);
        // smtp-sink refuses to run as root without a user to switch to.
        if unsafe { libc::geteuid() } == 0 {
            cmd.args(["-u", "nobody"]);
        }
        let child = cmd
            .args(["-h", "sink.test"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("1024")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("start {SMTP_SINK} (Debian package postfix)"))?;
        let mut sink = Sink { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sink.greets() {
            if let Ok(Some(status)) = sink.child.try_wait() {
                bail!("smtp-sink on port {port} exited: {status}");
            }
            if Instant::now() > deadline {
                bail!("smtp-sink on port {port} did not greet within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(sink)
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A Postfix next hop: `[127.0.0.1]:PORT`.
    pub fn next_hop(&self) -> String {
        format!("[127.0.0.1]:{}", self.port)
    }

    fn greets(&self) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut line = String::new();
        if BufReader::new(&stream).read_line(&mut line).is_err() {
            return false;
        }
        let _ = (&stream).write_all(b"QUIT\r\n");
        line.starts_with("220 ") && line.contains("sink.test")
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // Our own child, by pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
