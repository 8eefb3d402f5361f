//! The output layout Prometheus accepts: `rules/` holds rule files only, so the usual
//! `rule_files: [<out>/rules/*.yml]` (and `*.yaml`) passes `promtool check config` for
//! every deploy target, while every target keeps its promtool unit tests under `tests/`.

use std::path::Path;
use std::process::Command;

use poolwatch::conventions;
use poolwatch::pipeline::{self, Generated};
use poolwatch::render::Target;
use poolwatch::source::Sources;
use poolwatch::spec::SpecSource;

use crate::common;

const TARGETS: [Target; 3] = [Target::Prometheus, Target::Operator, Target::Mimir];

/// The spec with the operator settings it needs for `--target operator` (a PrometheusRule
/// needs the labels its Prometheus selects), unless it has a `deploy:` section already.
fn with_operator(source: &SpecSource) -> SpecSource {
    let mut text = source.text.clone();
    if !text.contains("\ndeploy:") {
        text.push_str(
            "\ndeploy:\n  operator:\n    namespace: monitoring\n    labels: { release: kube-prometheus-stack }\n",
        );
    }
    SpecSource {
        name: source.name.clone(),
        text,
    }
}

fn generate(source: &SpecSource, target: Target) -> Generated {
    let mut sources = Sources::default();
    match pipeline::generate_spec(&mut sources, &with_operator(source), target) {
        Ok(g) => g,
        Err(f) => panic!(
            "{} ({target:?}):\n{}",
            source.name,
            poolwatch::diag::render(f.diagnostics(), &sources, poolwatch::diag::Format::Human)
        ),
    }
}

/// A prometheus.yml loading the output's rules by the usual globs.
fn config_with_globs(out: &Path) -> std::path::PathBuf {
    let config = out.join("prometheus.yml");
    let rules = out.join("rules");
    std::fs::write(
        &config,
        format!(
            "rule_files:\n  - {}/*.yml\n  - {}/*.yaml\n",
            rules.display(),
            rules.display()
        ),
    )
    .unwrap();
    config
}

fn check_config(config: &Path) -> (bool, String) {
    common::run(
        Command::new(common::promtool())
            .arg("check")
            .arg("config")
            .arg(config),
    )
}

fn rule_globs_pass_promtool_check_config_for_every_target() {
    for (name, source) in common::all_specs() {
        for target in TARGETS {
            let g = generate(&source, target);
            let dir = common::write_to_temp(&g);
            let (ok, out) = check_config(&config_with_globs(dir.path()));
            assert!(ok, "{name} ({target:?}): {out}");
            // The plain target's rule file is what the glob loads; the wrapped targets
            // leave `rules/` to rule files a Prometheus loads itself.
            let loaded = out.contains(&conventions::rule_file_path());
            assert_eq!(
                loaded,
                target == Target::Prometheus,
                "{name} ({target:?}): {out}"
            );
        }
    }
    // The check can fail: a unit-test file or a manifest in the glob is refused.
    let g = generate(&SpecSource::builtin(), Target::Operator);
    let dir = common::write_to_temp(&g);
    for stray in [
        conventions::test_file_path(),
        conventions::operator_file_path(),
    ] {
        let moved = dir
            .path()
            .join("rules")
            .join(Path::new(&stray).file_name().unwrap());
        std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
        std::fs::copy(dir.path().join(&stray), &moved).unwrap();
        let (ok, out) = check_config(&config_with_globs(dir.path()));
        assert!(!ok, "{stray} in rules/ was accepted: {out}");
        std::fs::remove_file(moved).unwrap();
    }
}

fn every_target_keeps_unit_tests_that_promtool_passes() {
    for (name, source) in common::all_specs() {
        for target in TARGETS {
            let g = generate(&source, target);
            let tests = g
                .files
                .iter()
                .find(|f| f.path == conventions::test_file_path());
            assert!(tests.is_some(), "{name} ({target:?}) has no unit tests");
            if target != Target::Prometheus {
                // The groups the tests load are the groups the target wraps.
                let file = |path: &str| {
                    let f = g.files.iter().find(|f| f.path == path).unwrap();
                    serde_norway::from_str::<serde_norway::Value>(&f.contents).unwrap()
                };
                let tested = file(&conventions::tested_rules_path());
                let wrapped = match target {
                    Target::Operator => file(&conventions::operator_file_path())["spec"].clone(),
                    _ => file(&conventions::mimir_file_path()),
                };
                assert_eq!(tested["groups"], wrapped["groups"], "{name} ({target:?})");
            }
            if target == Target::Prometheus {
                // Run for every spec and environment by
                // promtool_tests::promtool_passes_the_generated_tests_of_every_spec.
                continue;
            }
            let dir = common::write_to_temp(&g);
            let (ok, out) = common::run(
                Command::new(common::promtool())
                    .arg("test")
                    .arg("rules")
                    .arg(dir.path().join(conventions::test_file_path())),
            );
            assert!(ok, "{name} ({target:?}): {out}");
            assert!(out.contains("SUCCESS"), "{name} ({target:?}): {out}");
        }
    }
}

use crate::harness::PROMTOOL;

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [PROMTOOL] rule_globs_pass_promtool_check_config_for_every_target,
        [PROMTOOL] every_target_keeps_unit_tests_that_promtool_passes,
    ]
}
