//! The generator as an ordered chain of small steps: load → resolve → render → check →
//! serialize. Pure: no file system access (the caller reads the spec and writes files).

use rayon::prelude::*;

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
}

/// Everything one variant of a spec (the base, or one environment) generates, in memory.
#[derive(Debug)]
pub struct Generated {
    pub model: Model,
    pub artifacts: Artifacts,
    /// Paths are relative to the output folder (environments under `env/<name>/`).
    pub files: Vec<OutputFile>,
    /// Warning-level findings (errors would have failed the run).
    pub warnings: Vec<Diagnostic>,
}

/// Which variants of a spec to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variants<'a> {
    /// The base spec at the output root, and every environment under `env/<name>/`.
    All,
    /// One environment's overlay, at the output root.
    Env(&'a str),
}

/// Generates the base spec for plain Prometheus.
pub fn generate(sources: &mut Sources, spec_source: &SpecSource) -> Result<Generated, Failure> {
    generate_for(sources, spec_source, Target::Prometheus)
}

/// Generates the base spec for a deploy target.
pub fn generate_for(
    sources: &mut Sources,
    spec_source: &SpecSource,
    target: Target,
) -> Result<Generated, Failure> {
    let (raw, file) = load(sources, spec_source)?;
    variant(&raw, sources, file, spec_source, target, None, "")
}

/// Generates the chosen variants of a spec: every file they produce, in a fixed order.
pub fn generate_set(
    sources: &mut Sources,
    spec_source: &SpecSource,
    target: Target,
    variants: Variants<'_>,
) -> Result<Vec<Generated>, Failure> {
    let (raw, file) = load(sources, spec_source)?;
    // (environment, path prefix) of each variant, base first.
    let plan: Vec<(Option<&str>, String)> = match variants {
        Variants::Env(env) => vec![(Some(env), String::new())],
        Variants::All => std::iter::once((None, String::new()))
            .chain(
                raw.environments
                    .keys()
                    .map(|e| (Some(e.as_str()), conventions::environment_dir(e))),
            )
            .collect(),
    };
    // Variants are independent: generate them side by side, keep the plan's order.
    let sources: &Sources = sources;
    plan.par_iter()
        .map(|(env, prefix)| variant(&raw, sources, file, spec_source, target, *env, prefix))
        .collect()
}

fn load(sources: &mut Sources, spec_source: &SpecSource) -> Result<(RawSpec, FileId), Failure> {
    let file = sources.add(spec_source.name.clone(), spec_source.text.clone());
    let raw = spec::load(sources, file).map_err(|d| Failure::Input(vec![d]))?;
    Ok((raw, file))
}

/// resolve → render → check → serialize, for the base or one environment.
fn variant(
    raw: &RawSpec,
    sources: &Sources,
    file: FileId,
    spec_source: &SpecSource,
    target: Target,
    env: Option<&str>,
    prefix: &str,
) -> Result<Generated, Failure> {
    let mut model = model::resolve(raw, sources, file, env).map_err(|mut d| {
        diag::sort(&mut d);
        Failure::Input(d)
    })?;
    model.source_name = spec_source.name.clone();
    let artifacts = render::render(&model).map_err(Failure::Findings)?;
    // Checks first, then serialization: each uses every core by itself, and what one
    // allocates is freed before the other starts (a fleet's peak memory). Nothing is
    // serialized when a check fails.
    let findings = check::check_artifacts(&model, &artifacts);
    if diag::has_errors(&findings) {
        return Err(Failure::Findings(findings));
    }
    let mut files =
        render::files(&model, &artifacts, target).map_err(|d| Failure::Input(vec![d]))?;
    for f in &mut files {
        f.path.insert_str(0, prefix);
    }
    Ok(Generated {
        model,
        artifacts,
        files,
        warnings: findings,
    })
}
