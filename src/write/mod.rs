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
//!
//! Architecture Invariant: every read, write, rename and removal goes through the output
//! folder's directory handle (`confined.rs`), never through a path joined onto `--out`, and
//! no symbolic link inside the folder is followed. The folder and its manifest are
//! untrusted input (a pull request can put anything there): nothing they hold makes a run
//! touch a file outside the folder.

mod confined;
pub(crate) mod manifest;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cap_std::fs::Dir;

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
    /// Lines of the manifest that name nothing poolwatch may remove (a path leaving the
    /// folder, or one reached through a symbolic link), ignored, with why.
    pub(crate) ignored: Vec<(String, String)>,
}

#[derive(Debug)]
pub enum WriteError {
    /// The output path, or a folder on the way to a file, exists and is not a folder.
    NotADirectory(PathBuf),
    /// A generated path would leave the output folder.
    UnsafePath(String),
    /// A symbolic link where poolwatch would read or write: `--out` itself, a folder on
    /// the way to a file, or the file. Links are never followed there.
    Symlink(PathBuf),
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
            WriteError::Symlink(p) => write!(
                f,
                "{} is a symbolic link; poolwatch follows no link in the output folder, so \
                 that nothing outside it is written: replace it with a real folder or file",
                p.display()
            ),
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

/// Joins a generated relative path onto the output folder, refusing anything that could
/// leave it: absolute paths, `.`, `..`, empty names, backslashes.
pub fn safe_join(root: &Path, rel: &str) -> Result<PathBuf, WriteError> {
    confined::parts(rel)
        .map(|_| root.join(rel))
        .ok_or_else(|| WriteError::UnsafePath(rel.to_string()))
}

/// Writes or checks every file under `root`, in one step (no manifest: `init` writes a
/// spec with it).
pub fn apply(root: &Path, files: &[OutputFile], mode: Mode) -> Result<Outcome, WriteError> {
    let session = Session::begin(root, mode, false)?;
    session.add(files)?;
    session.finish()
}

/// One run's writes (or checks) into an output folder. Sets of files may be added from
/// several threads at once: each file is compared and written aside by the thread that
/// generated it, and only the session's lists are shared.
#[derive(Debug)]
pub struct Session {
    root: PathBuf,
    /// The output folder's handle, opened once; `None` until it exists.
    dir: Mutex<Option<Arc<Dir>>>,
    mode: Mode,
    /// Whether the folder's manifest is kept (`emit`): what was written, for the next run.
    manifest: bool,
    /// What the manifest an earlier emit left lists: path → hash of the contents.
    previous: BTreeMap<String, u64>,
    state: Mutex<State>,
}

/// What a session has found and staged so far.
#[derive(Debug, Default)]
struct State {
    listed: Vec<(String, u64)>,
    unchanged: Vec<String>,
    stale: Vec<(String, String)>,
    staged: Vec<Staged>,
    /// Folders this session created inside the output folder (relative): removed again if
    /// it does not finish.
    created: Vec<String>,
    /// The output folder and the folders above it, when this session created them.
    created_root: Vec<PathBuf>,
    /// Folders opened so far (relative path → handle): each is looked up once, not once
    /// per file.
    ready: BTreeMap<String, Arc<Dir>>,
}

impl State {
    /// Takes what one set found.
    fn merge(&mut self, set: State) {
        self.listed.extend(set.listed);
        self.unchanged.extend(set.unchanged);
        self.stale.extend(set.stale);
        self.staged.extend(set.staged);
        self.created.extend(set.created);
        self.created_root.extend(set.created_root);
        self.ready.extend(set.ready);
    }
}

/// A changed file written in full to a temporary file beside its target.
#[derive(Debug)]
struct Staged {
    tmp: confined::Temp,
    /// The target's name in the temporary file's folder.
    name: String,
    rel: String,
    shown: PathBuf,
}

/// A file an earlier emit wrote that this one does not, found as poolwatch wrote it.
struct Leftover {
    rel: String,
    dir: Arc<Dir>,
    name: String,
    bytes: Vec<u8>,
}

/// A relative path split into its folder and its file name.
fn split<'a>(parts: &[&'a str]) -> (Vec<&'a str>, &'a str) {
    match parts.split_last() {
        Some((name, dir)) => (dir.to_vec(), name),
        None => (Vec::new(), ""),
    }
}

