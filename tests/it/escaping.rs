//! Text from the spec never escapes its context: label values in PromQL matchers, pool
//! titles and URLs in Prometheus's annotation templates, names in file paths.

use crate::common;

use poolwatch::spec::SpecSource;
use promql_parser::parser::Expr;

/// A spec whose selector values, title and runbook URL hold quotes, backslashes, newlines
/// and Go template delimiters.
const HOSTILE: &str = r#"
version: 1
name: hostile
runbook_url: "https://runbooks.example.com/{{$labels.x"
catalog:
{catalog}pools:
  - name: main
    title: "Pool {{ oops and }} \"quoted\" \\ back{"
    selector:
      service: "a\"b\\c"
      zone: "line1\nline2\ttab"
      shard: "{{ x }}"
      team: "}\"{"
      odd: "\x01\x7F\u00A0"
    keep_labels: [namespace]
    metrics: {metrics}
policies:
  utilization:
    levels:
      - { value: 0.9, color: red, severity: warning, for: 5m }
  absent: { severity: critical, for: 10m }
"#;

fn hostile() -> SpecSource {
    SpecSource {
        name: "hostile.yaml".to_string(),
        text: HOSTILE
            .replace(
                "{catalog}",
                &common::specgen::catalog(&["service", "zone", "shard", "team", "odd"]),
            )
            .replace("{metrics}", common::specgen::METRICS),
    }
}

/// Every label matcher in an expression, as (name, value).
fn matchers(e: &Expr, out: &mut Vec<(String, String)>) {
    crate::common::promql::visit(e, &mut |n| {
        if let Expr::VectorSelector(vs) = n {
            out.extend(
                vs.matchers
                    .matchers
                    .iter()
                    .map(|m| (m.name.clone(), m.value.clone())),
            );
        }
    });
}

/// Each selector value, parsed back out of every generated expression, is the spec's value.
fn selector_values_round_trip_through_promql() {
    let g = common::generate(&hostile());
    let expected = [
        ("service", "a\"b\\c"),
        ("zone", "line1\nline2\ttab"),
        ("shard", "{{ x }}"),
        ("team", "}\"{"),
        ("odd", "\u{1}\u{7F}\u{A0}"),
    ];
    let a = common::artifacts(&g);
    let mut checked = 0;
    for expr in common::promql::all_exprs(&a) {
        let ast = promql_parser::parser::parse(&expr).unwrap_or_else(|e| panic!("{e}: {expr}"));
        let mut found = Vec::new();
        matchers(&ast, &mut found);
        for (name, value) in found {
            if let Some((_, want)) = expected.iter().find(|(k, _)| *k == name) {
                assert_eq!(&value, want, "{name} in {expr}");
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} matchers checked");
}

/// User text reaches annotations only with every `{{` turned into a literal.
fn user_text_cannot_open_a_template_action() {
    let g = common::generate(&hostile());
    let artifacts = common::artifacts(&g);
    let alerts: Vec<_> = artifacts.rules.groups[0]
        .rules
        .iter()
        .filter(|r| r.alert.is_some())
        .collect();
    assert!(!alerts.is_empty());
    for rule in &alerts {
        let a = rule.annotations.as_ref().unwrap();
        assert!(
            a.runbook_url
                .starts_with("https://runbooks.example.com/{{ \"{{\" }}$labels.x#"),
            "{}",
            a.runbook_url
        );
        for text in [&a.summary, &a.description] {
            assert!(!text.contains("{{ oops"), "{text}");
        }
    }
    let desc = &alerts[0].annotations.as_ref().unwrap().description;
    assert!(desc.contains("Pool {{ \"{{\" }} oops and }}"), "{desc}");
}

/// promtool, which parses every annotation as a Go template, accepts the rule file, and its
/// unit test shows the hostile title printed literally.
fn promtool_accepts_hostile_text() {
    let promtool = common::promtool();
    let g = common::generate(&hostile());
    let dir = common::write_to_temp(&g);
    let rules = dir.path().join("rules/connection_pool.yml");
    let (ok, out) = common::promtool_check_rules(&promtool, &rules);
    assert!(ok, "{out}");

    // Fire the absent alert (no series at all) and compare its annotations as Prometheus
    // expands them.
    let a = common::artifacts(&g);
    let absent = a.rules.groups[0]
        .rules
        .iter()
        .find(|r| r.origin.signal.is_some_and(|s| s.key() == "absent"))
        .unwrap();
    let a = absent.annotations.as_ref().unwrap();
    // absent() returns the selector's equality matchers as labels, then the rule adds its own.
    let mut labels = absent.labels.clone();
    for (k, v) in &g.model.pools[0].selector {
        labels.insert(k.clone(), v.clone());
    }
    // The texts name the pool instance; absent() has none, so its labels print empty.
    let expr_labels: std::collections::BTreeMap<String, String> =
        g.model.pools[0].selector.iter().cloned().collect();
    let unescape =
        |s: &str| poolwatch::render::annotation_expansion::expand(s, 1.0, &expr_labels).unwrap();
    let test = serde_json::json!({
        "rule_files": [rules.to_str().unwrap()],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [],
            "alert_rule_test": [{
                "eval_time": "30m",
                "alertname": absent.alert.as_deref().unwrap(),
                "exp_alerts": [{
                    "exp_labels": labels,
                    "exp_annotations": {
                        "summary": unescape(&a.summary),
                        "description": unescape(&a.description),
                        "runbook_url": unescape(&a.runbook_url),
                    }
                }]
            }]
        }]
    });
    let test_file = dir.path().join("test.yml");
    // JSON leaves DEL unescaped, and YAML (which promtool reads the test as) forbids it raw.
    let json = serde_json::to_string_pretty(&test)
        .unwrap()
        .replace('\u{7f}', "\\u007f");
    std::fs::write(&test_file, json).unwrap();
    assert!(unescape(&a.description).contains("Pool {{ oops and }} \"quoted\" \\ back{"));
    let (ok, out) = common::run(
        std::process::Command::new(&promtool)
            .arg("test")
            .arg("rules")
            .arg(&test_file),
    );
    assert!(ok, "{out}\n{}", std::fs::read_to_string(&rules).unwrap());
}

/// Names used in file paths stay inside the output folder (the paths `safe_join` refuses
/// are listed in its unit test).
fn generated_paths_stay_inside_the_output_folder() {
    let root = std::path::Path::new("/out");
    for (_, spec) in common::all_specs() {
        for f in common::generate(&spec).files {
            let p = poolwatch::write::safe_join(root, &f.path).unwrap();
            assert!(p.starts_with(root) && !f.path.contains(".."), "{}", f.path);
        }
    }
}

use crate::harness::PROMTOOL;

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        selector_values_round_trip_through_promql,
        user_text_cannot_open_a_template_action,
        [PROMTOOL] promtool_accepts_hostile_text,
        generated_paths_stay_inside_the_output_folder,
    ]
}
