//! Helpers shared by the integration tests: generating a spec in memory, and finding the
//! external tools (promtool) that judge our output.
#![allow(dead_code)]
// Test support: failing loudly is its job (clippy's test allowances cover only #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod process;
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

/// `../shared` beside the repository: the runbook, Grafana schemas and CRDs.
pub fn shared() -> PathBuf {
    root().join("..").join("shared")
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
    match pipeline::generate(&mut sources, source) {
        Ok(g) => g,
        Err(f) => panic!(
            "{} failed:\n{}",
            source.name,
            poolwatch::diag::render(f.diagnostics(), &sources, poolwatch::diag::Format::Human)
        ),
    }
}

/// The typed artifacts of a generated variant: the pipeline's own were consumed by
/// serialization, and rendering is pure, so rendering the model again gives the same.
pub fn artifacts(g: &Generated) -> poolwatch::render::Artifacts {
    match poolwatch::render::render(&g.model) {
        Ok(a) => a,
        Err(d) => panic!("{} does not render: {d:?}", g.model.source_name),
    }
}

/// Generates the base spec and every environment, as (variant name, generated): the base
/// is named `base`, environments by their name.
pub fn generate_all(source: &SpecSource) -> Vec<(String, Generated)> {
    let mut sources = Sources::default();
    match pipeline::generate_set(
        &mut sources,
        source,
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

/// promtool, if installed. When `CI` is set a missing promtool fails the test instead of
/// skipping it: CI must prove our output against the real tool.
pub fn promtool() -> Option<PathBuf> {
    tool("promtool")
}

/// prometheus (the server), with the same CI rule as [`promtool`].
pub fn prometheus() -> Option<PathBuf> {
    tool("prometheus")
}

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("{name} is not installed, and CI is set: install Debian's `prometheus` package");
        }
        eprintln!("SKIP: {name} not installed (set CI=1 to make this a failure)");
    }
    found
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
