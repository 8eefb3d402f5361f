//! The only code that touches the output folder: writes generated files atomically, or
//! (check mode) compares them with what is on disk and reports a unified diff.
//!
//! Architecture Invariant: nothing is replaced until every file has been rendered and
//! checked. A [`Session`] takes the files set by set as they are generated (each changed
//! file goes to a temporary file beside its target, so a fleet's text is never all in
//! memory at once); only [`Session::finish`] replaces files, each by rename from its
//! temporary file, so a reader (or a crash) sees the old file or the new one, never half
//! of one. A session dropped unfinished removes its temporary files and the folders it
//! created. Files whose contents are unchanged are not touched.

pub(crate) mod manifest;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

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
    pub(crate) written: Vec<String>,
    pub(crate) unchanged: Vec<String>,
    /// Check mode: files that differ, with a unified diff (on-disk to generated), and
    /// files an emit would remove, with a diff to nothing.
    pub stale: Vec<(String, String)>,
    /// Files an earlier emit wrote that this one does not: removed by the emit.
    pub(crate) removed: Vec<String>,
    /// Files an earlier emit wrote that this one does not, left in place because they
    /// changed since (or could not be removed), with why.
    pub(crate) kept: Vec<(String, String)>,
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
    pub(crate) fn replaced(&self) -> &[String] {
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

/// Writes or checks every file under `root`, in one step (no manifest: `init` writes a
/// spec with it).
pub fn apply(root: &Path, files: &[OutputFile], mode: Mode) -> Result<Outcome, WriteError> {
    let session = Session::begin(root, mode, false)?;
    session.add((0, 0), files)?;
    session.finish()
}

/// Where a file came from: its set (a spec in the order given, and a variant of it) and its
/// place in the set, so that the outcome lists files in the same order however the sets
/// arrived.
type Key = (usize, usize, usize);

/// One run's writes (or checks) into an output folder. Sets of files may be added from
/// several threads at once: each file is compared and written aside by the thread that
/// generated it, and only the session's lists are shared.
#[derive(Debug)]
pub struct Session {
    root: PathBuf,
    mode: Mode,
    /// Whether the folder's manifest is kept (`emit`): what was written, for the next run.
    manifest: bool,
    previous: manifest::Manifest,
    state: Mutex<State>,
}

/// What a session has found and staged so far.
#[derive(Debug, Default)]
struct State {
    listed: Vec<(String, u64)>,
    unchanged: Vec<(Key, String)>,
    stale: Vec<(Key, String, String)>,
    staged: Vec<(Key, Staged)>,
    /// Folders this session created: removed again if it does not finish.
    created: Vec<PathBuf>,
    /// Folders known to be folders (checked, or created in write mode): each is looked at
    /// once, not once per file.
    ready: BTreeSet<PathBuf>,
}

impl State {
    /// Takes what one set found.
    fn merge(&mut self, set: State) {
        self.listed.extend(set.listed);
        self.unchanged.extend(set.unchanged);
        self.stale.extend(set.stale);
        self.staged.extend(set.staged);
        self.created.extend(set.created);
        self.ready.extend(set.ready);
    }
}

/// A changed file written in full to a temporary file beside its target.
#[derive(Debug)]
struct Staged {
    tmp: tempfile::TempPath,
    path: PathBuf,
    rel: String,
}

impl Session {
    /// Starts writing (or checking) into `root`; with `manifest`, reads the manifest an
    /// earlier emit left there.
    pub fn begin(root: &Path, mode: Mode, manifest: bool) -> Result<Self, WriteError> {
        check_folder(root)?;
        let mut previous = manifest::Manifest::default();
        if manifest {
            let path = root.join(manifest::FILE_NAME);
            match std::fs::read_to_string(&path) {
                Ok(text) => previous = manifest::parse(&text),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("read", &path)(e)),
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            mode,
            manifest,
            previous,
            state: Mutex::new(State::default()),
        })
    }

    /// The shared lists. A thread that panicked while holding them only ever pushed whole
    /// entries, so they stay usable.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Compares a set of files with the folder; in write mode each changed file is
    /// written to a temporary file. Nothing is replaced yet.
    pub fn add(&self, set: (usize, usize), files: &[OutputFile]) -> Result<(), WriteError> {
        // Validate every path before touching anything.
        let targets: Vec<PathBuf> = files
            .iter()
            .map(|f| safe_join(&self.root, &f.path))
            .collect::<Result<_, _>>()?;
        let mut found = State::default();
        let result =
            targets
                .into_iter()
                .zip(files)
                .enumerate()
                .try_for_each(|(i, (path, file))| {
                    self.add_file(&mut found, (set.0, set.1, i), path, file)
                });
        // Also on failure: the folders it created are removed with the session.
        self.state().merge(found);
        result
    }

    fn add_file(
        &self,
        found: &mut State,
        key: Key,
        path: PathBuf,
        file: &OutputFile,
    ) -> Result<(), WriteError> {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let ready = |found: &State| found.ready.contains(&dir) || self.state().ready.contains(&dir);
        if !ready(found) {
            check_folder(&dir)?;
            if self.mode == Mode::Check {
                found.ready.insert(dir.clone());
            }
        }
        if self.manifest {
            let hash = manifest::hash(file.contents.as_bytes());
            found.listed.push((file.path.clone(), hash));
        }
        let current = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        if current.as_deref() == Some(file.contents.as_bytes()) {
            found.unchanged.push((key, file.path.clone()));
            return Ok(());
        }
        if self.mode == Mode::Check {
            let old = current
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let diff = unified_diff(&file.path, &old, &file.contents, current.is_none());
            found.stale.push((key, file.path.clone(), diff));
            return Ok(());
        }
        if !ready(found) {
            let missing: Vec<PathBuf> = dir
                .ancestors()
                .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
                .map(Path::to_path_buf)
                .collect();
            std::fs::create_dir_all(&dir).map_err(io_err("create the folder", &dir))?;
            // Two sets may both find a shared folder missing: it is listed twice.
            found.created.extend(missing.into_iter().rev());
            found.ready.insert(dir.clone());
        }
        let tmp = write_temp(&dir, &path, file.contents.as_bytes(), current.is_some())?;
        found.staged.push((
            key,
            Staged {
                tmp,
                path,
                rel: file.path.clone(),
            },
        ));
        Ok(())
    }

    /// Writes the manifest, replaces each target by rename from its temporary file, and
    /// removes what an earlier emit wrote that this one did not (if unchanged since). In
    /// check mode, reports those as stale instead.
    ///
    /// Files are not synced to disk (fsync): a rename is atomic for readers and for a
    /// killed run, which is what the output folder promises; after a power failure, the
    /// next `emit` (or `emit --check`) finds and rewrites any file that did not reach the
    /// disk. A sync per file cost milliseconds each, seconds for a fleet's thousands.
    pub fn finish(mut self) -> Result<Outcome, WriteError> {
        let mut leftovers = Vec::new();
        let mut kept = Vec::new();
        if self.manifest {
            let listed = std::mem::take(
                &mut self
                    .state
                    .get_mut()
                    .unwrap_or_else(PoisonError::into_inner)
                    .listed,
            );
            let generated: BTreeSet<&str> = listed.iter().map(|(p, _)| p.as_str()).collect();
            for (path, hash) in &self.previous.files {
                if generated.contains(path.as_str()) {
                    continue;
                }
                // A path the manifest should not hold is skipped: nothing outside the folder.
                let Ok(full) = safe_join(&self.root, path) else {
                    continue;
                };
                match std::fs::read(&full) {
                    Ok(bytes) if self.previous.hasher.hash(&bytes) == *hash => {
                        leftovers.push((path.clone(), full, bytes));
                    }
                    Ok(_) => {
                        kept.push((path.clone(), "it changed since poolwatch wrote it".into()))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => kept.push((path.clone(), format!("cannot read it: {e}"))),
                }
            }
            let file = OutputFile {
                path: manifest::FILE_NAME.to_string(),
                contents: manifest::render(&listed),
            };
            drop(generated);
            let path = self.root.join(manifest::FILE_NAME);
            let mut found = State {
                listed,
                ..State::default()
            };
            let result = self.add_file(&mut found, (usize::MAX, 0, 0), path, &file);
            self.state().merge(found);
            result?;
        }
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let mut outcome = Outcome {
            kept,
            ..Outcome::default()
        };
        state.unchanged.sort_by_key(|(k, _)| *k);
        outcome.unchanged = state.unchanged.drain(..).map(|(_, p)| p).collect();
        state.stale.sort_by_key(|(k, ..)| *k);
        outcome.stale = state.stale.drain(..).map(|(_, p, d)| (p, d)).collect();
        if self.mode == Mode::Check {
            for (path, _, bytes) in leftovers {
                let old = String::from_utf8_lossy(&bytes);
                let diff = TextDiff::from_lines(old.as_ref(), "")
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{path}"), "/dev/null")
                    .to_string();
                outcome.stale.push((path, diff));
            }
            return Ok(outcome);
        }
        state.staged.sort_by_key(|(k, _)| *k);
        let staged: Vec<Staged> = state.staged.drain(..).map(|(_, s)| s).collect();
        // Every folder of the generated set, written to or not: a killed run may have left
        // temporaries beside files this run finds unchanged. Not the folders this run
        // created: nothing was in them before it (a fresh output folder is not read again).
        // Compared as text: every path here is the root joined with a checked relative
        // path, so equal paths are equal text (and comparing text is cheaper than
        // comparing components, for a fleet's thousands of files).
        let created: BTreeSet<&OsStr> = state.created.iter().map(|d| d.as_os_str()).collect();
        let mut dirs: Vec<PathBuf> = staged
            .iter()
            .filter_map(|s| s.path.parent().map(Path::to_path_buf))
            .chain(
                state
                    .listed
                    .iter()
                    .filter_map(|(p, _)| safe_join(&self.root, p).ok())
                    .filter_map(|p| p.parent().map(Path::to_path_buf)),
            )
            .filter(|d| !created.contains(d.as_os_str()))
            .collect();
        dirs.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        dirs.dedup_by(|a, b| a.as_os_str() == b.as_os_str());
        drop(created);
        // From here on the folders this session created hold files: they stay.
        state.created.clear();
        outcome.written = commit(staged)?;
        for dir in &dirs {
            remove_stray_temporaries(dir);
        }
        for (path, full, _) in leftovers {
            match std::fs::remove_file(&full) {
                Ok(()) => {
                    remove_empty_folders(&self.root, &full);
                    outcome.removed.push(path);
                }
                Err(e) => outcome.kept.push((path, format!("cannot remove it: {e}"))),
            }
        }
        Ok(outcome)
    }
}

impl Drop for Session {
    /// An unfinished session leaves the folder as it was: its temporary files are deleted
    /// (each `TempPath` on drop) and the folders it created are removed.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        state.staged.clear();
        // Deepest first: sets staged side by side each list the folders they created, in
        // whatever order they finished, so a parent may come before another set's child.
        let created = &mut state.created;
        created.sort_by(|a, b| {
            b.components()
                .count()
                .cmp(&a.components().count())
                .then_with(|| a.cmp(b))
        });
        created.dedup();
        for dir in created.iter() {
            let _ = std::fs::remove_dir(dir);
        }
    }
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

/// Phase two: renames each temporary file over its target.
fn commit(staged: Vec<Staged>) -> Result<Vec<String>, WriteError> {
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
        replaced.push(s.rel);
    }
    Ok(replaced)
}

