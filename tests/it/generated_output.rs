//! Snapshots of every generated file, for the built-in K2 spec and every fixture spec, and
//! the proof that promtool accepts every generated rule file and that `generated/` is current.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::process::Command;

/// Every generated file of the specs that have no checked-in output. K2's output is
/// checked in as `generated/` and held to the spec by `checked_in_generated_folder_is_current`
/// (and CI's `emit --check`): snapshots of it would be the same bytes a second time, and
/// every edit of K2's spec would be reviewed twice.
fn snapshots_of_every_generated_file() {
    for (name, source) in common::all_specs().into_iter().filter(|(n, _)| n != "k2") {
        for (_, generated) in common::generate_all(&source) {
            for file in &generated.files {
                let snapshot = format!("{name}__{}", file.path.replace('/', "__"));
                insta::assert_snapshot!(snapshot, file.contents);
            }
        }
    }
}

fn promtool_accepts_every_generated_rule_file() {
    let promtool = common::promtool();
    for (name, source) in common::all_specs() {
        for (variant, generated) in common::generate_all(&source) {
            let dir = common::write_to_temp(&generated);
            let rules = generated
                .files
                .iter()
                .find(|f| f.path.ends_with(&poolwatch::conventions::rule_file_path()))
                .unwrap();
            let (ok, out) = common::promtool_check_rules(&promtool, &dir.path().join(&rules.path));
            assert!(
                ok,
                "promtool check rules failed for {name} ({variant}):\n{out}"
            );
            assert!(out.contains("SUCCESS"), "{name} ({variant}): {out}");
        }
    }
}

fn promtool_rejects_a_broken_rule_file() {
    // The promtool check must be able to fail: a rule file with a syntax error is refused.
    let promtool = common::promtool();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(rate(x[5m])\n",
    )
    .unwrap();
    let (ok, _) = common::promtool_check_rules(&promtool, &bad);
    assert!(!ok);
}

/// The checked-in `generated/` must be what the built-in spec generates now.
fn checked_in_generated_folder_is_current() {
    let files: Vec<_> = common::generate_all(&poolwatch::spec::SpecSource::builtin())
        .into_iter()
        .flat_map(|(_, g)| g.files)
        .collect();
    let out = poolwatch::write::apply(
        &common::root().join("generated"),
        &files,
        poolwatch::write::Mode::Check,
    )
    .unwrap();
    let diffs: Vec<String> = out.stale.iter().map(|(_, d)| d.clone()).collect();
    assert!(
        diffs.is_empty(),
        "generated/ is stale; run `cargo run -- emit` and commit:\n{}",
        diffs.join("\n")
    );
}

