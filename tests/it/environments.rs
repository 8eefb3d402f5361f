//! Environments (the runbook's sizing table as overlays) and capacity planning.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::process::Command;

use poolwatch::spec::SpecSource;

fn rules_of(variant: &str) -> String {
    let all = common::generate_all(&SpecSource::builtin());
    let (_, g) = all.into_iter().find(|(n, _)| n == variant).unwrap();
    g.files
        .into_iter()
        .find(|f| f.path.ends_with("rules/connection_pool.yml"))
        .unwrap()
        .contents
}

fn every_environment_of_the_runbook_sizing_table_is_generated() {
    let all = common::generate_all(&SpecSource::builtin());
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "base",
            "demo",
            "development",
            "production-heavy",
            "production-light"
        ]
    );
    for (name, g) in &all {
        let prefix = if name == "base" {
            String::new()
        } else {
            format!("env/{name}/")
        };
        assert!(
            g.files.iter().all(|f| f.path.starts_with(&prefix)),
            "{name}"
        );
    }
}

fn overlays_change_policies_and_sizing() {
    let heavy = rules_of("production-heavy");
    assert!(
        heavy.contains("utilization:ratio{pool=\"k2\"} > 0.85\n"),
        "{heavy}"
    );
    assert!(
        heavy.contains("utilization:ratio{pool=\"k2\"} > 0.95\n"),
        "{heavy}"
    );
    assert!(heavy.contains("severity: critical"));
    // Memory ceiling: 2.5GB / 50MB.
    assert!(heavy.contains("expr: vector(50)"), "{heavy}");
    let dev = rules_of("development");
    assert!(dev.contains("severity: info"));
    assert!(dev.contains("expr: vector(5)"), "{dev}");
    // The base keeps the runbook's numbers: 0.9 warning, 4GB / 50MB = 80.
    let base = rules_of("base");
    assert!(base.contains("utilization:ratio{pool=\"k2\"} > 0.9\n"));
    assert!(base.contains("expr: vector(80)"));
}

/// The runbook's sizing formula, computed: pool_size = p99 of concurrent use over a day,
/// times 1.2, rounded up (K2 runbook, "Capacity planning"). promtool evaluates the generated
/// recording rules over a day of busy-connection samples whose p99 is known by construction,
/// and the recorded recommendation must be the number the formula gives, per replica.
fn recommended_pool_size_is_the_daily_p99_of_busy_connections_times_1_2_rounded_up() {
    // Replica 1: 1,412 minutes at 10 busy connections, then 29 at 31. Prometheus's
    // quantile_over_time(0.99) interpolates between the sorted samples at rank 0.99 * (n - 1)
    // (1425.6 of 1,441 samples, or 1424.6 of 1,440 where the window's left end is open); both
    // neighbours lie in the last 29 samples, so the p99 is 31 whichever way the window is cut.
    // Replica 2: always 5, so its p99 is 5.
    let (p99_busy, p99_quiet) = (31.0_f64, 5.0_f64);
    let formula = |p99: f64| (p99 * 1.2).ceil();
    assert_eq!((formula(p99_busy), formula(p99_quiet)), (38.0, 6.0));

    let g = common::generate(&SpecSource::builtin());
    let dir = common::write_to_temp(&g);
    let rules = dir.path().join(poolwatch::conventions::rule_file_path());
    let tests = rules.with_file_name("capacity.test.yml");
    let recorded = "pool_job_instance:k2_connection_pool_size:recommended_p99_1d";
    let series = |instance: &str| {
        format!("k2_connection_pool_active_connections{{job=\"k2\", instance=\"{instance}\"}}")
    };
    let sample = |instance: &str, value: f64| {
        format!(
            "      - labels: '{recorded}{{instance=\"{instance}\", job=\"k2\", pool=\"k2\"}}'\n        value: {value}\n"
        )
    };
    let text = format!(
        "rule_files: [{rules}]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n  \
         - series: '{busy}'\n    values: 10x1411 31x28\n  - series: '{quiet}'\n    values: 5x1440\n  \
         promql_expr_test:\n  - expr: {recorded}\n    eval_time: 1d\n    exp_samples:\n{s1}{s2}",
        rules = rules.file_name().unwrap().to_string_lossy(),
        busy = series("replica-1"),
        quiet = series("replica-2"),
        s1 = sample("replica-1", formula(p99_busy)),
        s2 = sample("replica-2", formula(p99_quiet)),
    );
    std::fs::write(&tests, text).unwrap();
    let (ok, out) = common::run(
        Command::new(common::promtool())
            .args(["test", "rules"])
            .arg(&tests),
    );
    assert!(
        ok,
        "the recorded recommendation is not ceil(1.2 * p99):\n{out}"
    );
}

fn emit_env_writes_one_environment_at_the_output_root() {
    let bin = env!("CARGO_BIN_EXE_poolwatch");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .args(["emit", "--env", "production-heavy", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = std::fs::read_to_string(dir.path().join("rules/connection_pool.yml")).unwrap();
    assert!(rules.contains("(environment production-heavy)"));
    assert!(!dir.path().join("env").exists());
    let dash = std::fs::read_to_string(dir.path().join("dashboards/connection_pool.json")).unwrap();
    assert!(dash.contains("\"uid\": \"poolwatch-k2-production-heavy\""));
}

fn unknown_environment_is_refused_with_a_suggestion() {
    let bin = env!("CARGO_BIN_EXE_poolwatch");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .args(["emit", "--env", "production-hevy", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no environment `production-hevy`"), "{err}");
    assert!(err.contains("did you mean `production-heavy`?"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

fn environment_names_cannot_leave_the_output_folder() {
    let text =
        poolwatch::spec::BUILTIN_K2.to_string() + "  ../../etc:\n    expected_pool_size: 5\n";
    let source = SpecSource {
        name: "evil.yaml".into(),
        text,
    };
    let mut sources = poolwatch::source::Sources::default();
    let err = poolwatch::pipeline::generate_spec(
        &mut sources,
        &source,
        poolwatch::render::Target::Prometheus,
    )
    .unwrap_err();
    let rendered =
        poolwatch::diag::render(err.diagnostics(), &sources, poolwatch::diag::Format::Human);
    assert!(
        rendered.contains("environment name `../../etc` is not a valid name"),
        "{rendered}"
    );
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        every_environment_of_the_runbook_sizing_table_is_generated,
        overlays_change_policies_and_sizing,
        [crate::harness::PROMTOOL] recommended_pool_size_is_the_daily_p99_of_busy_connections_times_1_2_rounded_up,
        emit_env_writes_one_environment_at_the_output_root,
        unknown_environment_is_refused_with_a_suggestion,
        environment_names_cannot_leave_the_output_folder,
    ]
}
