//! `check --rules/--dashboards`: the files named, what is known of their metrics, the
//! levels asked for, and every file checked before anything is printed.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::edge::{
    EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, OUTPUT, READ, Report, failure_report, read_text,
};
use crate::check;
use crate::check::knowledge::{Knowledge, Provenance, parse_exposition, parse_metadata};
use crate::check::policy::{self, LintPolicy};
use crate::cli::CheckArgs;
use crate::diag::{self, Diagnostic, Format};
use crate::source::{FileId, Sources};
use crate::spec;
use crate::write::{self, Mode};

/// The files `--rules`/`--dashboards` name: files as given, folders searched (sorted, so
/// the output is the same on every machine) for files with one of `exts`.
fn expand(paths: &[PathBuf], exts: &[&str]) -> (Vec<(PathBuf, bool)>, Vec<Diagnostic>) {
    fn walk(dir: &Path, exts: &[&str], out: &mut Vec<(PathBuf, bool)>, errs: &mut Vec<Diagnostic>) {
        // The entry's type comes with the folder listing. A link found in a folder is not
        // followed: a repository under check could point it at any file on the machine
        // (whose text a diagnostic would then print), or at a folder above it (a loop).
        let mut entries: Vec<(PathBuf, bool)> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| {
                    let e = e.ok()?;
                    let p = e.path();
                    match e.file_type() {
                        Ok(t) if t.is_symlink() => {
                            let hidden = e.file_name().to_string_lossy().starts_with('.');
                            if !hidden {
                                errs.push(Diagnostic::warning(
                                    READ,
                                    format!(
                                        "{} is a symbolic link, not followed in a searched \
                                         folder; name its target on the command line to check it",
                                        p.display()
                                    ),
                                ));
                            }
                            None
                        }
                        Ok(t) => Some((p, t.is_dir())),
                        Err(_) => Some((p.clone(), p.is_dir())),
                    }
                })
                .collect(),
            Err(e) => {
                errs.push(Diagnostic::error(
                    READ,
                    format!("cannot read the folder {}: {e}", dir.display()),
                ));
                return;
            }
        };
        entries.sort();
        for (p, is_dir) in entries {
            let hidden = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden {
                continue;
            }
            if is_dir {
                walk(&p, exts, out, errs);
            } else if p
                .extension()
                .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
            {
                out.push((p, true));
            }
        }
    }
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, exts, &mut out, &mut errs);
        } else {
            out.push((p.clone(), false));
        }
    }
    (out, errs)
}

/// What the files are checked against: what is known of the metrics, the spec's
/// severities (none without a spec), and those sources in words for the summary.
type Against = (Knowledge, Option<Vec<String>>, String);

