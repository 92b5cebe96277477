//! [`Postfix`]: one private instance — start, stop (also on drop), queue, log.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use super::maillog::LogDelivery;
use crate::error::{HarnessError, Result};
use crate::registry::Registration;
use crate::system::{process_alive, run_with_timeout, POSTCONF, POSTFIX, POSTQUEUE, SENDMAIL};
use crate::wait::{poll_until, poll_until_async};

/// Postfix stalls its checks when `main.cf` is younger than this.
const FRESH_CONFIG_AGE: Duration = Duration::from_millis(2100);
/// How long any Postfix command (`postfix start`, `postqueue`, `sendmail`) may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stop may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// The queue sub-directories that hold messages.
const QUEUES: [&str; 5] = ["maildrop", "incoming", "active", "deferred", "hold"];

/// A private Postfix instance (see the crate docs); stopped on drop.
#[derive(Debug)]
pub struct Postfix {
    name: String,
    root: PathBuf,
    myhostname: String,
    port: u16,
    running: bool,
    registration: Option<Registration>,
}

impl Postfix {
    pub(super) fn new(name: String, root: PathBuf, myhostname: String, port: u16) -> Self {
        Postfix {
            name,
            root,
            myhostname,
            port,
            running: false,
            registration: None,
        }
    }

    /// The instance name given to the builder.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its `myhostname`.
    pub fn myhostname(&self) -> &str {
        &self.myhostname
    }

