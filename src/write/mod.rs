//! The only code that touches the output folder: writes generated files atomically, or
//! (check mode) compares them with what is on disk and reports a unified diff.
//!
//! Architecture Invariant: nothing is written until every file has been rendered and
//! checked in memory. Each file is replaced by rename from a temporary file in the same
//! folder, so a reader (or a crash) sees the old file or the new one, never half of one.
//! Files whose contents are unchanged are not touched.

use std::fmt;
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};

use similar::TextDiff;

use crate::render::OutputFile;

/// Write the files, or only compare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

/// What happened to each file.
#[derive(Debug, Default)]
pub struct Outcome {
    pub written: Vec<String>,
    pub unchanged: Vec<String>,
    /// Check mode: files that differ, with a unified diff (on-disk to generated).
    pub stale: Vec<(String, String)>,
}

#[derive(Debug)]
pub enum WriteError {
    /// The output path exists and is not a folder.
    NotADirectory(PathBuf),
    /// A generated path would leave the output folder.
    UnsafePath(String),
    Io {
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::NotADirectory(p) => {
                write!(f, "output path {} exists and is not a folder", p.display())
            }
            WriteError::UnsafePath(p) => {
                write!(f, "generated path `{p}` would leave the output folder")
            }
            WriteError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for WriteError {}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Joins a generated relative path onto the output folder, refusing anything that could
/// leave it: absolute paths, `..`, empty names.
pub fn safe_join(root: &Path, rel: &str) -> Result<PathBuf, WriteError> {
    let p = Path::new(rel);
    let ok = !rel.is_empty()
        && !rel.contains('\\')
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    if !ok {
        return Err(WriteError::UnsafePath(rel.to_string()));
    }
    Ok(root.join(p))
}

/// Writes or checks every file under `root`.
pub fn apply(root: &Path, files: &[OutputFile], mode: Mode) -> Result<Outcome, WriteError> {
    if root.exists() && !root.is_dir() {
        return Err(WriteError::NotADirectory(root.to_path_buf()));
    }
    // Validate every path before touching anything.
    let targets: Vec<(PathBuf, &OutputFile)> = files
        .iter()
        .map(|f| safe_join(root, &f.path).map(|p| (p, f)))
        .collect::<Result<_, _>>()?;
    let mut outcome = Outcome::default();
    for (path, file) in targets {
        let current = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&path)(e)),
        };
        if current.as_deref() == Some(file.contents.as_bytes()) {
            outcome.unchanged.push(file.path.clone());
            continue;
        }
        match mode {
            Mode::Check => {
                let old = current
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                outcome.stale.push((
                    file.path.clone(),
                    unified_diff(&file.path, &old, &file.contents, current.is_none()),
                ));
            }
            Mode::Write => {
                write_atomic(&path, file.contents.as_bytes())?;
                outcome.written.push(file.path.clone());
            }
        }
    }
    Ok(outcome)
}

/// A unified diff from the file on disk to the generated one.
pub fn unified_diff(path: &str, old: &str, new: &str, missing: bool) -> String {
    let old_name = if missing {
        "/dev/null".to_string()
    } else {
        format!("a/{path}")
    };
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &format!("b/{path}"))
        .to_string()
}

/// Replaces `path` with `bytes` through a temporary file in the same folder and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".poolwatch-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    tmp.write_all(bytes).map_err(io_err(path))?;
    publish_permissions(tmp.as_file(), path).map_err(io_err(path))?;
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
    Ok(())
}

/// Temporary files are private (0600), but generated files are read by Prometheus and
/// Grafana under their own users: keep the replaced file's mode, else use 0644.
#[cfg(unix)]
fn publish_permissions(tmp: &std::fs::File, path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let permissions = match std::fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => std::fs::Permissions::from_mode(0o644),
    };
    tmp.set_permissions(permissions)
}

#[cfg(not(unix))]
fn publish_permissions(_tmp: &std::fs::File, _path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn written_files_are_readable_by_other_users() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = OutputFile {
            path: "rules/a.yml".into(),
            contents: "x\n".into(),
        };
        apply(dir.path(), std::slice::from_ref(&file), Mode::Write).unwrap();
        let path = dir.path().join("rules/a.yml");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        // A replaced file keeps the mode it had.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let changed = OutputFile {
            contents: "y\n".into(),
            ..file
        };
        apply(dir.path(), &[changed], Mode::Write).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn paths_cannot_escape_the_output_folder() {
        let root = Path::new("/out");
        assert!(safe_join(root, "rules/a.yml").is_ok());
        for bad in ["../x", "/etc/passwd", "a/../../b", "", "a\\..\\b"] {
            assert!(safe_join(root, bad).is_err(), "{bad} accepted");
        }
    }
}
