//! Pool identity and the truth of each signal: K2's old query-latency threshold (10s against
//! a histogram ending at 5s) is refused with its place and the fix; a size of 0
//! ("unlimited") gives no utilization rather than +Inf; every alert of every spec groups by
//! its pool's identity.

use crate::common;
use crate::harness::PROMTOOL;
use poolwatch::conventions;
use poolwatch::diag::{Format, render};
use poolwatch::pipeline::{self, Failure};
use poolwatch::source::Sources;
use poolwatch::spec::SpecSource;
use serde_json::json;

fn k2_refuses_a_query_threshold_above_its_top_bucket() {
    let old = SpecSource::builtin().text.replace(
        "  slow_queries:\n    levels:\n      - { value: 0.01,",
        "  query_duration_p99:\n    levels:\n      - { value: 10,",
    );
    assert_ne!(old, SpecSource::builtin().text, "the K2 spec changed shape");
    let line = old
        .lines()
        .position(|l| l.contains("{ value: 10, color: red, severity: warning"))
        .unwrap()
        + 1;
    let mut sources = Sources::default();
    let source = SpecSource {
        name: "k2-old.yaml".into(),
        text: old,
    };
    let Err(Failure::Input(diags)) =
        pipeline::generate_spec(&mut sources, &source, poolwatch::render::Target::Prometheus)
    else {
        panic!("the unreachable threshold was accepted");
    };
    let text = render(&diags, &sources, Format::Human);
    assert!(text.contains("error[PW015]"), "{text}");
    assert!(text.contains(&format!("k2-old.yaml:{line}:9")), "{text}");
    assert!(text.contains("largest finite bucket, 5s"), "{text}");
    assert!(
        text.contains("k2_query_duration_seconds_bucket{le=~\"5(\\\\.0)?\"}")
            && text.contains("slow_queries"),
        "{text}"
    );
}

fn every_alert_groups_by_the_pool_identity() {
    for (name, source) in common::all_specs() {
        let g = common::generate(&source);
        let a = common::artifacts(&g);
        for rule in a.rules.groups.iter().flat_map(|g| &g.rules) {
            let pool = common::pool(&g, &rule.origin.pool);
            let by = format!("by ({}", pool.group_labels().join(", "));
            // Rules that read recorded series (already per instance) or a constant do not
            // aggregate; every one that does groups by the identity.
            let aggregates = rule.expr.contains("sum by (") || rule.expr.contains("sum(");
            assert!(
                !aggregates || rule.expr.contains(&by),
                "{name}: {} does not aggregate {by}):\n{}",
                rule.describe(),
                rule.expr
            );
            // `sum(` without `by`, not `histogram_sum(` (a native histogram's observations).
            let fleet_sum = rule
                .expr
                .match_indices("sum(")
                .any(|(i, _)| !rule.expr[..i].ends_with("histogram_"));
            assert!(
                !fleet_sum,
                "{name}: {} sums over the fleet:\n{}",
                rule.describe(),
                rule.expr
            );
        }
    }
}

/// database/sql reports `SetMaxOpenConns(0)`, unlimited, as a maximum of 0: a busy pool of
/// that size has no utilization (and no alert), never +Inf; the replica beside it with a
/// real limit still fires.
fn a_zero_size_gives_no_utilization() {
    let promtool = common::promtool();
    let g = common::generate(&SpecSource::builtin());
    let dir = common::write_to_temp(&g);
    let rules = dir.path().join(conventions::rule_file_path());
    let series = |m: &str, i: &str, v: &str| json!({"series": format!("{m}{{instance=\"{i}\", job=\"k2\"}}"), "values": v});
    let test = json!({
        "rule_files": [rules.to_str().unwrap()],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                series("k2_connection_pool_size", "unlimited", "0x10"),
                series("k2_connection_pool_active_connections", "unlimited", "7x10"),
                series("k2_connection_pool_size", "limited", "10x10"),
                series("k2_connection_pool_active_connections", "limited", "10x10"),
            ],
            "promql_expr_test": [{
                "expr": "pool_job_instance:k2_connection_pool_utilization:ratio",
                "eval_time": "6m",
                "exp_samples": [{
                    "labels": "pool_job_instance:k2_connection_pool_utilization:ratio{instance=\"limited\", job=\"k2\", pool=\"k2\"}",
                    "value": 1,
                }],
            }, {
                "expr": "group by (alertname, instance) (ALERTS{alertstate=\"firing\"})",
                "eval_time": "6m",
                "exp_samples": [
                    {"labels": "{alertname=\"ConnectionPoolExhausted\", instance=\"limited\"}", "value": 1},
                    {"labels": "{alertname=\"ConnectionPoolHighUtilization\", instance=\"limited\"}", "value": 1},
                ],
            }],
        }],
    });
    let path = dir.path().join("rules/zero.test.yml");
    std::fs::write(&path, serde_json::to_string_pretty(&test).unwrap()).unwrap();
    let (ok, out) = common::run(
        std::process::Command::new(&promtool)
            .arg("test")
            .arg("rules")
            .arg(&path),
    );
    assert!(ok, "{out}");
}

