//! The linter is right when it speaks: a declared type beats a name, one finding per
//! defect, each on the line it is about. Each case is modelled on a public file where the
//! linter was wrong before.

use poolwatch::app::{self, Report};
use poolwatch::cli::Cli;

use clap::Parser;

fn run(args: &[&str]) -> Report {
    let mut argv = vec!["poolwatch"];
    argv.extend_from_slice(args);
    app::run(Cli::try_parse_from(argv).expect("arguments parse"))
}

/// Writes `text` to a file named `name` in `dir` and returns its path.
fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// cAdvisor exports `container_fs_inodes_total` as a gauge ("Number of Inodes";
/// github.com/google/cadvisor metrics/prometheus.go, v0.47.0): its `_total` is not a
/// counter's. Declared so, nothing is reported; a rule that divides it raw (`free / total`)
/// shows it is a capacity even without a declaration.
fn a_declared_gauge_beats_a_total_name() {
    let dir = tempfile::tempdir().unwrap();
    let compared = "groups:\n- name: containers\n  rules:\n  - alert: FewInodes\n    expr: min by (instance) (container_fs_inodes_total{device=~\"/dev/.+\"}) < 100000\n    for: 5m\n    annotations: {summary: few inodes}\n";
    let rules = write(&dir, "rules.yml", compared);
    let by_name = run(&["check", "--rules", &rules]);
    assert!(
        by_name.stderr.contains("warning[PW108]") && by_name.stderr.contains("name alone"),
        "{}",
        by_name.stderr
    );
    let metrics = write(
        &dir,
        "cadvisor.prom",
        "# HELP container_fs_inodes_total Number of Inodes\n# TYPE container_fs_inodes_total gauge\ncontainer_fs_inodes_total{device=\"/dev/sda1\",id=\"/\"} 6.5e+06\n",
    );
    let declared = run(&["check", "--rules", &rules, "--metrics", &metrics]);
    assert!(!declared.stderr.contains("[PW108]"), "{}", declared.stderr);
    assert!(!declared.stderr.contains("[PW104]"), "{}", declared.stderr);

    let ratio = "groups:\n- name: containers\n  rules:\n  - alert: VolumeFull\n    expr: (1 - sum by (instance) (container_fs_inodes_free) / sum by (instance) (container_fs_inodes_total)) * 100 > 80 and sum by (instance) (container_fs_inodes_total) > 0\n    for: 5m\n    annotations: {summary: volume full}\n";
    let rules = write(&dir, "ratio.yml", ratio);
    let report = run(&["check", "--rules", &rules]);
    assert!(!report.stderr.contains("[PW108]"), "{}", report.stderr);
}

/// The 1-based line of each finding of `code` in a JSON report.
fn lines_of(report: &Report, code: &str) -> Vec<u64> {
    let v: serde_json::Value = serde_json::from_str(&report.stdout).expect("a JSON report");
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == code)
        .map(|d| d["line"].as_u64().unwrap())
        .collect()
}

/// A panel with two targets of the same fixed window: one finding each, on each target's
/// own line (not twice on the first); a fixed data source repeated by the panel and its
/// targets: one finding, on the panel's own `uid` line.
fn dashboard_findings_are_one_per_defect_on_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let dash = r#"{
  "title": "Shop",
  "panels": [
    {
      "type": "timeseries",
      "id": 1,
      "title": "Orders",
      "datasource": {"type": "prometheus", "uid": "abc123"},
      "fieldConfig": {"defaults": {"unit": "ops"}},
      "targets": [
        {"refId": "A", "datasource": {"type": "prometheus", "uid": "abc123"},
         "expr": "sum(rate(shop_orders_total{job=\"a\"}[5m]))"},
        {"refId": "B", "datasource": {"type": "prometheus", "uid": "abc123"},
         "expr": "sum(rate(shop_orders_total{job=\"b\"}[5m]))"}
      ]
    }
  ]
}
"#;
    let path = write(&dir, "shop.json", dash);
    let report = run(&["check", "--dashboards", &path, "--format", "json"]);
    let line_of = |needle: &str| dash.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1;
    assert_eq!(
        lines_of(&report, "PW302"),
        vec![line_of("job=\\\"a\\\""), line_of("job=\\\"b\\\"")],
        "{}",
        report.stdout
    );
    assert_eq!(
        lines_of(&report, "PW303"),
        vec![line_of("\"title\": \"Orders\"") + 1],
        "{}",
        report.stdout
    );
}

