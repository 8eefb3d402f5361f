//! The generated promtool unit tests pass against the generated rules for the K2 spec and
//! every fixture, prove what the issue asks of them, and a spec whose alert cannot be
//! proven is refused.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use std::process::Command;

use clap::Parser as _;
use poolwatch::app;
use poolwatch::cli::Cli;
use poolwatch::conventions;
use poolwatch::spec::SpecSource;

fn promtool_passes_the_generated_tests_of_every_spec() {
    let promtool = common::promtool();
    for (name, source) in common::all_specs() {
        for (variant, g) in common::generate_all(&source) {
            let dir = common::write_to_temp(&g);
            let tests = g
                .files
                .iter()
                .find(|f| f.path.ends_with(&conventions::test_file_path()))
                .unwrap();
            let (ok, out) = common::run(
                Command::new(&promtool)
                    .arg("test")
                    .arg("rules")
                    .arg(dir.path().join(&tests.path)),
            );
            assert!(ok, "{name} ({variant}): promtool test rules failed:\n{out}");
            assert!(out.contains("SUCCESS"), "{name} ({variant}): {out}");
        }
    }
}

fn every_alert_of_every_spec_has_a_firing_and_a_silent_case() {
    for (name, source) in common::all_specs() {
        for (variant, g) in common::generate_all(&source) {
            let name = format!("{name} ({variant})");
            let artifacts = common::artifacts(&g);
            let text = &g
                .files
                .iter()
                .find(|f| f.path.ends_with(&conventions::test_file_path()))
                .unwrap()
                .contents;
            // An alert on a native-only histogram is named in the file's header as left to
            // the end-to-end scenario (promtool 2.42 cannot feed it), and only such a one.
            let header: String = text.lines().take_while(|l| l.starts_with('#')).collect();
            let noted = |described: String, severity: &str| {
                header.contains(&format!("- {described} with severity {severity}"))
            };
            let (mut alerts, mut native) = (0, 0);
            for rule in artifacts.rules.groups.iter().flat_map(|grp| &grp.rules) {
                if rule.alert.is_none() {
                    continue;
                }
                if noted(rule.describe(), &rule.labels["severity"]) {
                    native += 1;
                    let records: BTreeMap<String, String> = artifacts
                        .rules
                        .groups
                        .iter()
                        .flat_map(|g| &g.rules)
                        .filter(|r| r.alert.is_none())
                        .map(|r| (r.name().to_string(), r.expr.clone()))
                        .collect();
                    // What it computes from raw series: its text and its recordings'.
                    let expr = common::promql::recordings_read(&rule.expr, &records)
                        .iter()
                        .fold(rule.expr.clone(), |text, name| text + "\n" + &records[name]);
                    assert!(
                        expr.contains("histogram_") && !expr.contains("_bucket["),
                        "{name}: {} is left to the end-to-end scenario but reads no native \
                         histogram:\n{expr}",
                        rule.describe()
                    );
                } else {
                    alerts += 1;
                }
            }
            if name.starts_with("native") {
                assert!(
                    native > 0,
                    "{name}: no alert left to the end-to-end scenario"
                );
            }
            let c = g.artifacts.coverage;
            assert_eq!(
                (c.firing_and_silent, c.alerts, c.native),
                (alerts, alerts, native),
                "{name}"
            );
            assert_eq!(c, artifacts.coverage, "{name}");
            // Each alert level's tests are named after it, and one of them expects it firing.
            let tests = &artifacts.tests;
            for rule in artifacts.rules.groups.iter().flat_map(|grp| &grp.rules) {
                let Some(alert) = &rule.alert else { continue };
                if noted(rule.describe(), &rule.labels["severity"]) {
                    continue;
                }
                let severity = &rule.labels["severity"];
                let fires = tests.tests.iter().any(|t| {
                    t.alert_rule_test.iter().any(|a| {
                        a.exp_alerts.iter().any(|e| {
                            !e.exp_labels.contains_key("alertname")
                                && e.exp_labels.get("severity") == Some(severity)
                                && e.exp_labels.get(&g.model.pool_label) == Some(&rule.origin.pool)
                                && &a.alertname == alert
                        })
                    })
                });
                assert!(fires, "{name}: no case fires {}", rule.describe());
                let silent = tests.tests.iter().any(|t| {
                    (t.name.starts_with(&format!(
                        "{alert} pool={} severity={severity}: silent",
                        rule.origin.pool
                    )) || (t.name.starts_with(&format!("{alert} (every pool): "))
                        && t.name.ends_with(": silent")))
                        && t.alert_rule_test.iter().all(|a| {
                            !a.exp_alerts
                                .iter()
                                .any(|e| e.exp_labels.get("severity") == Some(severity))
                        })
                });
                assert!(silent, "{name}: no silent case for {}", rule.describe());
            }
        }
    }
}

