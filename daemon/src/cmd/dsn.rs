//! `mailing-manager dsn parse FILE...` (SPEC §8): classifies each report file and prints one
//! JSON object per line and file — the administrator's "why did this bounce?" tool and the way
//! the classifier is measured against real corpora.
//!
//! The VERP key is read (never created) from the config's `bounce.key_file` when the config
//! loads and the key exists; without it a token's `valid` is `null`.
use crate::config::Config;
use crate::exit;
use mm_bounce::BounceReport;
use mm_domain::VerpKey;
use rustix::fs::{Mode, OFlags};
use serde::Serialize;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The key, if the config loads and the key file exists and is long enough. Never creates it.
fn load_key(config: &Path) -> Option<VerpKey> {
    let cfg = Config::load(config).ok()?;
    let bytes = std::fs::read(&cfg.bounce.key_file).ok()?;
    (bytes.len() >= 32).then(|| VerpKey::from_bytes(&bytes))
}

/// One recipient of the SPEC §8 line (fields in the SPEC's order).
#[derive(Serialize)]
struct Recipient<'a> {
    address: &'a str,
    action: Option<&'a str>,
    status: Option<&'a str>,
    reply_code: Option<u16>,
    reason: &'static str,
    hard: bool,
    diagnostic: Option<&'a str>,
    remote_mta: Option<&'a str>,
}

/// The token of the SPEC §8 line; `valid` is `null` without the key.
#[derive(Serialize)]
struct Token {
    mailing: u32,
    recipient: u32,
    valid: Option<bool>,
}

/// The SPEC §8 line for one report file.
#[derive(Serialize)]
pub struct Line<'a> {
    file: &'a str,
    kind: &'static str,
    recipients: Vec<Recipient<'a>>,
    token: Option<Token>,
}

/// Builds the SPEC §8 line for one report.
pub fn line<'a>(file: &'a str, rep: &'a BounceReport, key: Option<&VerpKey>) -> Line<'a> {
    Line {
        file,
        kind: rep.kind.as_str(),
        recipients: rep
            .recipients
            .iter()
            .map(|r| Recipient {
                address: &r.address,
                action: r.action.as_deref(),
                status: r.status.as_deref(),
                reply_code: r.reply_code,
                reason: r.reason.as_str(),
                hard: r.hard,
                diagnostic: r.diagnostic.as_deref(),
                remote_mta: r.remote_mta.as_deref(),
            })
            .collect(),
        token: rep.tokens.first().map(|t| Token {
            mailing: t.mailing,
            recipient: t.recipient,
            valid: key.map(|k| k.verify(t)),
        }),
    }
}

/// A file's bytes, read into one buffer kept for all files of a run.
struct FileBuf {
    /// Zero-filled up to its length, so that reads go into it without `unsafe`; it only
    /// grows (by doubling), so the zeroing is paid once per size reached, not per file.
    buf: Vec<u8>,
    /// Bytes of the last file read.
    len: usize,
    /// The directory of the last file opened through a handle on it (its path as given,
    /// without the trailing file name), and that handle. See [`FileBuf::open`].
    dir: Option<(Vec<u8>, OwnedFd)>,
}

impl FileBuf {
    /// Large enough for nearly every report at once (the corpus's mean is ~4.4 kB, 31 of its
    /// 416 files are over 8 kB).
    const START: usize = 64 * 1024;

    /// Linux's `PATH_MAX`, the terminating NUL included: the longest path `open` accepts.
    const PATH_MAX: usize = 4096;

    fn new() -> Self {
        FileBuf {
            buf: vec![0; Self::START],
            len: 0,
            dir: None,
        }
    }

