//! The output folder as a capability: one directory handle (cap-std `Dir`), opened once,
//! through which every read, write, rename and removal of a run goes, by a name relative
//! to it. The kernel then resolves every name beneath that folder: a `..`, an absolute
//! path or a symbolic link that leads out of it fails, even one swapped in while the run
//! is going (there is no check of a path followed by a use of that path, only uses
//! relative to open handles).
//!
//! On top of that confinement, poolwatch follows no symbolic link inside the output folder
//! at all: a link where it would read or write is an error naming the link
//! ([`WriteError::Symlink`]). The link check is a lookup before the use; a link swapped in
//! after it can only lead somewhere inside the folder, which the handle guarantees.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::fs::{Dir, OpenOptions, Permissions, PermissionsExt as _};

use super::WriteError;

/// Prefix and suffix of the temporary files; stray ones are recognised by them.
pub(super) const TMP_PREFIX: &str = ".poolwatch-";
pub(super) const TMP_SUFFIX: &str = ".tmp";

/// The parts of a relative path that poolwatch writes or removes: plain names only. An
/// absolute path, `.`, `..`, an empty name or a backslash (a separator on Windows) is
/// refused, so a path in an untrusted manifest can only name something below the folder.
pub(super) fn parts(rel: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = rel.split('/').collect();
    let plain = |p: &&str| !p.is_empty() && *p != "." && *p != ".." && !p.contains(['\\', '\0']);
    parts.iter().all(plain).then_some(parts)
}

/// Opens the output folder itself. `None`: it does not exist (check mode compares against
/// nothing; write mode creates it when the first file needs it). The folder given by
/// `--out` may not be a link either: a repository can hold `generated -> ~/.ssh`.
pub(super) fn open_root(path: &Path) -> Result<Option<Dir>, WriteError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(WriteError::Symlink(path.to_path_buf())),
        Ok(m) if m.is_dir() => Dir::open_ambient_dir(path, cap_std::ambient_authority())
            .map(Some)
            .map_err(io_err("open the folder", path)),
        Ok(_) => Err(WriteError::NotADirectory(path.to_path_buf())),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            // The nearest existing ancestor must be a folder, or nothing can be created.
            match path
                .ancestors()
                .skip(1)
                .find(|a| a.as_os_str().is_empty() || a.exists())
            {
                Some(a) if !a.as_os_str().is_empty() && !a.is_dir() => {
                    Err(WriteError::NotADirectory(a.to_path_buf()))
                }
                _ => Ok(None),
            }
        }
        Err(e) => Err(io_err("read", path)(e)),
    }
}

/// Creates the output folder (and the folders above it that are missing), returning the
/// handle and the folders created, deepest last.
pub(super) fn create_root(path: &Path) -> Result<(Dir, Vec<PathBuf>), WriteError> {
    let missing: Vec<PathBuf> = path
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .map(Path::to_path_buf)
        .collect();
    std::fs::create_dir_all(path).map_err(io_err("create the folder", path))?;
    let dir = open_root(path)?.ok_or_else(|| WriteError::NotADirectory(path.to_path_buf()))?;
    Ok((dir, missing.into_iter().rev().collect()))
}

