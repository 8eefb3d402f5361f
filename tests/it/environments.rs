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
        heavy.contains("(sum by (job, instance) (k2_connection_pool_size) > 0)\n      > 0.85\n"),
        "{heavy}"
    );
    assert!(
        heavy.contains("(sum by (job, instance) (k2_connection_pool_size) > 0)\n      > 0.95\n"),
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
    assert!(base.contains("(sum by (job, instance) (k2_connection_pool_size) > 0)\n      > 0.9\n"));
    assert!(base.contains("expr: vector(80)"));
}

fn capacity_rules_follow_the_runbook_formula() {
    let base = rules_of("base");
    assert!(base.contains(
        "record: pool_job_instance:k2_connection_pool_size:recommended_p99_1d\n    expr: ceil(1.2 * quantile_over_time(0.99, pool_job_instance:k2_connection_pool_active_connections:sum{pool=\"k2\"}[1d]))"
    ), "{base}");
    assert!(base.contains("alert: ConnectionPoolUndersized"));
    // Per replica: the recommendation against that replica's configured size.
    assert!(
        base.contains("> ignoring(pool)\n      sum by (job, instance) (k2_connection_pool_size)")
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
        capacity_rules_follow_the_runbook_formula,
        emit_env_writes_one_environment_at_the_output_root,
        unknown_environment_is_refused_with_a_suggestion,
        environment_names_cannot_leave_the_output_folder,
    ]
}