    /// The smtpd port on 127.0.0.1.
    pub fn smtpd_port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT` of smtpd.
    pub fn smtpd_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `[127.0.0.1]:PORT`, for another instance's transport map or the daemon's relay setting.
    pub fn next_hop(&self) -> String {
        format!("[127.0.0.1]:{}", self.port)
    }

    /// The state directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The config directory (`postfix -c` argument).
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("etc")
    }

    /// The queue directory.
    pub fn queue_dir(&self) -> PathBuf {
        self.root.join("spool")
    }

    /// The `maillog_file`.
    pub fn maillog_path(&self) -> PathBuf {
        self.root.join("log").join("maillog")
    }

    /// Whether the harness started it and has not stopped it.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Starts a prepared or stopped instance; returns once its master runs with smtpd
    /// listening (about 4 s on a new state directory, 2 s on an existing one). Blocking, but
    /// contacts nobody, so it is harmless inside an async test.
    pub fn start(&mut self) -> Result<()> {
        if self.running {
            return Ok(());
        }
        // Postfix's checks stall for ~2 s on a main.cf younger than that; waiting here costs
        // the same but keeps `postfix start` from timing out in its own way.
        let main_cf = self.config_dir().join("main.cf");
        if let Ok(age) = std::fs::metadata(&main_cf)
            .and_then(|m| m.modified())
            .map(|t| SystemTime::now().duration_since(t).unwrap_or_default())
        {
            if age < FRESH_CONFIG_AGE {
                std::thread::sleep(FRESH_CONFIG_AGE - age);
            }
        }
        // `postfix start` runs `master -w`, which exits 0 only once the master daemon has
        // initialised, listeners bound. So no SMTP probe is needed — and none is made, because
        // a probe would open a session with the milter, which may not be served yet.
        self.postfix_command("start")?;
        self.running = true;
        self.registration = Some(Registration::record(
            "postfix",
            &self.config_dir().display().to_string(),
        ));
        match self.master_pid() {
            Some(pid) if process_alive(pid) => Ok(()),
            _ => Err(HarnessError::Command {
                command: format!("{POSTFIX} -c {} start", self.config_dir().display()),
                status: "exit 0 but no live master".into(),
                output: format!("maillog tail:\n{}", self.log_tail(30)),
            }),
        }
    }

    /// Stops the instance with `postfix -c DIR stop` and waits until its master has exited.
    pub fn stop(&mut self) -> Result<()> {
        if !self.running {
            return Ok(());
        }
        let master = self.master_pid();
        let result = self.postfix_command("stop");
        self.running = false;
        self.registration = None;
        result?;
        if let Some(pid) = master {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while process_alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// Stops (if running) and starts again with the same configuration, queue and port.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.start()
    }

    /// Changes a `main.cf` parameter (`postconf -c DIR -e key=value`); call
    /// [`reload`](Self::reload) for a running instance to pick it up.
    pub fn set_param(&self, key: &str, value: &str) -> Result<()> {
        let mut cmd = Command::new(POSTCONF);
        cmd.arg("-c")
            .arg(self.config_dir())
            .arg("-e")
            .arg(format!("{key}={value}"));
        let output = run_with_timeout(cmd, None, COMMAND_TIMEOUT)?;
        if output.status.success() {
            Ok(())
        } else {
            Err(HarnessError::Command {
                command: format!(
                    "{POSTCONF} -c {} -e {key}={value}",
                    self.config_dir().display()
                ),
                status: output.status.to_string(),
                output: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    }

    /// The value of a `main.cf` parameter as Postfix sees it (`postconf -c DIR -h key`).
    pub fn param(&self, key: &str) -> Result<String> {
        let mut cmd = Command::new(POSTCONF);
        cmd.arg("-c").arg(self.config_dir()).arg("-h").arg(key);
        let output = run_with_timeout(cmd, None, COMMAND_TIMEOUT)?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
        } else {
            Err(HarnessError::Command {
                command: format!("{POSTCONF} -c {} -h {key}", self.config_dir().display()),
                status: output.status.to_string(),
                output: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    }

    /// `postfix -c DIR reload`: a running instance re-reads its configuration.
    pub fn reload(&self) -> Result<()> {
        self.postfix_command("reload")
    }

    /// The pid of the instance's `master` process, if it is running (benchmarks read the CPU
    /// time of its process tree from it).
    pub fn master_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.queue_dir().join("pid").join("master.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    fn postfix_command(&self, action: &str) -> Result<()> {
        let config = self.config_dir();
        let mut cmd = Command::new(POSTFIX);
        cmd.arg("-c").arg(&config).arg(action);
        let output = run_with_timeout(cmd, None, COMMAND_TIMEOUT)?;
        if output.status.success() {
            return Ok(());
        }
        Err(HarnessError::Command {
            command: format!("{POSTFIX} -c {} {action}", config.display()),
            status: output.status.to_string(),
            output: format!(
                "{}{}\nmaillog tail:\n{}",
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout),
                self.log_tail(30)
            ),
        })
    }

    /// The whole maillog (empty if nothing was logged yet).
    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.maillog_path()).unwrap_or_default()
    }

    /// The last `n` lines of the maillog.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.maillog();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Every delivery attempt logged so far, in order.
    pub fn deliveries(&self) -> Vec<LogDelivery> {
        self.maillog()
            .lines()
            .filter_map(LogDelivery::parse)
            .collect()
    }

    /// Waits for the first log line containing `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> Result<String> {
        let what = format!("{:?} in the maillog of {}", needle, self.name);
        poll_until(
            &what,
            timeout,
            || Ok(self.find_line(needle)),
            || self.tail_seen(),
        )
    }

    /// Async twin of [`wait_for_log`](Self::wait_for_log).
    pub async fn wait_for_log_async(&self, needle: &str, timeout: Duration) -> Result<String> {
        let what = format!("{:?} in the maillog of {}", needle, self.name);
        poll_until_async(
            &what,
            timeout,
            || Ok(self.find_line(needle)),
            || self.tail_seen(),
        )
        .await
    }

    /// Waits for a delivery attempt to `recipient` whose status is one of `statuses`
    /// (e.g. `&["bounced"]`, `&["deferred"]`, `&["sent"]`).
    pub fn wait_for_delivery(
        &self,
        recipient: &str,
        statuses: &[&str],
        timeout: Duration,
    ) -> Result<LogDelivery> {
        let what = format!("status {statuses:?} for <{recipient}> in {}", self.name);
        poll_until(
            &what,
            timeout,
            || Ok(self.find_delivery(recipient, statuses)),
            || self.tail_seen(),
        )
    }

    /// Async twin of [`wait_for_delivery`](Self::wait_for_delivery).
    pub async fn wait_for_delivery_async(
        &self,
        recipient: &str,
        statuses: &[&str],
        timeout: Duration,
    ) -> Result<LogDelivery> {
        let what = format!("status {statuses:?} for <{recipient}> in {}", self.name);
        poll_until_async(
            &what,
            timeout,
            || Ok(self.find_delivery(recipient, statuses)),
            || self.tail_seen(),
        )
        .await
    }