/// Opens the folder `rel` (plain names, see [`parts`]) below `root`, one name at a time,
/// refusing links. `None`: a folder on the way is missing and `create` is false. Created
/// folders are appended to `created` (relative paths, parents first).
pub(super) fn open_dir(
    root: &Dir,
    root_path: &Path,
    rel: &[&str],
    create: bool,
    created: &mut Vec<String>,
) -> Result<Option<Dir>, WriteError> {
    let mut cur = root
        .try_clone()
        .map_err(io_err("open the folder", root_path))?;
    for (i, name) in rel.iter().enumerate() {
        let shown = || root_path.join(rel[..=i].join("/"));
        match cur.symlink_metadata(name) {
            Ok(m) if m.file_type().is_symlink() => return Err(WriteError::Symlink(shown())),
            Ok(m) if !m.is_dir() => return Err(WriteError::NotADirectory(shown())),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !create {
                    return Ok(None);
                }
                match cur.create_dir(name) {
                    Ok(()) => created.push(rel[..=i].join("/")),
                    // Another thread of this run created it first.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_err("create the folder", &shown())(e)),
                }
                // Looked at again: what is there now must be a folder, not a link.
                match cur.symlink_metadata(name) {
                    Ok(m) if m.is_dir() => {}
                    Ok(m) if m.file_type().is_symlink() => {
                        return Err(WriteError::Symlink(shown()));
                    }
                    _ => return Err(WriteError::NotADirectory(shown())),
                }
            }
            Err(e) => return Err(io_err("read", &shown())(e)),
        }
        cur = cur
            .open_dir(name)
            .map_err(io_err("open the folder", &shown()))?;
    }
    Ok(Some(cur))
}

/// A file's contents, `None` when there is none. A link is an error naming it.
pub(super) fn read(dir: &Dir, name: &str, shown: &Path) -> Result<Option<Vec<u8>>, WriteError> {
    match dir.symlink_metadata(name) {
        Ok(m) if m.file_type().is_symlink() => Err(WriteError::Symlink(shown.to_path_buf())),
        Ok(_) => dir.read(name).map(Some).map_err(io_err("read", shown)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", shown)(e)),
    }
}

/// The permission bits a file there has, if it is a plain file.
pub(super) fn mode_of(dir: &Dir, name: &str) -> Option<u32> {
    let m = dir.symlink_metadata(name).ok()?;
    m.is_file().then(|| m.permissions().mode())
}

/// A temporary file in `dir`, to be renamed over its target; removed on drop unless
/// renamed.
#[derive(Debug)]
pub(super) struct Temp {
    pub(super) dir: std::sync::Arc<Dir>,
    pub(super) name: String,
    renamed: bool,
}

/// Tells this process's temporary files apart (the process id tells processes apart).
static NEXT: AtomicU64 = AtomicU64::new(0);

impl Temp {
    /// Writes `bytes` to a new file (never an existing one: `create_new`) in `dir`, with
    /// the permission bits `mode`.
    pub(super) fn write(
        dir: std::sync::Arc<Dir>,
        bytes: &[u8],
        mode: u32,
        shown: &Path,
    ) -> Result<Self, WriteError> {
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!("{TMP_PREFIX}{:x}-{n:x}{TMP_SUFFIX}", std::process::id());
            let file = match dir.open_with(&name, OpenOptions::new().write(true).create_new(true)) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err("create a temporary file for", shown)(e)),
            };
            let temp = Temp {
                dir,
                name,
                renamed: false,
            };
            // Set, not masked by the umask: a generated file is as readable as any other
            // (0644), or keeps the mode of the file it replaces.
            file.set_permissions(Permissions::from_mode(mode))
                .and_then(|()| (&file).write_all(bytes))
                .map_err(io_err("write", shown))?;
            return Ok(temp);
        }
    }

    /// Renames the temporary file over `name` in its folder. A link there is replaced,
    /// never followed.
    pub(super) fn rename_to(mut self, name: &str) -> io::Result<()> {
        self.dir.rename(&self.name, &self.dir, name)?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = self.dir.remove_file(&self.name);
        }
    }
}

/// Removes temporary files a killed run left in `dir`. They are never read: a file is
/// replaced only by a complete temporary file, so leftovers are only clutter. (Two runs
/// writing into one folder at the same moment are not supported: one could remove the
/// other's temporary file, which then fails with an error, never with a partial file.)
pub(super) fn remove_stray_temporaries(dir: &Dir) {
    let Ok(entries) = dir.entries() else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX) {
            let _ = dir.remove_file(&*name);
        }
    }
}

pub(super) fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
