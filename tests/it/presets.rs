//! `poolwatch init --preset NAME`: starter specs for widely used pool libraries. Their
//! generated output goes through every other test (snapshots, promtool, Grafana's schema)
//! through `common::all_specs()`; here, the command itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::process::Command;

fn poolwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_poolwatch"))
}

fn every_preset_is_written_and_emits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    for (name, _, text) in poolwatch::spec::PRESETS {
        let spec = dir.path().join(format!("{name}.yaml"));
        let out = poolwatch()
            .args(["init", "--preset", name, "--out"])
            .arg(&spec)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(&spec).unwrap(), text);
        let emitted = dir.path().join(format!("out-{name}"));
        let out = poolwatch()
            .args(["emit", "--spec"])
            .arg(&spec)
            .arg("--out")
            .arg(&emitted)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(emitted.join("rules/connection_pool.yml").is_file());
    }
}

fn presets_cover_three_pool_libraries_beyond_k2() {
    let names: Vec<&str> = poolwatch::spec::PRESETS.iter().map(|p| p.0).collect();
    assert_eq!(names, ["k2", "hikaricp", "pgbouncer", "go-sql"]);
    let hikari = poolwatch::spec::preset("hikaricp").unwrap();
    assert!(hikari.contains("hikaricp_connections_active"));
    let pgb = poolwatch::spec::preset("pgbouncer").unwrap();
    assert!(pgb.contains("pgbouncer_pools_server_active_connections"));
}

fn init_prints_to_stdout_and_refuses_to_overwrite() {
    let out = poolwatch()
        .args(["init", "--preset", "go-sql"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("go_sql_in_use_connections"));

    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, "mine").unwrap();
    let out = poolwatch()
        .args(["init", "--preset", "k2", "--out"])
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&spec).unwrap(), "mine");
    let out = poolwatch()
        .args(["init", "--force", "--preset", "k2", "--out"])
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&spec).unwrap(),
        poolwatch::spec::BUILTIN_K2
    );
}

fn unknown_preset_suggests_the_closest() {
    let out = poolwatch()
        .args(["init", "--preset", "hikari"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean `hikaricp`?"), "{err}");
}

fn a_library_without_a_metric_gets_no_alert_or_panel_for_it() {
    let source = common::all_specs()
        .into_iter()
        .find(|(n, _)| n == "preset-pgbouncer")
        .unwrap()
        .1;
    let g = common::artifacts(&common::generate(&source));
    let alerts: Vec<&str> = g
        .rules
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| r.alert.as_deref())
        .collect();
    assert_eq!(
        alerts,
        [
            "ConnectionPoolHighUtilization",
            "ConnectionPoolExhausted",
            "ConnectionPoolLongWait",
            "ConnectionPoolMetricsAbsent"
        ]
    );
    let titles: Vec<&str> = poolwatch::render::grafana::all_panels(&g.dashboard)
        .iter()
        .map(|p| p.title.as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "Connection Pool Utilization",
            "Connections",
            "Longest Client Wait"
        ]
    );
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        every_preset_is_written_and_emits_cleanly,
        presets_cover_three_pool_libraries_beyond_k2,
        init_prints_to_stdout_and_refuses_to_overwrite,
        unknown_preset_suggests_the_closest,
        a_library_without_a_metric_gets_no_alert_or_panel_for_it,
    ]
}