    fn find_line(&self, needle: &str) -> Option<String> {
        self.maillog()
            .lines()
            .find(|l| l.contains(needle))
            .map(str::to_string)
    }

    fn find_delivery(&self, recipient: &str, statuses: &[&str]) -> Option<LogDelivery> {
        self.deliveries().into_iter().find(|d| {
            d.to.eq_ignore_ascii_case(recipient) && statuses.iter().any(|s| d.status == *s)
        })
    }

    fn tail_seen(&self) -> String {
        format!("maillog tail of {}:\n{}", self.name, self.log_tail(25))
    }

    /// Number of messages in the queue (maildrop, incoming, active, deferred, hold).
    pub fn queue_size(&self) -> Result<usize> {
        let mut count = 0;
        for queue in QUEUES {
            count += count_files(&self.queue_dir().join(queue))?;
        }
        Ok(count)
    }

    /// Waits until the queue is empty.
    pub fn wait_queue_empty(&self, timeout: Duration) -> Result<()> {
        let what = format!("the queue of {} to empty", self.name);
        poll_until(&what, timeout, || self.queue_empty(), || self.queue_seen())
    }

    /// Async twin of [`wait_queue_empty`](Self::wait_queue_empty).
    pub async fn wait_queue_empty_async(&self, timeout: Duration) -> Result<()> {
        let what = format!("the queue of {} to empty", self.name);
        poll_until_async(&what, timeout, || self.queue_empty(), || self.queue_seen()).await
    }

    fn queue_empty(&self) -> Result<Option<()>> {
        Ok((self.queue_size()? == 0).then_some(()))
    }

    fn queue_seen(&self) -> String {
        format!(
            "queue:\n{}\n{}",
            self.postqueue("-p").unwrap_or_else(|e| e.to_string()),
            self.tail_seen()
        )
    }

    /// Runs `postqueue -c DIR <flag>` (`-p` lists the queue, `-f` retries deferred mail now)
    /// and returns its output.
    pub fn postqueue(&self, flag: &str) -> Result<String> {
        let mut cmd = Command::new(POSTQUEUE);
        cmd.arg("-c").arg(self.config_dir()).arg(flag);
        let output = run_with_timeout(cmd, None, COMMAND_TIMEOUT)?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if output.status.success() {
            Ok(text)
        } else {
            Err(HarnessError::Command {
                command: format!("{POSTQUEUE} -c {} {flag}", self.config_dir().display()),
                status: output.status.to_string(),
                output: text,
            })
        }
    }

    /// Submits a message through Postfix's `sendmail -C DIR` (the local, non-SMTP path that
    /// `non_smtpd_milters` sees). `args` are extra sendmail options, e.g. `["-N", "failure"]`.
    pub fn sendmail(
        &self,
        from: &str,
        recipients: &[&str],
        args: &[&str],
        data: &[u8],
    ) -> Result<()> {
        let mut cmd = Command::new(SENDMAIL);
        cmd.arg("-C")
            .arg(self.config_dir())
            .arg("-f")
            .arg(from)
            .args(args)
            .arg("--")
            .args(recipients);
        let output = run_with_timeout(cmd, Some(data), COMMAND_TIMEOUT)?;
        if output.status.success() {
            Ok(())
        } else {
            Err(HarnessError::Command {
                command: format!("{SENDMAIL} -C {} -f {from} …", self.config_dir().display()),
                status: output.status.to_string(),
                output: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("mm-tests: stopping Postfix {} failed: {e}", self.name);
        }
    }
}

fn count_files(dir: &Path) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(HarnessError::io(format!("list {}", dir.display()), e)),
    };
    let mut count = 0;
    for entry in entries {
        let entry = entry.map_err(|e| HarnessError::io(format!("list {}", dir.display()), e))?;
        let path = entry.path();
        if path.is_dir() {
            count += count_files(&path)?;
        } else {
            count += 1;
        }
    }
    Ok(count)
}