/// A label a spec's catalog does not declare is certain (an error); the same label missing
/// from a saved exposition is likely (a warning): relabeling may add it.
fn a_phantom_label_is_certain_against_a_catalog_and_likely_against_an_exposition() {
    let dir = tempfile::tempdir().unwrap();
    let rule = |metric: &str| {
        format!(
            "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: {metric}{{status=\"down\"}} > 0\n    for: 5m\n    labels: {{severity: warning}}\n    annotations: {{summary: down, runbook_url: https://example.com}}\n"
        )
    };
    let k2 = write(&dir, "k2.yml", &rule("k2_connection_pool_size"));
    let report = run(&["check", "--rules", &k2, "--spec", "specs/k2.yaml"]);
    assert!(
        report.stderr.contains("error[PW112]") && report.stderr.contains("(certain"),
        "{}",
        report.stderr
    );
    assert_eq!(report.code, 1);
    let metrics = write(
        &dir,
        "pool.prom",
        "# TYPE shop_pool_connections gauge\nshop_pool_connections{pool=\"a\"} 1\n",
    );
    let shop = write(&dir, "shop.yml", &rule("shop_pool_connections"));
    let report = run(&["check", "--rules", &shop, "--metrics", &metrics]);
    assert!(
        report.stderr.contains("warning[PW112]") && report.stderr.contains("(likely"),
        "{}",
        report.stderr
    );
    assert_eq!(report.code, 0);
    // Without knowledge of its labels nothing is said.
    let report = run(&["check", "--rules", &shop]);
    assert!(!report.stderr.contains("[PW112]"), "{}", report.stderr);
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        a_declared_gauge_beats_a_total_name,
        dashboard_findings_are_one_per_defect_on_their_line,
        levels_agree_across_list_explain_docs_and_report,
        a_phantom_label_is_certain_against_a_catalog_and_likely_against_an_exposition,
    ]
}

/// One level per check: a misspelt metric next to its exporter's exposition is certain
/// (an error, exit 1), as `--list`, `--explain` and docs/checks.md say; a name of another
/// exporter is only likely missing (a warning), which all three say too.
fn levels_agree_across_list_explain_docs_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = write(
        &dir,
        "shop.prom",
        "# TYPE shop_orders_total counter\nshop_orders_total 3\n# TYPE shop_queue_depth gauge\nshop_queue_depth 1\n",
    );
    let rules = write(
        &dir,
        "rules.yml",
        "groups:\n- name: shop\n  rules:\n  - alert: Orders\n    expr: rate(shop_order_total[5m]) > 1 or node_load1 > 4\n    for: 5m\n    annotations: {summary: orders}\n",
    );
    let report = run(&["check", "--rules", &rules, "--metrics", &metrics]);
    assert!(
        report.stderr.contains("error[PW102]: `shop_order_total`")
            && report.stderr.contains("(certain)"),
        "{}",
        report.stderr
    );
    assert!(
        report.stderr.contains("warning[PW102]: `node_load1`")
            && report.stderr.contains("(likely)"),
        "{}",
        report.stderr
    );
    assert_eq!(report.code, 1, "{}", report.stderr);
    let list = run(&["check", "--list"]).stdout;
    let line = list.lines().find(|l| l.starts_with("PW102")).unwrap();
    assert!(
        line.contains("error") && line.contains("a warning when the metric is only likely missing"),
        "{line}"
    );
    let explain = run(&["check", "--explain", "PW102"]).stdout;
    assert!(
        explain.starts_with(
            "PW102 unknown-metric (error (a warning when the metric is only likely missing))"
        ),
        "{explain}"
    );
    let docs = std::fs::read_to_string(crate::common::root().join("docs/checks.md")).unwrap();
    assert!(
        docs.contains("Severity: error (a warning when the metric is only likely missing)."),
        "docs/checks.md"
    );
}
