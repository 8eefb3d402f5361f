//! Review of a change: what it does for on-call in words (`emit --check`, `diff`), and a
//! picture of each dashboard (`svg`). The old side is the spec at a git ref, run through
//! the same pipeline as the new one: both are compared as typed models and artifacts.

pub(crate) mod backtest;
pub(crate) mod digest;
pub(crate) mod format;
pub(crate) mod git;
pub(crate) mod summary;
pub(crate) mod svg;

use std::collections::BTreeMap;
use std::path::Path;

use self::digest::{Digest, VariantKey};
use self::summary::Summary;
use crate::cli::{BacktestArgs, DiffArgs};
use crate::pipeline::{self, Failure, Variants};
use crate::render::prometheus::RuleFile;
use crate::render::{OutputFile, Target};
use crate::source::{FileId, Sources};

/// Why there is no summary.
#[derive(Debug)]
pub(crate) enum NoSummary {
    /// git could not read the base.
    Git(git::GitError),
    /// The spec at the base does not generate; its diagnostics point into `sources`.
    Base(Failure, Sources),
    /// The working spec does not generate.
    Spec(Failure),
}

/// The digest of every variant the specs generate.
fn digests(
    sources: &Sources,
    files: &[FileId],
    target: Target,
    variants: Variants<'_>,
) -> Result<BTreeMap<VariantKey, Digest>, Failure> {
    let mut out = BTreeMap::new();
    for &file in files {
        for g in pipeline::generate(sources, file, target, variants)? {
            out.insert(digest::key(&g.model), digest::digest(&g));
        }
    }
    Ok(out)
}

/// What the specs (already in `sources`) change since `base`: each spec file's text at
/// that ref is read through git and generated as the working copy is. A spec that is not
/// in the commit is new: all it generates is added (and a note says so). A spec that is
/// no file (the built-in K2 spec) has no history and is left out, with a note.
pub(crate) fn since(
    base: &str,
    sources: &Sources,
    files: &[FileId],
    target: Target,
    variants: Variants<'_>,
) -> Result<Summary, NoSummary> {
    let mut notes = Vec::new();
    let mut old_sources = Sources::default();
    let (mut old_files, mut new_files) = (Vec::new(), Vec::new());
    for &file in files {
        let Some(name) = sources.get(file).map(|f| f.name.clone()) else {
            continue;
        };
        let path = Path::new(&name);
        if !path.is_file() {
            notes.push(format!(
                "{name} is the built-in spec, not a file in git: it is left out"
            ));
            continue;
        }
        new_files.push(file);
        match git::spec_at(base, path).map_err(NoSummary::Git)? {
            git::AtBase::Text(text) => {
                old_files.push(old_sources.add(format!("{base}:{name}"), text))
            }
            git::AtBase::Missing => notes.push(format!(
                "{name} is not in {base}: everything it generates is new"
            )),
        }
    }
    let old = match digests(&old_sources, &old_files, target, variants) {
        Ok(d) => d,
        Err(f) => return Err(NoSummary::Base(f, old_sources)),
    };
    let new = digests(sources, &new_files, target, variants).map_err(NoSummary::Spec)?;
    Ok(summary::summarize(base, &old, &new, notes))
}

/// The pictures of hand-written dashboards (`check --dashboards ... --svg DIR`): one SVG
/// per dashboard that is JSON, named after its file (`a/pool.json` gives `pool.svg`; a
/// name taken by an earlier dashboard gets `-2`, `-3`, ...), in the order given.
pub(crate) fn pictures(sources: &Sources, dashboards: &[FileId]) -> Vec<OutputFile> {
    let mut out: Vec<OutputFile> = Vec::new();
    for file in dashboards.iter().filter_map(|f| sources.get(*f)) {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&file.text) else {
            continue;
        };
        let name = std::path::Path::new(&file.name)
            .file_name()
            .map_or_else(|| file.name.clone(), |n| n.to_string_lossy().to_string());
        let first = crate::conventions::svg_beside(&name);
        let mut path = first.clone();
        let mut n = 1;
        while out.iter().any(|o| o.path == path) {
            n += 1;
            path = format!("{}-{n}.svg", first.trim_end_matches(".svg"));
        }
        out.push(OutputFile {
            path,
            contents: svg::dashboard(&json),
        });
    }
    out
}

