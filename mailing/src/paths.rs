//! Keeping every file of a mailing inside its folder.
use std::path::{Component, Path, PathBuf};

/// Why a name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// Absolute, `..`, empty, or a symlink leading out of the folder.
    Outside,
    /// No such file (or not a regular file).
    Missing,
    /// Another I/O error.
    Io(String),
}

/// Resolves `name` (as written in `mailing.toml` or the HTML) inside `dir` and returns the
/// real path of a regular file that lies inside `dir`.
pub fn resolve(dir: &Path, name: &str) -> Result<PathBuf, PathError> {
    let rel = Path::new(name);
    if name.trim().is_empty()
        || name.contains('\\')
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(PathError::Outside);
    }
    let base = dir
        .canonicalize()
        .map_err(|e| PathError::Io(e.to_string()))?;
    let real = match base.join(rel).canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PathError::Missing),
        Err(e) => return Err(PathError::Io(e.to_string())),
    };
    if !real.starts_with(&base) {
        return Err(PathError::Outside);
    }
    if !real.is_file() {
        return Err(PathError::Missing);
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_outside_missing() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("m");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("a.pdf"), b"x").unwrap();
        std::fs::write(dir.join("sub/b.png"), b"x").unwrap();
        std::fs::write(root.path().join("secret.txt"), b"x").unwrap();
        assert!(resolve(&dir, "a.pdf").is_ok());
        assert!(resolve(&dir, "./sub/b.png").is_ok());
        assert_eq!(resolve(&dir, "../secret.txt"), Err(PathError::Outside));
        assert_eq!(
            resolve(&dir, "sub/../../secret.txt"),
            Err(PathError::Outside)
        );
        assert_eq!(resolve(&dir, "/etc/passwd"), Err(PathError::Outside));
        assert_eq!(resolve(&dir, "..\\secret.txt"), Err(PathError::Outside));
        assert_eq!(resolve(&dir, ""), Err(PathError::Outside));
        assert_eq!(resolve(&dir, "nope.pdf"), Err(PathError::Missing));
        assert_eq!(resolve(&dir, "sub"), Err(PathError::Missing));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.path().join("secret.txt"), dir.join("link.txt"))
                .unwrap();
            assert_eq!(resolve(&dir, "link.txt"), Err(PathError::Outside));
            std::os::unix::fs::symlink(dir.join("a.pdf"), dir.join("inside.pdf")).unwrap();
            assert!(resolve(&dir, "inside.pdf").is_ok());
        }
    }
}
