//! A per-test state directory that Postfix can use.
//!
//! Created with `tempfile` under `$TMPDIR` (or `MM_TEST_TMPDIR`) and made mode 0755 so that the
//! `postfix` user can traverse it. Removed on drop, unless `MM_KEEP_TEST_DIRS` asks to keep it:
//! `MM_KEEP_TEST_DIRS=1` keeps the directories of failing (panicking) tests,
//! `MM_KEEP_TEST_DIRS=always` keeps every one. A kept directory's path is printed to stderr.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{HarnessError, Result};

/// Environment variable controlling whether test directories survive the test.
pub const KEEP_ENV: &str = "MM_KEEP_TEST_DIRS";

/// Environment variable overriding where test directories are created.
pub const TMPDIR_ENV: &str = "MM_TEST_TMPDIR";

/// A temporary directory owned by one test (see the module docs for when it is kept).
#[derive(Debug)]
pub struct TestDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TestDir {
    /// Creates `mm-<name>-XXXXXX` with mode 0755.
    pub fn new(name: &str) -> Result<Self> {
        let mut builder = tempfile::Builder::new();
        let prefix = format!("mm-{}-", sanitize(name));
        builder.prefix(&prefix);
        let dir = match std::env::var_os(TMPDIR_ENV) {
            Some(base) => builder.tempdir_in(base),
            None => builder.tempdir(),
        }
        .map_err(|e| HarnessError::io("create a temporary test directory", e))?;
        let path = dir.path().to_path_buf();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| HarnessError::io(format!("chmod 755 {}", path.display()), e))?;
        check_traversable(&path)?;
        Ok(TestDir {
            dir: Some(dir),
            path,
        })
    }

    /// Uses an existing or new directory at `path` (mode 0755) that is never removed — for
    /// tools and demos that keep their state.
    pub fn at(path: &Path) -> Result<Self> {
        std::fs::create_dir_all(path)
            .map_err(|e| HarnessError::io(format!("create {}", path.display()), e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| HarnessError::io(format!("chmod 755 {}", path.display()), e))?;
        let path = std::fs::canonicalize(path)
            .map_err(|e| HarnessError::io(format!("resolve {}", path.display()), e))?;
        check_traversable(&path)?;
        Ok(TestDir { dir: None, path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates (if needed) and returns a subdirectory with mode 0755.
    pub fn subdir(&self, name: &str) -> Result<PathBuf> {
        let path = self.path.join(name);
        std::fs::create_dir_all(&path)
            .map_err(|e| HarnessError::io(format!("create {}", path.display()), e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| HarnessError::io(format!("chmod 755 {}", path.display()), e))?;
        Ok(path)
    }

    /// Keeps the directory after the test regardless of the environment.
    pub fn keep(mut self) -> PathBuf {
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
        self.path.clone()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let keep = match std::env::var(KEEP_ENV).as_deref() {
            Ok("always") => true,
            Ok("") | Ok("0") | Err(_) => false,
            Ok(_) => std::thread::panicking(),
        };
        if let Some(dir) = self.dir.take() {
            if keep {
                let _ = dir.keep();
                eprintln!("mm-tests: kept test directory {}", self.path.display());
            } else if std::thread::panicking() {
                eprintln!(
                    "mm-tests: removing {} (set {KEEP_ENV}=1 to keep the directories of failing tests)",
                    self.path.display()
                );
            }
        }
    }
}

/// Postfix's daemons run as user `postfix` and must reach the state directory: every
/// ancestor needs the execute bit for others (a `$TMPDIR` under `/root` would not do).
fn check_traversable(path: &Path) -> Result<()> {
    for ancestor in path.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(ancestor) else {
            continue;
        };
        if meta.permissions().mode() & 0o001 == 0 {
            return Err(HarnessError::io(
                format!("test directory {}", path.display()),
                std::io::Error::other(format!(
                    "{} is not traversable by other users (mode {:o}), so Postfix's user \
                     cannot reach its queue; set {TMPDIR_ENV}=/tmp",
                    ancestor.display(),
                    meta.permissions().mode() & 0o7777
                )),
            ));
        }
    }
    Ok(())
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untraversable_parent_is_refused_with_advice() {
        let base = tempfile::tempdir().expect("base");
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let inner = base.path().join("x");
        std::fs::create_dir(&inner).expect("mkdir");
        let err = check_traversable(&inner).unwrap_err();
        assert!(err.to_string().contains(TMPDIR_ENV), "{err}");
    }

    #[test]
    fn directory_is_traversable_and_removed() {
        let dir = TestDir::new("unit/x").expect("dir");
        let path = dir.path().to_path_buf();
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("mm-unit_x-"));
        let sub = dir.subdir("a/b").expect("subdir");
        assert!(sub.is_dir());
        drop(dir);
        assert!(!path.exists());
    }
}