    /// Opens `file` for reading, as `File::open` would, but by its last name within a handle
    /// on its directory when it has one: the kernel's walk of an absolute path
    /// (`/work/shared/dsn-corpus/maildir/dos/x.eml` is six lookups) is then paid once per
    /// directory, not once per file, and the administrator's (or the benchmark's) list of
    /// files is mostly runs of files of one directory. The handle is an `O_PATH` one (no read
    /// permission needed on the directory, as for a walk through it) and is kept until a file
    /// of another directory comes; so a directory replaced under the same name in the middle
    /// of a run of its files is still read from the one that was there at the run's first
    /// file, as if the command had been that much quicker.
    ///
    /// Anything else goes the plain way, with `File::open`'s own errors: a path without a `/`
    /// (no walk to save), one whose last component is empty, `.` or `..` (the kernel gives
    /// those a meaning of their own: a trailing `/` asks for a directory), one too long for
    /// `open` (`ENAMETOOLONG` must stay an error, while the short name within its directory
    /// would be found), one with a NUL (no such argument exists, but `File::open` owns its
    /// error), and every path whose directory cannot be opened (so that the error is the one
    /// the path itself gives, be it ENOENT, ENOTDIR, EACCES or ELOOP).
    fn open(&mut self, file: &Path) -> std::io::Result<std::fs::File> {
        let path = file.as_os_str().as_bytes();
        let split = path.iter().rposition(|&b| b == b'/');
        if let Some(slash) = split.filter(|_| path.len() < Self::PATH_MAX && !path.contains(&0)) {
            let (dir, name) = (
                path.get(..slash).unwrap_or_default(),
                path.get(slash + 1..).unwrap_or_default(),
            );
            let dir: &[u8] = if dir.is_empty() { b"/" } else { dir };
            if !matches!(name, b"" | b"." | b"..") {
                if self.dir.as_ref().is_none_or(|(d, _)| d.as_slice() != dir) {
                    self.dir = rustix::fs::open(
                        OsStr::from_bytes(dir),
                        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .ok()
                    .map(|fd| (dir.to_vec(), fd));
                }
                if let Some((_, fd)) = &self.dir {
                    let f = rustix::fs::openat(
                        fd,
                        OsStr::from_bytes(name),
                        OFlags::RDONLY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )?;
                    return Ok(std::fs::File::from(f));
                }
            }
        }
        std::fs::File::open(file)
    }

    /// Reads `file` whole. A read asks for the whole free space of the buffer: `read_to_end`
    /// caps its reads at 8 kB (growing only after a full one), which cost longer reports an
    /// extra system call or two each. The end of file is still the read that returns 0: a
    /// short read is not proof of it for every kind of file (pipes, `/dev/stdin`).
    fn read(&mut self, file: &Path) -> std::io::Result<&[u8]> {
        let mut f = self.open(file)?;
        self.len = 0;
        loop {
            if self.len == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let free = self.buf.get_mut(self.len..).unwrap_or_default();
            match f.read(free) {
                Ok(0) => break,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.buf.get(..self.len).unwrap_or_default())
    }
}

/// Bytes of JSON lines gathered before they are written to stdout.
const OUT_BLOCK: usize = 64 * 1024;

pub fn parse(config: &Path, files: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let key = load_key(config);
    let mut stdout = std::io::stdout().lock();
    // The JSON lines, written out in blocks of ~64 kB (a `BufWriter`'s 8 kB made ~0.1 write
    // per report) and before any error message, so that the two streams stay in file order.
    let mut json = Vec::with_capacity(2 * OUT_BLOCK);
    let mut failed = 0usize;
    // One buffer for all files: a fresh one per report (and `fs::read`'s size query: two more
    // system calls per file) was a measurable part of the cost of short reports.
    let mut raw = FileBuf::new();
    for file in &files {
        // `display` of a UTF-8 path is the path itself; only other paths need a lossy copy.
        let lossy;
        let name = match file.to_str() {
            Some(n) => n,
            None => {
                lossy = file.display().to_string();
                &lossy
            }
        };
        match raw.read(file) {
            Ok(bytes) => {
                let rep = mm_bounce::classify(bytes);
                serde_json::to_writer(&mut json, &line(name, &rep, key.as_ref()))?;
                json.push(b'\n');
                if json.len() >= OUT_BLOCK {
                    stdout.write_all(&json)?;
                    json.clear();
                }
            }
            Err(e) => {
                failed += 1;
                stdout.write_all(&json)?;
                json.clear();
                stdout.flush()?;
                eprintln!("mailing-manager: dsn parse: {name}: {e}");
            }
        }
    }
    stdout.write_all(&json)?;
    stdout.flush()?;
    if failed > 0 {
        return Ok(ExitCode::from(exit::DATAERR));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with_token(token: &str) -> Vec<u8> {
        format!(
            "From: MAILER-DAEMON@mx.test\nTo: bounce+{token}@bounces.test\nSubject: Undelivered Mail Returned to Sender\n\
MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"X\"\n\n\
--X\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.test\n\n\
Final-Recipient: rfc822; z@r.test\nAction: failed\nStatus: 5.1.1\n\n--X--\n"
        )
        .into_bytes()
    }

    #[test]
    fn file_buf_reads_whole_files_of_any_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = FileBuf::new();
        // Empty, short, exactly the buffer, and more than twice the buffer (it grows).
        for len in [0, 5, FileBuf::START, 2 * FileBuf::START + 3, 7] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let path = dir.path().join(format!("r{len}.eml"));
            std::fs::write(&path, &data).unwrap();
            assert_eq!(buf.read(&path).unwrap(), data.as_slice(), "{len}");
        }
        assert!(buf.read(&dir.path().join("missing")).is_err());
    }

    /// What `File::open` plus reading to the end gives for `path`: the bytes, or the error's
    /// OS code — what the command printed before it opened files within their directory.
    fn by_path(path: &Path) -> Result<Vec<u8>, Option<i32>> {
        std::fs::read(path).map_err(|e| e.raw_os_error())
    }

    fn by_buf(buf: &mut FileBuf, path: &Path) -> Result<Vec<u8>, Option<i32>> {
        buf.read(path)
            .map(<[u8]>::to_vec)
            .map_err(|e| e.raw_os_error())
    }

    #[test]
    fn file_buf_opens_as_the_path_would() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        std::fs::write(a.join("1.eml"), b"one").unwrap();
        std::fs::write(a.join("2.eml"), b"two").unwrap();
        std::fs::write(b.join("1.eml"), b"other one").unwrap();
        std::os::unix::fs::symlink(&b, tmp.path().join("link")).unwrap();
        let t = tmp.path().to_str().unwrap();
        // A path longer than PATH_MAX whose directory part alone is not: `open` refuses it,
        // while its last name within a handle on that directory would be found.
        let long = format!(
            "{t}/a{}/1.eml",
            "/.".repeat((FileBuf::PATH_MAX - 4 - t.len()) / 2)
        );
        assert!(long.len() >= FileBuf::PATH_MAX && long.len() - 6 < FileBuf::PATH_MAX);
        let paths = [
            format!("{t}/a/1.eml"),
            format!("{t}/a/2.eml"),
            format!("{t}/b/1.eml"), // another directory: not a/1.eml again
            format!("{t}/a/1.eml"),
            format!("{t}/a/missing.eml"),
            format!("{t}/missing/1.eml"),
            format!("{t}/a/1.eml/x"), // a file as a directory
            format!("{t}/a/1.eml/"),  // a trailing slash asks for a directory
            format!("{t}/a/."),       // a directory: opened, but not readable as a file
            format!("{t}/a/.."),
            format!("{t}/link/1.eml"),
            format!("{t}/a/../b/1.eml"),
            format!("{t}//a//2.eml"),
            format!("{t}/a"),
            long,
            "src/cmd/dsn.rs".to_string(), // relative, to the test's working directory
            "Cargo.toml".to_string(),     // no directory part
            "/".to_string(),
        ];
        let mut buf = FileBuf::new();
        for p in &paths {
            let p = Path::new(p);
            assert_eq!(by_buf(&mut buf, p), by_path(p), "{}", p.display());
        }
        assert_eq!(by_buf(&mut buf, &b.join("1.eml")).unwrap(), b"other one");
        // A file replaced between two reads of its directory's files is read anew.
        std::fs::write(a.join("1.eml"), b"new one").unwrap();
        assert_eq!(by_buf(&mut buf, &a.join("2.eml")).unwrap(), b"two");
        assert_eq!(by_buf(&mut buf, &a.join("1.eml")).unwrap(), b"new one");
    }

