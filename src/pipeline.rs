//! The generator as an ordered chain of steps: load → resolve → render → check → serialize.
//! The app, the tests, the benchmarks and the fuzz target all run these same functions;
//! only writing (or diffing) the files is left to the caller ([`crate::write`]).
//!
//! Pure: no file system access. The caller adds each spec's text to [`Sources`] first, so
//! that several specs can go through the steps side by side and their diagnostics still
//! point into one set of sources.

use crate::check;
use crate::conventions;
use crate::diag::{self, Diagnostic};
use crate::model::{self, Model};
use crate::render::{self, Artifacts, OutputFile, Target};
use crate::source::{FileId, Sources};
use crate::spec::{self, RawSpec, SpecSource};

/// Why a run produced nothing.
#[derive(Debug)]
pub enum Failure {
    /// The spec cannot be used: YAML, types, names, numbers (exit code 2).
    Input(Vec<Diagnostic>),
    /// The spec loads but what it generates fails a check at error level (exit code 1).
    Findings(Vec<Diagnostic>),
}

impl Failure {
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Failure::Input(d) | Failure::Findings(d) => d,
        }
    }

    pub(crate) fn into_diagnostics(self) -> Vec<Diagnostic> {
        match self {
            Failure::Input(d) | Failure::Findings(d) => d,
        }
    }
}

/// Everything one variant of a spec (the base, or one environment) generates, in memory:
/// the typed artifacts and the very bytes `emit` writes.
#[derive(Debug)]
pub struct Generated {
    pub model: Model,
    pub artifacts: Artifacts,
    /// Paths are relative to the spec's output folder (environments under `env/<name>/`).
    pub files: Vec<OutputFile>,
    /// Warning-level findings (errors would have failed the run).
    pub warnings: Vec<Diagnostic>,
}

/// Which variants of a spec to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variants<'a> {
    /// The base spec at the output root, and every environment under `env/<name>/`.
    All,
    /// The base spec alone.
    Base,
    /// One environment's overlay, at the output root.
    Env(&'a str),
}

/// Step 1, load: the spec's YAML into the raw spec (syntax, field names, types).
pub fn load(sources: &Sources, file: FileId) -> Result<RawSpec, Failure> {
    spec::load(sources, file).map_err(|d| Failure::Input(vec![d]))
}

/// Step 2, resolve: the raw spec, with an environment's overlay, into the typed model;
/// also refuses a deploy target the spec has no settings for.
pub fn resolve(
    raw: &RawSpec,
    sources: &Sources,
    file: FileId,
    env: Option<&str>,
    target: Target,
) -> Result<Model, Failure> {
    let mut model =
        model::resolve(raw, sources, file, env, &crate::signals::handles()).map_err(|mut d| {
            diag::sort(&mut d);
            Failure::Input(d)
        })?;
    model.source_name = sources
        .get(file)
        .expect("the spec was loaded from this file id")
        .name
        .clone();
    render::check_target(&model, target).map_err(|d| Failure::Input(vec![d]))?;
    Ok(model)
}

/// Step 3, render: the model into typed rules, unit tests, dashboard and runbook.
pub fn render(model: &Model) -> Result<Artifacts, Failure> {
    let env = render::environment().map_err(Failure::Findings)?;
    render::render(model, env).map_err(Failure::Findings)
}

/// Step 4, check: every check of the rules and the dashboard. Returns every finding;
/// the caller fails on errors.
pub fn check(model: &Model, artifacts: &Artifacts) -> Vec<Diagnostic> {
    let (cx, mut findings) = check::generated_rules(model, &artifacts.rules);
    findings.extend(check::generated_dashboard(model, &artifacts.dashboard, &cx));
    findings
}

/// Step 5, serialize: the artifacts into the files of a deploy target.
pub fn serialize(
    model: &Model,
    artifacts: &Artifacts,
    target: Target,
) -> Result<Vec<OutputFile>, Failure> {
    render::serialize(model, artifacts, target).map_err(Failure::Findings)
}

/// Steps 2 to 5 for one variant (the base, or one environment), its files under
/// `prefix`. Nothing is serialized when a check finds an error.
pub fn variant(
    raw: &RawSpec,
    sources: &Sources,
    file: FileId,
    env: Option<&str>,
    target: Target,
    prefix: &str,
) -> Result<Generated, Failure> {
    let model = resolve(raw, sources, file, env, target)?;
    let artifacts = render(&model)?;
    let warnings = check(&model, &artifacts);
    if diag::has_errors(&warnings) {
        return Err(Failure::Findings(warnings));
    }
    let mut files = serialize(&model, &artifacts, target)?;
    for f in &mut files {
        f.path.insert_str(0, prefix);
    }
    Ok(Generated {
        model,
        artifacts,
        files,
        warnings,
    })
}

/// The whole chain for the chosen variants of one spec, base first, then environments
/// in name order. The spec's text must already be in `sources`.
pub fn generate(
    sources: &Sources,
    file: FileId,
    target: Target,
    variants: Variants<'_>,
) -> Result<Vec<Generated>, Failure> {
    let raw = load(sources, file)?;
    generate_loaded(&raw, sources, file, target, variants)
}

/// Steps 2 to 5 for the chosen variants of a loaded spec.
pub(crate) fn generate_loaded(
    raw: &RawSpec,
    sources: &Sources,
    file: FileId,
    target: Target,
    variants: Variants<'_>,
) -> Result<Vec<Generated>, Failure> {
    plan(raw, variants)
        .iter()
        .map(|(env, prefix)| variant(raw, sources, file, *env, target, prefix))
        .collect()
}

/// The variants to generate of a loaded spec, in order: (environment, path prefix).
pub(crate) fn plan<'a>(raw: &'a RawSpec, variants: Variants<'a>) -> Vec<(Option<&'a str>, String)> {
    match variants {
        Variants::Base => vec![(None, String::new())],
        Variants::Env(env) => vec![(Some(env), String::new())],
        Variants::All => std::iter::once((None, String::new()))
            .chain(
                raw.environments
                    .keys()
                    .map(|e| (Some(e.as_str()), conventions::environment_dir(e))),
            )
            .collect(),
    }
}

/// Hand-written rule files and dashboards, already in `sources`, as `check --rules` and
/// `--dashboards` lint them (`check::run::files`, the app's own step) against metric names
/// alone: the files a repository holds, untrusted. Returns the files that are no rule file
/// or dashboard at all (exit code 2), then the findings. The fuzz targets run this.
pub fn lint(
    sources: &Sources,
    rule_files: &[FileId],
    dashboards: &[FileId],
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let linted = check::run::files(
        check::knowledge::Knowledge::default(),
        None,
        sources,
        rule_files,
        dashboards,
    );
    (linted.unusable, linted.findings)
}

/// The base variant of one spec for one deploy target, its text added to `sources`: how
/// the tests and the fuzz target run the chain.
pub fn generate_spec(
    sources: &mut Sources,
    source: &SpecSource,
    target: Target,
) -> Result<Generated, Failure> {
    let file = sources.add(source.name.clone(), source.text.clone());
    let raw = load(sources, file)?;
    variant(&raw, sources, file, None, target, "")
}