fn k2_tests_expect_the_rendered_annotations() {
    let g = common::generate(&SpecSource::builtin());
    let text = &g
        .files
        .iter()
        .find(|f| f.path == conventions::test_file_path())
        .expect("test file")
        .contents;
    assert!(text.starts_with("# Code generated by poolwatch from specs/k2.yaml. DO NOT EDIT."));
    assert!(text.contains("rule_files:\n- ../rules/connection_pool.yml\n"));
    // 95 of 100 connections busy on one replica: Prometheus prints the 0.95 ratio as 95%,
    // and the text names the replica and K2's own setting.
    assert!(text.contains(
        "description: Pool K2 query engine (job=job-1, instance=instance-1) at 95% utilization (threshold 90% for 5m). Consider increasing K2_QUERY_ENGINE_POOL_SIZE."
    ));
    // Pending one minute before its 5m, firing at 5m.
    assert!(text.contains("- eval_time: 4m\n    alertname: ConnectionPoolHighUtilization\n    exp_alerts: []\n  - eval_time: 5m\n"));
    // K2's real wait-time buckets: the p99 lands inside (5, 10], not on an invented bound.
    assert!(text.contains(
        "Requests on pool K2 query engine (job=job-1, instance=instance-1) wait 9.95s (p99) for a connection"
    ));
    assert!(text.contains("has had 0 free connections (size minus active) for 5m"));
    // Rates print with their unit, not an SI prefix that reads as minutes.
    assert!(text.contains("0.01/s connection acquisitions timing out"));
    assert!(!text.contains("m timeouts/sec"));
}

fn run_cli(args: &[&str]) -> app::Report {
    let mut argv = vec!["poolwatch"];
    argv.extend_from_slice(args);
    app::run(Cli::try_parse_from(argv).unwrap())
}

fn check_and_emit_print_the_coverage() {
    let r = run_cli(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("poolwatch: alerts with a firing and a silent case: 8/8\n"),
        "{}",
        r.stderr
    );
    let out = tempfile::tempdir().unwrap();
    let r = run_cli(&["emit", "--out", out.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("alerts with a firing and a silent case: 8/8")
    );
    assert!(out.path().join(conventions::test_file_path()).is_file());
}

fn an_alert_that_cannot_fire_is_refused_by_name() {
    // Utilization is active / size: it can reach 1 but never exceed it.
    let text = SpecSource::builtin().text.replace(
        "{ value: 0.9, color: red, severity: warning, for: 5m }",
        "{ value: 1, color: red, severity: warning, for: 5m }",
    );
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, text).unwrap();
    let out = dir.path().join("out");
    for args in [
        vec!["check", "--spec", spec.to_str().unwrap()],
        vec![
            "emit",
            "--spec",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    ] {
        let r = run_cli(&args);
        assert_eq!(r.code, app::EXIT_FINDINGS, "{}", r.stderr);
        assert!(r.stderr.contains("PW021"), "{}", r.stderr);
        assert!(
            r.stderr
                .contains("alert ConnectionPoolHighUtilization cannot be given a test"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("cannot exceed 1 (100%)"), "{}", r.stderr);
    }
    assert!(!out.exists(), "nothing may be written");
}

fn thresholds_at_zero_are_testable() {
    // `> 0` is silent at 0, `<= 0` is silent at 1: the K2 spec uses both.
    let g = common::artifacts(&common::generate(&SpecSource::builtin()));
    let names: Vec<&str> = g.tests.tests.iter().map(|t| t.name.as_str()).collect();
    for expected in [
        "ConnectionPoolCreationErrors pool=k2 severity=critical: silent at 0/s, just clear of > 0/s",
        "ConnectionPoolExhausted pool=k2 severity=warning: silent at 1, just clear of <= 0",
        "ConnectionPoolExhausted pool=k2 severity=warning: fires at 0 after 5m, for the hot \
         instance only while a replica joins; clears once it recovers",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:#?}");
    }
}

/// A test's name states its values as the alert's text prints them: a ratio in percent, a
/// rate per second (`printf "%.4g"`), a quantile as a duration.
fn test_names_print_values_as_the_alert_text_does() {
    let g = common::artifacts(&common::generate(&SpecSource::builtin()));
    let names: Vec<&str> = g.tests.tests.iter().map(|t| t.name.as_str()).collect();
    for expected in [
        "ConnectionPoolHighUtilization pool=k2 severity=warning: silent at 89.1%, just clear of > 90%",
        "ConnectionPoolAcquisitionTimeouts pool=k2 severity=high: fires at 0.01667/s after 2m, \
         for the hot instance only while a replica joins; clears once it recovers",
        "ConnectionPoolSlowAcquisition pool=k2 severity=warning: silent at 4.95s, just clear of > 5s",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:#?}");
    }
}

use crate::harness::PROMTOOL;

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [PROMTOOL] promtool_passes_the_generated_tests_of_every_spec,
        every_alert_of_every_spec_has_a_firing_and_a_silent_case,
        k2_tests_expect_the_rendered_annotations,
        check_and_emit_print_the_coverage,
        an_alert_that_cannot_fire_is_refused_by_name,
        thresholds_at_zero_are_testable,
        test_names_print_values_as_the_alert_text_does,
    ]
}
