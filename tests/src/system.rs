//! Facts about the machine the tests run on: where the Postfix tools are, who we run as,
//! and the uid of the `postfix` user.

use std::path::{Path, PathBuf};

use crate::error::{HarnessError, Result};

/// The Postfix control program.
pub const POSTFIX: &str = "/usr/sbin/postfix";
/// Postfix's configuration tool.
pub const POSTCONF: &str = "/usr/sbin/postconf";
/// Postfix's queue tool.
pub const POSTQUEUE: &str = "/usr/sbin/postqueue";
/// Postfix's sendmail-compatible submission program.
pub const SENDMAIL: &str = "/usr/sbin/sendmail";
/// The test SMTP server that ships with Postfix.
pub const SMTP_SINK: &str = "/usr/sbin/smtp-sink";
/// The test SMTP client that ships with Postfix.
pub const SMTP_SOURCE: &str = "/usr/sbin/smtp-source";

/// Returns `path` if the program exists, else a [`HarnessError::NotInstalled`] telling the
/// user how to install it.
pub fn require_program(program: &'static str, path: &str) -> Result<PathBuf> {
    let p = Path::new(path);
    if p.is_file() {
        Ok(p.to_path_buf())
    } else {
        Err(HarnessError::NotInstalled {
            program,
            path: p.to_path_buf(),
        })
    }
}

/// Finds a program on `PATH` (for `swaks`, `miltertest`, `promtool`).
pub fn find_on_path(program: &'static str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or(HarnessError::NotInstalled {
            program,
            path: PathBuf::from(format!("$PATH/{program}")),
        })
}

/// The effective uid of this process (from `/proc/self/status`).
pub fn effective_uid() -> Result<u32> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| HarnessError::io("read /proc/self/status", e))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| HarnessError::Parse {
            path: "/proc/self/status".into(),
            reason: "no effective uid in the Uid: line".into(),
        })
}

/// Fails with [`HarnessError::NotRoot`] unless we run as root.
pub fn require_root() -> Result<()> {
    match effective_uid()? {
        0 => Ok(()),
        uid => Err(HarnessError::NotRoot { uid }),
    }
}

/// Looks up a user's uid and primary gid in `/etc/passwd`.
pub fn user_ids(user: &str) -> Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| HarnessError::io("read /etc/passwd", e))?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&user))
        .and_then(|fields| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
        .ok_or(HarnessError::NotInstalled {
            program: "the postfix user (from the postfix package)",
            path: "/etc/passwd".into(),
        })
}

/// Whether a process is still alive (and not a zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Runs a command to completion with a deadline, killing it (by its pid) when it overruns.
/// `stdin` is written to the child first when given. Returns the collected output.
pub fn run_with_timeout(
    mut cmd: std::process::Command,
    stdin: Option<&[u8]>,
    timeout: std::time::Duration,
) -> Result<std::process::Output> {
    use std::io::{Read, Write};
    use std::process::Stdio;

    let shown = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| HarnessError::io(format!("spawn {shown}"), e))?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(data)
            .map_err(|e| HarnessError::io(format!("write to {shown}"), e))?;
    }
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HarnessError::Timeout {
                    what: format!("{shown} to finish"),
                    waited: timeout,
                    seen: "killed it".into(),
                });
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => return Err(HarnessError::io(format!("wait for {shown}"), e)),
        }
    };
    Ok(std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_has_a_uid() {
        assert!(process_alive(std::process::id()));
        effective_uid().expect("uid");
    }

    #[test]
    fn missing_program_names_the_install_script() {
        let err = require_program("nothing", "/nonexistent/nothing").unwrap_err();
        assert!(err.to_string().contains("scripts/install-deps.sh"), "{err}");
    }
}