/// What `--metrics`, `--metadata` and `--spec` say about the metrics, and the spec's
/// severities. Only the spec's catalog is resolved: nothing is generated.
fn knowledge(args: &CheckArgs, sources: &mut Sources) -> Result<Against, Vec<Diagnostic>> {
    let mut errs = Vec::new();
    let (mut k, severities, mut said) = match args.spec.spec.as_slice() {
        [] => (Knowledge::default(), None, Vec::new()),
        [path] => {
            let src = read_text(path, "spec").map_err(|d| vec![d])?;
            let name = src.name.clone();
            let file = sources.add(src.name, src.text);
            let raw = spec::load(sources, file).map_err(|d| vec![d])?;
            let model =
                crate::model::resolve(&raw, sources, file, None, &crate::signals::handles())?;
            (
                Knowledge::from_model(&model),
                Some(model.severities),
                vec![format!("the catalog of {name}")],
            )
        }
        _ => {
            return Err(vec![Diagnostic::error(
                READ,
                "--rules and --dashboards are checked against one spec's catalog: give one --spec",
            )]);
        }
    };
    k.target = crate::check::knowledge::Target::from_flag(args.prometheus);
    for path in &args.metrics {
        match read_text(path, "metrics exposition") {
            Err(d) => errs.push(d),
            Ok(src) => match parse_exposition(&src.text) {
                Ok(f) => {
                    said.push(src.name.clone());
                    k.merge(Provenance::Exposition, f);
                }
                Err((line, msg)) => {
                    let file = sources.add(src.name, src.text);
                    let at = sources.offset_of(file, line, 1);
                    errs.push(
                        Diagnostic::error(READ, format!("not a /metrics exposition: {msg}"))
                            .at(at.map(|o| crate::source::Span::new(file, o..o + 1))),
                    );
                }
            },
        }
    }
    for path in &args.metadata {
        match read_text(path, "metadata response") {
            Err(d) => errs.push(d),
            Ok(src) => match parse_metadata(&src.text) {
                Ok(f) => {
                    said.push(src.name.clone());
                    k.merge(Provenance::Metadata, f);
                }
                Err(msg) => errs.push(
                    Diagnostic::error(READ, format!("{}: {msg}", src.name))
                        .object(format!("metadata {}", src.name)),
                ),
            },
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let said = if said.is_empty() {
        "no catalog (types from metric names)".to_string()
    } else {
        said.join(", ")
    };
    Ok((k, severities, said))
}

/// The `--level` settings and the `--baseline` file.
fn policy(args: &CheckArgs) -> Result<LintPolicy, Diagnostic> {
    let policy = LintPolicy::new(&args.level).map_err(|bad| {
        let d = Diagnostic::error(READ, bad.message);
        match bad.help {
            Some(h) => d.help(h),
            None => d,
        }
    })?;
    let Some(path) = &args.baseline else {
        return Ok(policy);
    };
    let src = read_text(path, "baseline")?;
    let baseline = check::baseline::parse(&src.text)
        .map_err(|m| Diagnostic::error(READ, format!("{}: {m}", src.name)))?;
    Ok(policy.with_baseline(baseline))
}

/// The files `--rules` and `--dashboards` name, read into `sources`.
struct Read {
    rule_files: Vec<FileId>,
    dashboards: Vec<FileId>,
    /// Files that cannot be read (exit code 2).
    unusable: Vec<Diagnostic>,
    /// Links in the folders searched, passed over (warnings).
    passed_over: Vec<Diagnostic>,
    /// Files in the folders searched that hold no rule groups or panels.
    skipped: usize,
}

/// Reads the files `--rules` and `--dashboards` name (folders searched).
fn read_files(args: &CheckArgs, sources: &mut Sources) -> Read {
    let (rule_paths, mut input) = expand(&args.rules, &["yml", "yaml"]);
    let (dash_paths, more) = expand(&args.dashboards, &["json"]);
    input.extend(more);
    // Links passed over are reported, but are no unusable input.
    let (passed_over, mut unusable): (Vec<_>, Vec<_>) = input
        .into_iter()
        .partition(|d| d.severity == diag::Severity::Warning);
    let mut skipped = 0;
    let mut read = |paths: &[(PathBuf, bool)], what: &str, markers: &[&str]| -> Vec<FileId> {
        // A repository is hundreds of small files, each a few system calls: read on both
        // cores, then added in order.
        let texts: Vec<_> = paths
            .par_iter()
            .map(|(path, _)| read_text(path, what))
            .collect();
        let mut ids = Vec::new();
        for ((_, found), text) in paths.iter().zip(texts) {
            match text {
                // A file found in a folder that cannot be one (a Deployment, a package
                // manifest) is passed over; a file named on the command line is not.
                Ok(src) if *found && !markers.iter().any(|m| src.text.contains(m)) => skipped += 1,
                Ok(src) => ids.push(sources.add(src.name, src.text)),
                Err(d) => unusable.push(d),
            }
        }
        ids
    };
    let rule_files = read(&rule_paths, "rule file", &["groups"]);
    // Old dashboards keep their panels in `rows`.
    let dashboards = read(&dash_paths, "dashboard", &["\"panels\"", "\"rows\""]);
    Read {
        rule_files,
        dashboards,
        unusable,
        passed_over,
        skipped,
    }
}

/// Writes the baseline file `--write-baseline` names.
fn write_baseline(path: &Path, text: String) -> Result<(), Diagnostic> {
    let file = crate::render::OutputFile {
        path: path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        contents: text,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    write::apply(dir, &[file], Mode::Write)
        .map(drop)
        .map_err(|e| Diagnostic::error(OUTPUT, e.to_string()))
}

/// `check --rules PATH... --dashboards PATH...`: lints hand-written files, with what
/// `--spec`, `--metrics` and `--metadata` say about the metrics (nothing but their names
/// without them). Every file is read and checked before anything is printed; the levels,
/// baseline and `--fail-on` are `check::policy`'s.
pub(super) fn check_files(args: &CheckArgs) -> Report {
    let format = args.output.format;
    let mut sources = Sources::default();
    let (knowledge, severities, against) = match knowledge(args, &mut sources) {
        Ok(k) => k,
        Err(d) => return failure_report(&sources, &d, format, EXIT_INPUT),
    };
    let policy = match policy(args) {
        Ok(p) => p,
        Err(d) => return failure_report(&sources, &[d], format, EXIT_INPUT),
    };
    let read = read_files(args, &mut sources);
    let mut input = read.unusable;
    let linted = check::run::files(
        knowledge,
        severities,
        &sources,
        &read.rule_files,
        &read.dashboards,
    );
    input.extend(linted.unusable);
    if let (Some(dir), true) = (&args.svg, input.is_empty()) {
        let pictures = crate::review::pictures(&sources, &read.dashboards);
        if let Err(e) = write::apply(dir, &pictures, Mode::Write) {
            let d = Diagnostic::error(OUTPUT, e.to_string());
            return failure_report(&sources, &[d], format, EXIT_INPUT);
        }
    }
    let mut diags = linted.findings;
    diags.extend(read.passed_over);
    policy.leveled(&mut diags);
    if let Some(path) = &args.write_baseline
        && let Err(d) = write_baseline(path, check::baseline::write(&diags, &sources))
    {
        return failure_report(&sources, &[d], format, EXIT_INPUT);
    }
    let baselined = policy.baselined(&mut diags, &sources);
    let failing = policy::fails(args.fail_on, &diags);
    let code = if !input.is_empty() {
        EXIT_INPUT
    } else if failing && args.write_baseline.is_none() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    };
    input.append(&mut diags);
    let text = diag::render(&input, &sources, format);
    let mut report = Report {
        code,
        ..Report::default()
    };
    if format != Format::Human {
        report.stdout = text;
        return report;
    }
    let counts = policy::Counts {
        rules: (!args.rules.is_empty()).then_some((read.rule_files.len(), linted.rules)),
        dashboards: (!args.dashboards.is_empty()).then_some(read.dashboards.len()),
        baselined,
        skipped_queries: linted.skipped_queries,
        skipped_files: read.skipped,
        baseline_written: args
            .write_baseline
            .as_ref()
            .map(|p| p.display().to_string()),
    };
    report.stderr = text;
    report
        .stderr
        .push_str(&policy::summary(&counts, &against, &input));
    report
}
