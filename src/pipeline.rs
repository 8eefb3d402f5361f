//! The generator as an ordered chain of small steps: load → resolve → render → check →
//! serialize. Pure: no file system access (the caller reads the spec and writes files).

use crate::check;
use crate::diag::{self, Diagnostic};
use crate::model::{self, Model};
use crate::render::{self, Artifacts, OutputFile};
use crate::source::Sources;
use crate::spec::{self, SpecSource};

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

/// Everything a spec generates, in memory.
#[derive(Debug)]
pub struct Generated {
    pub model: Model,
    pub artifacts: Artifacts,
    pub files: Vec<OutputFile>,
    /// Warning-level findings (errors would have failed the run).
    pub warnings: Vec<Diagnostic>,
}

/// Runs every step on a spec. The spec's text is added to `sources` so diagnostics can
/// show it.
pub fn generate(sources: &mut Sources, spec_source: &SpecSource) -> Result<Generated, Failure> {
    let file = sources.add(spec_source.name.clone(), spec_source.text.clone());
    let raw = spec::load(sources, file).map_err(|d| Failure::Input(vec![d]))?;
    let mut model = model::resolve(&raw, sources, file).map_err(Failure::Input)?;
    model.source_name = spec_source.name.clone();
    let artifacts = render::render(&model).map_err(Failure::Findings)?;
    let findings = check::check_artifacts(&model, &artifacts);
    if diag::has_errors(&findings) {
        return Err(Failure::Findings(findings));
    }
    let files = render::files(&model, &artifacts);
    Ok(Generated {
        model,
        artifacts,
        files,
        warnings: findings,
    })
}