    #[test]
    fn file_buf_reads_a_pipe_to_its_end() {
        // A pipe's short read is not its end: the writer sends in two parts with a pause.
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("report.fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, Mode::RUSR | Mode::WUSR).unwrap();
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
                f.write_all(b"first part, ").unwrap();
                f.flush().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(50));
                f.write_all(b"second part").unwrap();
            })
        };
        let mut buf = FileBuf::new();
        assert_eq!(buf.read(&fifo).unwrap(), b"first part, second part");
        writer.join().unwrap();
    }

    #[test]
    fn spec_line_with_and_without_key() {
        let key = VerpKey::from_bytes(&[3u8; 32]);
        let t = key.sign(5, 9);
        let rep = mm_bounce::classify(&report_with_token(&t.to_string()));
        let v: serde_json::Value = serde_json::to_value(line("r.eml", &rep, Some(&key))).unwrap();
        assert_eq!(v["file"], "r.eml");
        assert_eq!(v["kind"], "bounce");
        assert_eq!(v["recipients"][0]["address"], "z@r.test");
        assert_eq!(v["recipients"][0]["status"], "5.1.1");
        assert_eq!(v["recipients"][0]["reason"], "user_unknown");
        assert_eq!(v["recipients"][0]["hard"], true);
        assert_eq!(v["token"]["mailing"], 5);
        assert_eq!(v["token"]["recipient"], 9);
        assert_eq!(v["token"]["valid"], true);
        // Another key: the signature does not verify.
        let other = VerpKey::from_bytes(&[4u8; 32]);
        let v = serde_json::to_value(line("r.eml", &rep, Some(&other))).unwrap();
        assert_eq!(v["token"]["valid"], false);
        // No key: unknown.
        let v = serde_json::to_value(line("r.eml", &rep, None)).unwrap();
        assert!(v["token"]["valid"].is_null());
        // SPEC order of the keys.
        let text = serde_json::to_string(&line("r.eml", &rep, None)).unwrap();
        let pos = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
        assert!(pos("file") < pos("kind") && pos("kind") < pos("recipients"));
        assert!(pos("recipients") < pos("token"));
    }
}