impl NoSummary {
    /// Why there is no summary, in `format` (diagnostics of a spec that does not
    /// generate, located in its text at the base).
    pub(crate) fn render(&self, sources: &Sources, format: crate::diag::Format) -> String {
        use crate::diag::{self, Diagnostic};
        let (diags, sources, what) = match self {
            NoSummary::Git(e) => return format!("poolwatch: no summary of the change: {e}\n"),
            NoSummary::Base(f, s) => (f.diagnostics(), s, "the spec at the base"),
            NoSummary::Spec(f) => (f.diagnostics(), sources, "the spec"),
        };
        let mut diags: Vec<Diagnostic> = diags.to_vec();
        diag::sort(&mut diags);
        format!(
            "{}poolwatch: no summary of the change: {what} does not generate ({})\n",
            diag::render(&diags, sources, format),
            diag::summary(&diags)
        )
    }
}

/// Exit code of unusable input (`app::EXIT_INPUT`).
const EXIT_INPUT: u8 = 2;

/// `poolwatch diff --base REF`: (stdout, stderr, exit code).
pub(crate) fn diff(args: &DiffArgs, sources: &Sources, files: &[FileId]) -> (String, String, u8) {
    let Some(base) = args.base.base.as_deref() else {
        let msg = "poolwatch: diff needs --base REF: the git ref to compare with\n";
        return (String::new(), msg.to_string(), EXIT_INPUT);
    };
    match since(base, sources, files, Target::Prometheus, Variants::All) {
        Ok(summary) => (
            format::render(&summary, args.output.format),
            String::new(),
            0,
        ),
        Err(e) => (
            String::new(),
            e.render(sources, args.output.format),
            EXIT_INPUT,
        ),
    }
}

/// The rule file of one variant of a spec, or why it does not generate.
fn rules_of(sources: &Sources, file: FileId, env: Option<&str>) -> Result<RuleFile, String> {
    let variants = env.map_or(Variants::Base, Variants::Env);
    match pipeline::generate(sources, file, Target::Prometheus, variants) {
        Ok(mut g) if !g.is_empty() => Ok(g.swap_remove(0).artifacts.rules),
        Ok(_) => Err("no variant generated".into()),
        Err(f) => {
            let mut d = f.into_diagnostics();
            crate::diag::sort(&mut d);
            Err(crate::diag::render(&d, sources, crate::diag::Format::Human))
        }
    }
}

/// `poolwatch backtest`: (stdout, stderr, exit code). Everything is asked of the server
/// before anything is printed: an error prints nothing on stdout.
pub(crate) fn backtest(
    args: &BacktestArgs,
    sources: &Sources,
    files: &[FileId],
) -> (String, String, u8) {
    let fail = |msg: String| (String::new(), format!("poolwatch: {msg}\n"), EXIT_INPUT);
    let [file] = files else {
        return fail("backtest replays one spec: give one --spec".into());
    };
    let env = args.env.as_deref();
    let new = match rules_of(sources, *file, env) {
        Ok(r) => r,
        Err(e) => return fail(format!("the spec does not generate:\n{e}")),
    };
    let old = match args.base.base.as_deref() {
        None => None,
        Some(base) => {
            let name = sources
                .get(*file)
                .map(|f| f.name.clone())
                .unwrap_or_default();
            match git::spec_at(base, Path::new(&name)) {
                Err(e) => return fail(e.0),
                Ok(git::AtBase::Missing) => None,
                Ok(git::AtBase::Text(text)) => {
                    let mut old_sources = Sources::default();
                    let f = old_sources.add(format!("{base}:{name}"), text);
                    match rules_of(&old_sources, f, env) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            return fail(format!("the spec at {base} does not generate:\n{e}"));
                        }
                    }
                }
            }
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let replay = backtest::Window::new(&args.range, now, 60).and_then(|w| {
        backtest::replay(
            &backtest::Prometheus::new(&args.prometheus),
            w,
            old.as_ref(),
            &new,
        )
    });
    match replay {
        Ok(r) => (backtest::render(&r, args.output.format), String::new(), 0),
        Err(e) => fail(e.0),
    }
}
