//! The only code that touches the output folder: writes generated files atomically, or
//! (check mode) compares them with what is on disk and reports a unified diff.
//!
//! Architecture Invariant: nothing is written until every file has been rendered and
//! checked in memory. Each file is replaced by rename from a temporary file in the same
//! folder, so a reader (or a crash) sees the old file or the new one, never half of one.
//! Files whose contents are unchanged are not touched.

pub mod manifest;

use std::collections::BTreeSet;
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
    /// Check mode: files that differ, with a unified diff (on-disk to generated), and
    /// files [`emit`] would remove, with a diff to nothing.
    pub stale: Vec<(String, String)>,
    /// Files an earlier emit wrote that this one does not: removed by [`emit`].
    pub removed: Vec<String>,
    /// Files an earlier emit wrote that this one does not, left in place because they
    /// changed since (or could not be removed), with why.
    pub kept: Vec<(String, String)>,
}

#[derive(Debug)]
pub enum WriteError {
    /// The output path, or a folder on the way to a file, exists and is not a folder.
    NotADirectory(PathBuf),
    /// A generated path would leave the output folder.
    UnsafePath(String),
    Io {
        /// What was being done: "read", "create the folder", "write".
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// Replacing a file failed after others were already replaced (a rename in one folder
    /// failing: practically only a file system going read-only or away mid-run).
    Partial {
        replaced: Vec<String>,
        error: Box<WriteError>,
    },
}

impl WriteError {
    /// Files already replaced when the error happened: empty unless [`WriteError::Partial`].
    pub fn replaced(&self) -> &[String] {
        match self {
            WriteError::Partial { replaced, .. } => replaced,
            _ => &[],
        }
    }
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
            WriteError::Io {
                action,
                path,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
            WriteError::Partial { replaced, error } => write!(
                f,
                "{error} (already replaced: {}; the other files are unchanged)",
                replaced.join(", ")
            ),
        }
    }
}

impl std::error::Error for WriteError {}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        action,
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

/// Fails if the nearest existing ancestor of `dir` (or `dir` itself) is not a folder:
/// then `dir` can be neither read nor created.
fn check_folder(dir: &Path) -> Result<(), WriteError> {
    match dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.exists())
    {
        Some(a) if !a.as_os_str().is_empty() && !a.is_dir() => {
            Err(WriteError::NotADirectory(a.to_path_buf()))
        }
        _ => Ok(()),
    }
}

/// Writes or checks every file under `root`.
///
/// Write mode works in two phases. First every changed file is written in full to a
/// temporary file beside its target and synced; a failure here removes the temporary
/// files (and any folder this run created) and leaves the output folder as it was. Then
/// each temporary file is renamed over its target, an atomic step per file. Temporary
/// files left by an earlier run that was killed are removed once this run has finished.
pub fn apply(root: &Path, files: &[OutputFile], mode: Mode) -> Result<Outcome, WriteError> {
    apply_all(root, &files.iter().collect::<Vec<_>>(), mode)
}

/// [`apply`] for generated output: also writes the folder's manifest (what this run
/// wrote) and removes the files an earlier run wrote that this one does not, if they are
/// still as written; in check mode such files are reported as stale.
pub fn emit(root: &Path, files: &[OutputFile], mode: Mode) -> Result<Outcome, WriteError> {
    let listed = manifest::render(
        files
            .iter()
            .map(|f| (f.path.as_str(), f.contents.as_bytes())),
    );
    let manifest_file = OutputFile {
        path: manifest::FILE_NAME.to_string(),
        contents: listed,
    };
    check_folder(root)?;
    let manifest_path = root.join(manifest::FILE_NAME);
    let previous = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => manifest::parse(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Default::default(),
        Err(e) => return Err(io_err("read", &manifest_path)(e)),
    };
    let generated: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut leftovers = Vec::new();
    let mut kept = Vec::new();
    for (path, hash) in previous {
        if generated.contains(path.as_str()) {
            continue;
        }
        // A path the manifest should not hold is skipped: nothing outside the folder.
        let Ok(full) = safe_join(root, &path) else {
            continue;
        };
        match std::fs::read(&full) {
            Ok(bytes) if manifest::hash(&bytes) == hash => leftovers.push((path, full, bytes)),
            Ok(_) => kept.push((path, "it changed since poolwatch wrote it".to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => kept.push((path, format!("cannot read it: {e}"))),
        }
    }
    let mut all: Vec<&OutputFile> = files.iter().collect();
    all.push(&manifest_file);
    let mut outcome = apply_all(root, &all, mode)?;
    for (path, full, bytes) in leftovers {
        if mode == Mode::Check {
            let old = String::from_utf8_lossy(&bytes);
            let diff = TextDiff::from_lines(old.as_ref(), "")
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{path}"), "/dev/null")
                .to_string();
            outcome.stale.push((path, diff));
            continue;
        }
        match std::fs::remove_file(&full) {
            Ok(()) => {
                remove_empty_folders(root, &full);
                outcome.removed.push(path);
            }
            Err(e) => kept.push((path, format!("cannot remove it: {e}"))),
        }
    }
    outcome.kept = kept;
    Ok(outcome)
}

/// Removes the folders above a removed file that it leaves empty, up to `root` (not
/// included). A folder with anything else in it stays.
fn remove_empty_folders(root: &Path, removed: &Path) {
    for dir in removed.ancestors().skip(1) {
        if dir == root || !dir.starts_with(root) || std::fs::remove_dir(dir).is_err() {
            break;
        }
    }
}

fn apply_all(root: &Path, files: &[&OutputFile], mode: Mode) -> Result<Outcome, WriteError> {
    // Validate every path before touching anything.
    let targets: Vec<(PathBuf, &OutputFile)> = files
        .iter()
        .map(|f| safe_join(root, &f.path).map(|p| (p, *f)))
        .collect::<Result<_, _>>()?;
    check_folder(root)?;
    let mut outcome = Outcome::default();
    let mut changed = Vec::new();
    for (path, file) in targets {
        if let Some(dir) = path.parent() {
            check_folder(dir)?;
        }
        let current = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        if current.as_deref() == Some(file.contents.as_bytes()) {
            outcome.unchanged.push(file.path.clone());
        } else if mode == Mode::Check {
            let old = current
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            outcome.stale.push((
                file.path.clone(),
                unified_diff(&file.path, &old, &file.contents, current.is_none()),
            ));
        } else {
            changed.push((path, file));
        }
    }
    if mode == Mode::Write {
        let mut dirs: Vec<PathBuf> = files
            .iter()
            .filter_map(|f| {
                safe_join(root, &f.path)
                    .ok()?
                    .parent()
                    .map(Path::to_path_buf)
            })
            .collect();
        dirs.sort();
        dirs.dedup();
        outcome.written = commit(stage(&changed)?)?;
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            // Durability of the renames; a failure here cannot be acted on.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            remove_leftovers(dir);
        }
    }
    Ok(outcome)
}

/// A changed file written in full to a temporary file beside its target.
struct Staged<'a> {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
    file: &'a OutputFile,
}

