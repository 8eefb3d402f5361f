//! Helpers shared by the integration tests: generating a spec in memory, and finding the
//! external tools (promtool) that judge our output.
#![allow(dead_code)]

/// The fleet generator of `examples/fleet.rs`, shared with the benchmarks.
#[path = "../../../examples/fleet.rs"]
pub mod fleetgen;
pub mod process;
pub mod promql;
pub mod specgen;

use std::path::{Path, PathBuf};
use std::process::Command;

use poolwatch::pipeline::{self, Generated};
use poolwatch::source::Sources;
use poolwatch::spec::SpecSource;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The reference folder (the runbook, Grafana schemas and CRDs): `$POOLWATCH_SHARED` or
/// `../shared` beside the repository. Tests that read it declare `harness::Need::Shared`.
pub fn shared() -> PathBuf {
    crate::harness::shared()
}

/// Every spec the suite generates from: the built-in K2 spec, the `init` presets and the
/// fixtures under `tests/specs/`, as (short name, source).
pub fn all_specs() -> Vec<(String, SpecSource)> {
    let mut specs = vec![("k2".to_string(), SpecSource::builtin())];
    for (name, _, text) in poolwatch::spec::PRESETS.iter().filter(|p| p.0 != "k2") {
        specs.push((
            format!("preset-{name}"),
            SpecSource {
                name: format!("specs/presets/{name}.yaml"),
                text: text.to_string(),
            },
        ));
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("tests/specs"))
        .expect("tests/specs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    for p in paths {
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&p).unwrap();
        specs.push((
            name.clone(),
            SpecSource {
                name: format!("tests/specs/{name}.yaml"),
                text,
            },
        ));
    }
    specs
}

/// Generates a spec in memory, panicking with the rendered diagnostics on failure.
pub fn generate(source: &SpecSource) -> Generated {
    let mut sources = Sources::default();
    match pipeline::generate_spec(&mut sources, source, poolwatch::render::Target::Prometheus) {
        Ok(g) => g,
        Err(f) => panic!(
            "{} failed:\n{}",
            source.name,
            poolwatch::diag::render(f.diagnostics(), &sources, poolwatch::diag::Format::Human)
        ),
    }
}

/// A copy of the typed artifacts the pipeline serialized into `g.files`.
pub fn artifacts(g: &Generated) -> poolwatch::render::Artifacts {
    g.artifacts.clone()
}

/// The pool of a generated variant that a rule belongs to (`rule.origin.pool`).
pub fn pool<'a>(g: &'a Generated, name: &str) -> &'a poolwatch::model::Pool {
    g.model
        .pools
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no pool {name} in the model"))
}

/// Generates the base spec and every environment, as (variant name, generated): the base
/// is named `base`, environments by their name.
pub fn generate_all(source: &SpecSource) -> Vec<(String, Generated)> {
    let mut sources = Sources::default();
    let file = sources.add(source.name.clone(), source.text.clone());
    match pipeline::generate(
        &sources,
        file,
        poolwatch::render::Target::Prometheus,
        pipeline::Variants::All,
    ) {
        Ok(set) => set
            .into_iter()
            .map(|g| {
                let name = g.model.environment.clone().unwrap_or_else(|| "base".into());
                (name, g)
            })
            .collect(),
        Err(f) => panic!(
            "{} failed:\n{}",
            source.name,
            poolwatch::diag::render(f.diagnostics(), &sources, poolwatch::diag::Format::Human)
        ),
    }
}

/// Writes a generated set into a fresh temporary folder.
pub fn write_to_temp(g: &Generated) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    poolwatch::write::apply(dir.path(), &g.files, poolwatch::write::Mode::Write).unwrap();
    dir
}

/// promtool. Tests that call this declare `harness::PROMTOOL`, so it is there (or the
/// test was reported ignored, or failed under CI, before it ran).
pub fn promtool() -> PathBuf {
    tool("promtool")
}

/// prometheus (the server); tests that call this declare `harness::PROMETHEUS`.
pub fn prometheus() -> PathBuf {
    tool("prometheus")
}

fn tool(name: &str) -> PathBuf {
    crate::harness::tool(name)
        .unwrap_or_else(|| panic!("{name} is not on PATH: declare it in the test's needs"))
}

/// Runs a command, returning (success, stdout + stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("spawn");
    let mut text = String::from_utf8_lossy(&out.stdout).to_string();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// `promtool check rules FILE`.
pub fn promtool_check_rules(promtool: &Path, file: &Path) -> (bool, String) {
    run(Command::new(promtool).arg("check").arg("rules").arg(file))
}