/// A unified diff from the file on disk to the generated one.
pub(crate) fn unified_diff(path: &str, old: &str, new: &str, missing: bool) -> String {
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

/// Writes `bytes` to a new temporary file in `dir`, to be renamed over `path`.
fn write_temp(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    replaces: bool,
) -> Result<tempfile::TempPath, WriteError> {
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
        let kept = replaces.then(|| std::fs::metadata(path).ok()).flatten();
        let mode = kept.map_or(0o644, |m| m.permissions().mode());
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io_err("write", path))?;
    }
    tmp.write_all(bytes).map_err(io_err("write", path))?;
    // Closed now (a fleet stages thousands of files); the path is deleted on drop.
    Ok(tmp.into_temp_path())
}

/// Removes temporary files a killed run left in `dir`. They are never read: a file is
/// replaced only by a complete temporary file, so leftovers are only clutter. (Two runs
/// writing into one folder at the same moment are not supported: one could remove the
/// other's temporary file, which then fails with an error, never with a partial file.)
fn remove_stray_temporaries(dir: &Path) {
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
        for bad in [
            "../x",
            "/etc/passwd",
            "a/../../b",
            "",
            "a\\..\\b",
            "a\\b",
            "./a",
            "a//b/..",
        ] {
            assert!(safe_join(root, bad).is_err(), "{bad:?} accepted");
        }
    }
}