/// Phase one: writes every changed file to a temporary file. On failure nothing is left
/// behind: temporary files are dropped (deleted) and folders this run created are removed.
fn stage<'a>(changed: &[(PathBuf, &'a OutputFile)]) -> Result<Vec<Staged<'a>>, WriteError> {
    let mut created: Vec<PathBuf> = Vec::new();
    let result = changed
        .iter()
        .try_for_each(|(path, _)| {
            let dir = path.parent().unwrap_or(Path::new("."));
            let missing: Vec<PathBuf> = dir
                .ancestors()
                .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
                .map(Path::to_path_buf)
                .collect();
            std::fs::create_dir_all(dir).map_err(io_err("create the folder", dir))?;
            created.extend(missing.into_iter().rev());
            Ok(())
        })
        // The temporary files already written are deleted (on drop) when another fails.
        .and_then(|()| {
            changed
                .iter()
                .map(|(path, file)| {
                    let dir = path.parent().unwrap_or(Path::new("."));
                    Ok(Staged {
                        tmp: write_temp(dir, path, file.contents.as_bytes())?,
                        path: path.clone(),
                        file,
                    })
                })
                .collect::<Result<Vec<_>, WriteError>>()
        });
    result.inspect_err(|_| {
        for dir in created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    })
}

/// Phase two: renames each temporary file over its target.
fn commit(staged: Vec<Staged<'_>>) -> Result<Vec<String>, WriteError> {
    let mut replaced = Vec::new();
    for s in staged {
        if let Err(e) = s.tmp.persist(&s.path) {
            // The failed temporary file and the ones not yet renamed are deleted on drop.
            let error = io_err("replace", &s.path)(e.error);
            return Err(if replaced.is_empty() {
                error
            } else {
                WriteError::Partial {
                    replaced,
                    error: Box::new(error),
                }
            });
        }
        replaced.push(s.file.path.clone());
    }
    Ok(replaced)
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

/// Prefix and suffix of the temporary files; [`remove_leftovers`] relies on them.
const TMP_PREFIX: &str = ".poolwatch-";
const TMP_SUFFIX: &str = ".tmp";

/// Writes `bytes` to a new synced temporary file in `dir`, to be renamed over `path`.
fn write_temp(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
) -> Result<tempfile::NamedTempFile, WriteError> {
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(TMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(io_err("create a temporary file in", dir))?;
    // tempfile creates 0600 files; a generated file is as readable as any other (0644), or
    // keeps the mode of the file it replaces.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode());
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io_err("write", path))?;
    }
    tmp.write_all(bytes).map_err(io_err("write", path))?;
    tmp.as_file().sync_all().map_err(io_err("write", path))?;
    Ok(tmp)
}

/// Removes temporary files a killed run left in `dir`. They are never read: a file is
/// replaced only by a complete temporary file, so leftovers are only clutter. (Two runs
/// writing into one folder at the same moment are not supported: one could remove the
/// other's temporary file, which then fails with an error, never with a partial file.)
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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
