//! A spec as it was at a git ref, read by running `git show REF:./FILE` in the spec's
//! folder (git's `./` is relative to that folder, so any spec path works, inside any
//! repository). Reads through git only: nothing on disk is opened here.

use std::path::Path;
use std::process::Command;

/// A spec at a ref: its text, or nothing when the file is not in that commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AtBase {
    Text(String),
    /// The file is not in the commit: the spec is new since then.
    Missing,
}

/// Why git could not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GitError(pub(crate) String);

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<std::process::Output, GitError> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| GitError(format!("cannot run git: {e}")))
}

/// The text of the spec at `path` in commit `reference`.
pub(crate) fn spec_at(reference: &str, path: &Path) -> Result<AtBase, GitError> {
    if reference.is_empty() || reference.starts_with('-') {
        return Err(GitError(format!("`{reference}` is not a git ref")));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Some(file) = path.file_name().map(|f| f.to_string_lossy().to_string()) else {
        return Err(GitError(format!("{} names no file", path.display())));
    };
    let commit = format!("{reference}^{{commit}}");
    let found = git(dir, &["rev-parse", "--verify", "--quiet", &commit])?;
    if !found.status.success() {
        let inside = git(dir, &["rev-parse", "--git-dir"])?;
        return Err(GitError(if inside.status.success() {
            format!(
                "`{reference}` names no commit in the repository of {}",
                path.display()
            )
        } else {
            format!("{} is not in a git repository", path.display())
        }));
    }
    let object = format!("{reference}:./{file}");
    if !git(dir, &["cat-file", "-e", &object])?.status.success() {
        return Ok(AtBase::Missing);
    }
    let shown = git(dir, &["show", &object])?;
    if !shown.status.success() {
        return Err(GitError(format!(
            "git show {object}: {}",
            String::from_utf8_lossy(&shown.stderr).trim()
        )));
    }
    String::from_utf8(shown.stdout)
        .map(AtBase::Text)
        .map_err(|_| GitError(format!("{object} is not UTF-8 text")))
}