/// A spec's `wording:` replaces a built-in annotation template, and its generated unit
/// tests expect the new text (promtool proves it).
fn wording_overrides_a_template() {
    let promtool = common::promtool();
    let text = SpecSource::builtin().text.replace(
        "wording:\n  size_setting: K2_QUERY_ENGINE_POOL_SIZE\n",
        "wording:\n  size_setting: K2_QUERY_ENGINE_POOL_SIZE\n  templates:\n    utilization: |\n      [% block summary %]Busy: [[ pool_name ]][[ scope ]][% endblock %]\n      [% block description %]{{ $value | humanizePercentage }} in use; raise [[ size_setting ]].[% endblock %]\n",
    );
    assert_ne!(
        text,
        SpecSource::builtin().text,
        "the K2 spec changed shape"
    );
    let g = common::generate(&SpecSource {
        name: "k2-wording.yaml".into(),
        text,
    });
    let tests = g
        .files
        .iter()
        .find(|f| f.path == conventions::test_file_path())
        .unwrap();
    assert!(
        tests
            .contents
            .contains(r#"summary: "Busy: k2 (job=job-1, instance=instance-1)""#),
        "{}",
        tests.contents
    );
    assert!(
        tests
            .contents
            .contains("95% in use; raise K2_QUERY_ENGINE_POOL_SIZE.")
    );
    let dir = common::write_to_temp(&g);
    let (ok, out) = common::run(
        std::process::Command::new(&promtool)
            .arg("test")
            .arg("rules")
            .arg(dir.path().join(conventions::test_file_path())),
    );
    assert!(ok, "{out}");
}

/// Built-in texts use the spec's words: no preset's output mentions K2 or its setting.
fn presets_do_not_speak_k2() {
    for (name, source) in common::all_specs() {
        if !name.starts_with("preset-") || name == "preset-k2" {
            continue;
        }
        for f in common::generate(&source).files {
            for word in ["K2", "DuckDB", "Emergency Pool Drain", "object storage"] {
                assert!(
                    !f.contents.contains(word),
                    "{name}: {} mentions {word}",
                    f.path
                );
            }
        }
    }
}

/// Dashboards per pool instance: a multi-select variable per identity label, every query
/// filtered by them and every legend naming the instance, the gauge and the heatmap
/// repeated per instance. Panels come from the spec, never from the data, so a dashboard
/// does not grow with replicas.
fn dashboards_are_per_instance() {
    for (name, source) in common::all_specs() {
        let g = common::generate(&source);
        let file = g
            .files
            .iter()
            .find(|f| f.path == conventions::dashboard_file_path())
            .unwrap();
        let d: serde_json::Value = serde_json::from_str(&file.contents).unwrap();
        let vars = d["templating"]["list"].as_array().unwrap();
        for pool in &g.model.pools {
            for l in &pool.identity {
                let v = vars
                    .iter()
                    .find(|v| v["name"] == l.as_str())
                    .unwrap_or_else(|| panic!("{name}: no variable {l}"));
                assert_eq!(v["type"], "query", "{name}: {l}");
                assert_eq!(v["multi"], true, "{name}: {l}");
                assert_eq!(v["includeAll"], true, "{name}: {l}");
                assert!(
                    v["query"].as_str().unwrap().starts_with("label_values("),
                    "{name}: {l}: {}",
                    v["query"]
                );
            }
        }
        let last = g.model.pools[0].identity.last().unwrap().clone();
        let panels: Vec<&serde_json::Value> = d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] != "row")
            .collect();
        for p in &panels {
            let title = p["title"].as_str().unwrap();
            if matches!(p["type"].as_str(), Some("gauge" | "heatmap")) {
                assert_eq!(p["repeat"], last.as_str(), "{name}: {title}");
            }
            for t in p["targets"].as_array().unwrap() {
                let expr = t["expr"].as_str().unwrap();
                let legend = t["legendFormat"].as_str().unwrap();
                // Constants (the memory ceiling, the expected size) have no instance.
                if expr.starts_with("vector(") || expr.contains(":memory_ceiling") {
                    continue;
                }
                // Filtered by the identity variables its metric carries (a per-database
                // size by `$database`, not `$user`).
                assert!(
                    expr.contains("=~\"$"),
                    "{name}: {title}: not filtered by the identity variables: {expr}"
                );
                if p["type"] != "heatmap" {
                    assert!(
                        legend.contains(&format!("{{{{{last}}}}}")),
                        "{name}: {title}: legend `{legend}` does not name the instance"
                    );
                }
            }
        }
    }
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        dashboards_are_per_instance,
        presets_do_not_speak_k2,
        [PROMTOOL] wording_overrides_a_template,
        k2_refuses_a_query_threshold_above_its_top_bucket,
        every_alert_groups_by_the_pool_identity,
        [PROMTOOL] a_zero_size_gives_no_utilization,
    ]
}