fn emit_check_exits_1_with_a_diff_when_stale_and_0_when_current() {
    let bin = env!("CARGO_BIN_EXE_poolwatch");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Nothing there yet: stale, nothing written.
    let status = Command::new(bin)
        .args(["emit", "--check", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&status.stdout).contains("+++ b/rules/connection_pool.yml"));
    assert!(!out.exists(), "--check wrote files");
    // Write, then check: current.
    let status = Command::new(bin)
        .args(["emit", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    assert!(out.join("rules/connection_pool.yml").is_file());
    assert!(out.join("dashboards/connection_pool.json").is_file());
    let status = Command::new(bin)
        .args(["emit", "--check", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    // Edit a file by hand: stale again, and the diff shows the edit.
    let rules = out.join("rules/connection_pool.yml");
    let text = std::fs::read_to_string(&rules).unwrap();
    std::fs::write(&rules, text.replace("> 0.9", "> 0.95")).unwrap();
    let status = Command::new(bin)
        .args(["emit", "--check", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&status.stdout);
    // The utilization alert reads its recorded ratio on one line: that line is the edit.
    let alert = |sign: char, threshold: &str| {
        diff.lines().any(|l| {
            l.strip_prefix(sign).is_some_and(|l| {
                l.trim_start().starts_with("expr: pool_job_instance:")
                    && l.trim_end()
                        .ends_with(&format!("utilization:ratio{{pool=\"k2\"}} > {threshold}"))
            })
        })
    };
    assert!(alert('-', "0.95"), "{diff}");
    assert!(alert('+', "0.9"), "{diff}");
}

fn spec_flag_picks_another_spec() {
    let bin = env!("CARGO_BIN_EXE_poolwatch");
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(bin)
        .args(["emit", "--spec", "tests/specs/two_pools.yaml", "--out"])
        .arg(dir.path())
        .current_dir(common::root())
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    let rules = std::fs::read_to_string(dir.path().join("rules/connection_pool.yml")).unwrap();
    assert!(rules.contains("from tests/specs/two_pools.yaml"));
    assert!(
        rules.contains(
            "hikaricp_connections_active{pool=\"HikariPool-1\", service=\"billing-api\"}"
        )
    );
}

fn a_broken_expression_is_reported_with_its_rule_or_panel() {
    use poolwatch::render::grafana::PanelItem;
    let generated = common::generate(&poolwatch::spec::SpecSource::builtin());
    let mut artifacts = common::artifacts(&generated);
    // The alert, not a recording it reads: a broken recording is also reported at
    // every rule reading it.
    let alert = artifacts.rules.groups[0]
        .rules
        .iter_mut()
        .find(|r| r.alert.as_deref() == Some("ConnectionPoolHighUtilization"))
        .unwrap();
    alert.expr = "sum(rate(x[5m])".into();
    if let PanelItem::Panel(p) = &mut artifacts.dashboard.panels[1] {
        p.targets[2].expr = "histogram_quantile(0.99, sum by (le (x))".into();
    }
    let diags = poolwatch::pipeline::check(&generated.model, &artifacts);
    let objects: Vec<String> = diags.iter().filter_map(|d| d.object.clone()).collect();
    assert_eq!(diags.len(), 2, "{objects:?}");
    assert!(diags.iter().all(|d| d.code.code == "PW101"));
    assert!(
        objects[0].contains("alert ConnectionPoolHighUtilization"),
        "{objects:?}"
    );
    assert!(
        objects[1].contains("panel \"Connection Acquisition Wait Time\" (id 2), target C"),
        "{objects:?}"
    );
    // Grafana's variables alone are not errors.
    assert!(
        poolwatch::pipeline::check(&generated.model, &common::artifacts(&generated)).is_empty()
    );
}

fn every_runbook_url_points_at_a_section_of_the_generated_runbook() {
    for (name, source) in common::all_specs() {
        for (variant, g) in common::generate_all(&source) {
            let artifacts = common::artifacts(&g);
            let runbook = &artifacts.runbook;
            let anchors: Vec<String> = runbook
                .lines()
                .filter_map(|l| l.strip_prefix("## "))
                .map(|h| h.trim().to_lowercase())
                .collect();
            let mut alerts = 0;
            for rule in artifacts.rules.groups.iter().flat_map(|g| &g.rules) {
                let Some(ann) = &rule.annotations else {
                    continue;
                };
                alerts += 1;
                let anchor = ann.runbook_url.rsplit_once('#').unwrap().1;
                assert!(
                    anchors.iter().any(|a| a == anchor),
                    "{name} ({variant}): {} links #{anchor}, which the runbook lacks",
                    rule.name()
                );
                assert!(
                    runbook.contains(&format!(
                        "| {} | {} |",
                        rule.origin.pool, rule.labels["severity"]
                    )),
                    "{name} ({variant}): {} missing from its section",
                    rule.name()
                );
            }
            assert!(alerts > 0, "{name} ({variant}): no alerts");
        }
    }
}

use crate::harness::PROMTOOL;

/// serde-saphyr writes the YAML; serde_norway (the serde_yaml fork, an independent reader)
/// must read back from the written text exactly the values of the typed rule and unit-test
/// files, for every spec and variant: quoting, block scalars and escapes lose nothing.
fn every_generated_yaml_file_reads_back_as_its_typed_values() {
    let mut compared = 0;
    for (name, source) in common::all_specs() {
        for (variant, generated) in common::generate_all(&source) {
            let typed = common::artifacts(&generated);
            for (path, expected) in [
                (
                    poolwatch::conventions::rule_file_path(),
                    serde_json::to_value(&typed.rules).unwrap(),
                ),
                (
                    poolwatch::conventions::test_file_path(),
                    serde_json::to_value(&typed.tests).unwrap(),
                ),
            ] {
                let file = generated
                    .files
                    .iter()
                    .find(|f| f.path.ends_with(&path))
                    .unwrap_or_else(|| panic!("{name} ({variant}): no {path}"));
                let read: serde_norway::Value = serde_norway::from_str(&file.contents)
                    .unwrap_or_else(|e| panic!("{name} ({variant}) {path}: {e}"));
                assert_eq!(
                    serde_json::to_value(&read).unwrap(),
                    expected,
                    "{name} ({variant}) {path}: the text reads back as other values"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 20, "only {compared} files compared");
}

/// Every recorded series a rule reads is recorded by a rule before it in its own group:
/// rules of a group run in order at one evaluation time, so an alert compares the value
/// recorded at that evaluation; across groups there is no order, and it could compare the
/// previous evaluation's value (or none yet). Every alert reads at least one recording but
/// the absence alert, which must read raw series (a recording cannot see its own absence).
fn every_rule_reads_recordings_made_before_it_in_its_own_group() {
    let mut checked = 0;
    for (name, source) in common::all_specs() {
        for (variant, g) in common::generate_all(&source) {
            let artifacts = common::artifacts(&g);
            let recorded: std::collections::BTreeSet<&str> = artifacts
                .rules
                .groups
                .iter()
                .flat_map(|g| &g.rules)
                .filter(|r| r.alert.is_none())
                .map(|r| r.name())
                .collect();
            for (gi, group) in artifacts.rules.groups.iter().enumerate() {
                for (i, rule) in group.rules.iter().enumerate() {
                    let reads: Vec<&str> = rule
                        .expr
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                        .filter(|t| recorded.contains(t))
                        .collect();
                    for read in &reads {
                        assert!(
                            group.rules[..i]
                                .iter()
                                .any(|r| r.alert.is_none() && r.name() == *read),
                            "{name} ({variant}): {} in group {gi} reads {read}, not recorded \
                             before it in that group",
                            rule.name(),
                        );
                        checked += 1;
                    }
                    if rule.alert.is_some()
                        && rule.alert.as_deref() != Some("ConnectionPoolMetricsAbsent")
                    {
                        assert!(
                            !reads.is_empty(),
                            "{name} ({variant}): {} reads no recorded series:\n{}",
                            rule.name(),
                            rule.expr
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 0);
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        every_generated_yaml_file_reads_back_as_its_typed_values,
        snapshots_of_every_generated_file,
        [PROMTOOL] promtool_accepts_every_generated_rule_file,
        [PROMTOOL] promtool_rejects_a_broken_rule_file,
        checked_in_generated_folder_is_current,
        emit_check_exits_1_with_a_diff_when_stale_and_0_when_current,
        spec_flag_picks_another_spec,
        a_broken_expression_is_reported_with_its_rule_or_panel,
        every_runbook_url_points_at_a_section_of_the_generated_runbook,
        every_rule_reads_recordings_made_before_it_in_its_own_group,
    ]
}