impl Session {
    /// Starts writing (or checking) into `root`; with `manifest`, reads the manifest an
    /// earlier emit left there.
    pub fn begin(root: &Path, mode: Mode, manifest: bool) -> Result<Self, WriteError> {
        let dir = confined::open_root(root)?;
        let mut previous = BTreeMap::new();
        if manifest && let Some(dir) = &dir {
            let shown = root.join(manifest::FILE_NAME);
            if let Some(bytes) = confined::read(dir, manifest::FILE_NAME, &shown)? {
                previous = manifest::parse(&String::from_utf8_lossy(&bytes));
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            dir: Mutex::new(dir.map(Arc::new)),
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

    /// The output folder's handle; with `create`, the folder is created if missing.
    fn root_dir(&self, found: &mut State, create: bool) -> Result<Option<Arc<Dir>>, WriteError> {
        let mut dir = self.dir.lock().unwrap_or_else(PoisonError::into_inner);
        if dir.is_none() && create {
            let (d, created) = confined::create_root(&self.root)?;
            found.created_root.extend(created);
            *dir = Some(Arc::new(d));
        }
        Ok(dir.clone())
    }

    /// The folder `rel` inside the output folder (links refused); `None` when missing and
    /// not `create`.
    fn folder(
        &self,
        found: &mut State,
        rel: &[&str],
        create: bool,
    ) -> Result<Option<Arc<Dir>>, WriteError> {
        let key = rel.join("/");
        let known = found.ready.get(&key).cloned();
        if let Some(d) = known.or_else(|| self.state().ready.get(&key).cloned()) {
            return Ok(Some(d));
        }
        let Some(root) = self.root_dir(found, create)? else {
            return Ok(None);
        };
        if rel.is_empty() {
            found.ready.insert(key, Arc::clone(&root));
            return Ok(Some(root));
        }
        let opened = confined::open_dir(&root, &self.root, rel, create, &mut found.created)?;
        Ok(opened.map(|d| {
            let d = Arc::new(d);
            found.ready.insert(key, Arc::clone(&d));
            d
        }))
    }

    /// Compares a set of files with the folder; in write mode each changed file is
    /// written to a temporary file. Nothing is replaced yet.
    pub fn add(&self, files: &[OutputFile]) -> Result<(), WriteError> {
        // Validate every path before touching anything.
        for f in files {
            safe_join(&self.root, &f.path)?;
        }
        let mut found = State::default();
        let result = files
            .iter()
            .try_for_each(|file| self.add_file(&mut found, file));
        // Also on failure: the folders it created are removed with the session.
        self.state().merge(found);
        result
    }

    fn add_file(&self, found: &mut State, file: &OutputFile) -> Result<(), WriteError> {
        let parts =
            confined::parts(&file.path).ok_or_else(|| WriteError::UnsafePath(file.path.clone()))?;
        let (dir_parts, name) = split(&parts);
        let shown = self.root.join(&file.path);
        if self.manifest {
            let hash = manifest::hash(file.contents.as_bytes());
            found.listed.push((file.path.clone(), hash));
        }
        let folder = self.folder(found, &dir_parts, false)?;
        let current = match &folder {
            Some(d) => confined::read(d, name, &shown)?,
            None => None,
        };
        if current.as_deref() == Some(file.contents.as_bytes()) {
            found.unchanged.push(file.path.clone());
            return Ok(());
        }
        if self.mode == Mode::Check {
            let old = current
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let diff = unified_diff(&file.path, &old, &file.contents, current.is_none());
            found.stale.push((file.path.clone(), diff));
            return Ok(());
        }
        let folder = match folder {
            Some(d) => d,
            None => self
                .folder(found, &dir_parts, true)?
                .ok_or_else(|| WriteError::NotADirectory(shown.clone()))?,
        };
        let kept = current.is_some().then(|| confined::mode_of(&folder, name));
        let mode = kept.flatten().unwrap_or(0o644);
        let tmp = confined::Temp::write(folder, file.contents.as_bytes(), mode, &shown)?;
        found.staged.push(Staged {
            tmp,
            name: name.to_string(),
            rel: file.path.clone(),
            shown,
        });
        Ok(())
    }

    /// The files the previous manifest lists that this run does not generate: those still
    /// as poolwatch wrote them (to remove), those changed since (kept), and lines that name
    /// nothing poolwatch may touch (ignored).
    fn leftovers(
        &self,
        generated: &BTreeSet<&str>,
        outcome: &mut Outcome,
    ) -> Result<Vec<Leftover>, WriteError> {
        let mut found = State::default();
        let mut leftovers = Vec::new();
        for (path, hash) in &self.previous {
            if generated.contains(path.as_str()) {
                continue;
            }
            let Some(parts) = confined::parts(path) else {
                outcome.ignored.push((
                    path.clone(),
                    "it is not a plain relative path inside the output folder".into(),
                ));
                continue;
            };
            let (dir_parts, name) = split(&parts);
            let shown = self.root.join(path);
            let read = self
                .folder(&mut found, &dir_parts, false)
                .and_then(|d| match d {
                    Some(d) => Ok(confined::read(&d, name, &shown)?.map(|b| (d, b))),
                    None => Ok(None),
                });
            match read {
                Ok(Some((dir, bytes))) if manifest::hash(&bytes) == *hash => {
                    leftovers.push(Leftover {
                        rel: path.clone(),
                        dir,
                        name: name.to_string(),
                        bytes,
                    });
                }
                Ok(Some(_)) => outcome
                    .kept
                    .push((path.clone(), "it changed since poolwatch wrote it".into())),
                Ok(None) => {}
                Err(WriteError::Symlink(link)) => outcome.ignored.push((
                    path.clone(),
                    format!(
                        "{} is a symbolic link, which poolwatch does not follow",
                        link.display()
                    ),
                )),
                Err(e) => outcome
                    .kept
                    .push((path.clone(), format!("cannot read it: {e}"))),
            }
        }
        self.state().merge(found);
        Ok(leftovers)
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
        let mut outcome = Outcome::default();
        let mut leftovers = Vec::new();
        let mut new_manifest = None;
        if self.manifest {
            let listed = std::mem::take(&mut self.state().listed);
            let generated: BTreeSet<&str> = listed.iter().map(|(p, _)| p.as_str()).collect();
            leftovers = self.leftovers(&generated, &mut outcome)?;
            drop(generated);
            let file = OutputFile {
                path: manifest::FILE_NAME.to_string(),
                contents: manifest::render(&listed),
            };
            let mut found = State {
                listed,
                ..State::default()
            };
            let result = self.add_file(&mut found, &file);
            new_manifest = found.staged.pop();
            self.state().merge(found);
            result?;
        }
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        // Sets of files arrive in any order from the threads generating them: the outcome
        // lists them by path, the same on every run.
        outcome.unchanged = std::mem::take(&mut state.unchanged);
        outcome.unchanged.sort_unstable();
        outcome.stale = std::mem::take(&mut state.stale);
        outcome.stale.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if self.mode == Mode::Check {
            for l in leftovers {
                let old = String::from_utf8_lossy(&l.bytes);
                let diff = TextDiff::from_lines(old.as_ref(), "")
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{}", l.rel), "/dev/null")
                    .to_string();
                outcome.stale.push((l.rel, diff));
            }
            return Ok(outcome);
        }
        let mut staged = std::mem::take(&mut state.staged);
        staged.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
        // The manifest is replaced last: should a rename fail, the old one still lists the
        // files this run meant to remove, and the next run removes them.
        staged.extend(new_manifest);
        // Every folder of the generated set, written to or not: a killed run may have left
        // temporaries beside files this run finds unchanged. Not the folders this run
        // created: nothing was in them before it (a fresh output folder is not read again).
        let created: BTreeSet<&str> = state.created.iter().map(String::as_str).collect();
        let fresh_root = !state.created_root.is_empty();
        let dirs: Vec<Arc<Dir>> = state
            .listed
            .iter()
            .map(|(p, _)| p.as_str())
            .chain(staged.iter().map(|s| s.rel.as_str()))
            .map(|p| p.rsplit_once('/').map_or("", |(d, _)| d))
            .collect::<BTreeSet<&str>>()
            .into_iter()
            .filter(|d| !(created.contains(d) || fresh_root && d.is_empty()))
            .filter_map(|d| state.ready.get(d).cloned())
            .collect();
        drop(created);
        // From here on the folders this session created hold files: they stay.
        state.created.clear();
        state.created_root.clear();
        outcome.written = commit(staged)?;
        for dir in &dirs {
            confined::remove_stray_temporaries(dir);
        }
        let root = self
            .dir
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for l in leftovers {
            match l.dir.remove_file(&l.name) {
                Ok(()) => {
                    if let Some(root) = &root {
                        remove_empty_folders(root, &l.rel);
                    }
                    outcome.removed.push(l.rel);
                }
                Err(e) => outcome.kept.push((l.rel, format!("cannot remove it: {e}"))),
            }
        }
        Ok(outcome)
    }
}

impl Drop for Session {
    /// An unfinished session leaves the folder as it was: its temporary files are deleted
    /// (each on drop) and the folders it created are removed.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        state.staged.clear();
        state.ready.clear();
        // Deepest first: sets staged side by side each list the folders they created, in
        // whatever order they finished, so a parent may come before another set's child.
        let created = &mut state.created;
        created.sort_by(|a, b| {
            b.matches('/')
                .count()
                .cmp(&a.matches('/').count())
                .then_with(|| a.cmp(b))
        });
        created.dedup();
        if let Some(root) = self.dir.get_mut().unwrap_or_else(PoisonError::into_inner) {
            for dir in created.iter() {
                let _ = root.remove_dir(dir);
            }
        }
        *self.dir.get_mut().unwrap_or_else(PoisonError::into_inner) = None;
        for dir in state.created_root.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Removes the folders above a removed file (`rel`) that it leaves empty, up to the output
/// folder (not included). A folder with anything else in it stays.
fn remove_empty_folders(root: &Dir, rel: &str) {
    let mut dir = rel;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        if root.remove_dir(parent).is_err() {
            break;
        }
        dir = parent;
    }
}

/// Phase two: renames each temporary file over its target.
fn commit(staged: Vec<Staged>) -> Result<Vec<String>, WriteError> {
    let mut replaced = Vec::new();
    for s in staged {
        if let Err(e) = s.tmp.rename_to(&s.name) {
            // The temporary files not yet renamed are deleted on drop.
            let error = confined::io_err("replace", &s.shown)(e);
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
