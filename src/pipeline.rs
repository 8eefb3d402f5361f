//! The generator as an ordered chain of small steps: load → resolve → then, artifact by
//! artifact, render → check → serialize. Pure: no file system access (the caller reads the
//! spec and writes files).

use rayon::prelude::*;

use crate::check;
use crate::conventions;
use crate::diag::{self, Diagnostic};
use crate::model::{self, Model};
use crate::render::promtool_tests::Coverage;
use crate::render::{self, OutputFile, Target};
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
/// The typed artifacts are consumed by serialization (a fleet's would double the peak
/// memory); `render::render(&generated.model)` builds them again, the same.
#[derive(Debug)]
pub struct Generated {
    pub model: Model,
    /// How many alerts the unit tests prove.
    pub coverage: Coverage,
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

/// The steps, for the base or one environment: resolve; render the rules and check them;
/// render the unit tests and serialize them; render the dashboard and check it; serialize
/// the rest. Each step frees what it no longer needs before the next allocates, so a fleet
/// never holds every typed artifact, every parsed expression and every text at once.
/// Every finding is collected before failing; nothing is written when one is an error.
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
    let env = render::environment().map_err(Failure::Findings)?;
    let rules = render::prometheus::rule_file(&model, &env).map_err(Failure::Findings)?;
    let (cx, mut findings) = check::generated_rules(&model, &rules);
    let fail = |mut findings: Vec<Diagnostic>, more: Vec<Diagnostic>| {
        findings.extend(more);
        Failure::Findings(findings)
    };
    let (tests, coverage) = match render::promtool_tests::test_file(&model, &rules) {
        Ok(t) => t,
        Err(d) => return Err(fail(findings, d)),
    };
    let tests = (target == Target::Prometheus).then(|| render::test_output(&model, tests));
    let dashboard = render::grafana::dashboard(&model);
    findings.extend(check::generated_dashboard(&dashboard, &cx));
    drop(cx);
    if diag::has_errors(&findings) {
        return Err(Failure::Findings(findings));
    }
    let (dashboard, (runbook, rule_file)) = rayon::join(
        || render::dashboard_output(&dashboard),
        || {
            rayon::join(
                || render::docs::runbook(&model, &rules, &env),
                || render::rule_output(&model, &rules, target),
            )
        },
    );
    let runbook = match runbook {
        Ok(r) => r,
        Err(d) => return Err(fail(findings, vec![d])),
    };
    let mut files = render::FileSet {
        rules: rule_file.map_err(|d| Failure::Input(vec![d]))?,
        tests,
        dashboard,
        provisioning: render::provisioning_output(&model),
        runbook: render::runbook_output(runbook),
    }
    .into_files();
    for f in &mut files {
        f.path.insert_str(0, prefix);
    }
    Ok(Generated {
        model,
        coverage,
        files,
        warnings: findings,
    })
}
