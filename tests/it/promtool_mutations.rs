//! The generated tests are strong: for every alert of every spec, raising its threshold out
//! of reach, lowering it, removing its `for` or renaming its severity in the rule file makes
//! `promtool test rules` fail. The unmutated files pass.
//!
//! Each mutation is run against the alert's own test groups only (those named
//! `<alert> pool=<pool> severity=<severity>: ...`): an alert's tests must catch the edits of
//! that alert by themselves, and promtool runs a handful of groups instead of all.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;
use std::process::Command;

use poolwatch::conventions;
use serde_norway::Value;

/// One edit of one alert in the rule file.
struct Mutation {
    name: String,
    apply: Box<dyn Fn(&mut Value)>,
}

/// The threshold at the end of an alert's expression (`... > 0.9`, `... <= 0`), and the
/// expression before it with its operator.
fn threshold(expr: &str) -> Option<(String, &str, f64)> {
    let (head, number) = expr.trim_end().rsplit_once(char::is_whitespace)?;
    let t: f64 = number.parse().ok()?;
    let op = [">", "<="].into_iter().find(|op| head.ends_with(op))?;
    Some((head.to_string(), op, t))
}

fn set_expr(rule: &mut Value, expr: String) {
    rule["expr"] = Value::String(expr);
}

fn mutations(rule: &Value) -> Vec<Mutation> {
    let mut out = Vec::new();
    let expr = rule["expr"].as_str().unwrap();
    if let Some((head, op, t)) = threshold(expr) {
        // `>` fires above the threshold, `<=` at or below it.
        let (raised, lowered) = if op == ">" {
            (1e9, if t > 0.0 { t * 0.9 } else { -1.0 })
        } else {
            (t + 1.0, t - 1.0)
        };
        for (what, new) in [("raised", raised), ("lowered", lowered)] {
            let head = head.clone();
            out.push(Mutation {
                name: format!("threshold {what} from {t} to {new}"),
                apply: Box::new(move |r| set_expr(r, format!("{head} {new}"))),
            });
        }
    }
    if rule["for"].as_str().is_some_and(|f| f != "0s") {
        out.push(Mutation {
            name: "for removed".into(),
            apply: Box::new(|r| {
                r.as_mapping_mut().unwrap().remove("for");
            }),
        });
    }
    out.push(Mutation {
        name: "severity renamed".into(),
        apply: Box::new(|r| {
            let s = r["labels"]["severity"].as_str().unwrap().to_string();
            r["labels"]["severity"] = Value::String(format!("{s}_renamed"));
        }),
    });
    out
}

fn promtool_test(promtool: &Path, tests: &Path) -> (bool, String) {
    common::run(Command::new(promtool).arg("test").arg("rules").arg(tests))
}

fn every_mutation_of_every_alert_fails_the_generated_tests() {
    let promtool = common::promtool();
    let mut survivors = Vec::new();
    let mut killed = 0;
    for (spec, source) in common::all_specs() {
        let g = common::generate(&source);
        let dir = common::write_to_temp(&g);
        let all_tests = dir.path().join(conventions::test_file_path());
        let (ok, out) = promtool_test(&promtool, &all_tests);
        assert!(ok, "{spec}: the unmutated tests fail:\n{out}");
        let test_file: Value =
            serde_norway::from_str(&std::fs::read_to_string(&all_tests).unwrap()).unwrap();
        // Beside the rule file, so that `rule_files` finds it.
        let own_tests = all_tests.with_file_name("alert.test.yml");

        let rule_path = dir.path().join(conventions::rule_file_path());
        let original_text = std::fs::read_to_string(&rule_path).unwrap();
        let original: Value = serde_norway::from_str(&original_text).unwrap();
        let groups = original["groups"].as_sequence().unwrap();
        let gi = groups
            .iter()
            .position(|grp| grp["name"].as_str() == Some(conventions::ALERT_GROUP))
            .unwrap();
        let alerts = groups[gi]["rules"].as_sequence().unwrap();
        for (ri, rule) in alerts.iter().enumerate() {
            let alert = format!(
                "{spec}: {} (pool {}, severity {})",
                rule["alert"].as_str().unwrap(),
                rule["labels"][g.model.pool_label.as_str()]
                    .as_str()
                    .unwrap(),
                rule["labels"]["severity"].as_str().unwrap()
            );
            let prefix = format!(
                "{} pool={} severity={}: ",
                rule["alert"].as_str().unwrap(),
                rule["labels"][g.model.pool_label.as_str()]
                    .as_str()
                    .unwrap(),
                rule["labels"]["severity"].as_str().unwrap()
            );
            // Absence is proven for every pool at once, in groups named for the alert.
            let shared = format!("{} (every pool): ", rule["alert"].as_str().unwrap());
            let mut own = test_file.clone();
            own["tests"].as_sequence_mut().unwrap().retain(|t| {
                let name = t["name"].as_str().unwrap();
                name.starts_with(&prefix) || name.starts_with(&shared)
            });
            assert!(
                own["tests"].as_sequence().unwrap().len() >= 2,
                "{alert}: no firing and silent test groups"
            );
            std::fs::write(&own_tests, serde_norway::to_string(&own).unwrap()).unwrap();
            std::fs::write(&rule_path, &original_text).unwrap();
            let (ok, out) = promtool_test(&promtool, &own_tests);
            assert!(ok, "{alert}: its tests fail unmutated:\n{out}");

            let ms = mutations(rule);
            assert!(ms.len() >= 2, "{alert}: too few mutations");
            for m in ms {
                let mut mutated = original.clone();
                (m.apply)(&mut mutated["groups"][gi]["rules"][ri]);
                std::fs::write(&rule_path, serde_norway::to_string(&mutated).unwrap()).unwrap();
                let (ok, out) = promtool_test(&promtool, &own_tests);
                if ok {
                    survivors.push(format!("{alert}: {}", m.name));
                } else {
                    assert!(out.contains("FAILED"), "{alert}: {}: {out}", m.name);
                    killed += 1;
                }
            }
        }
    }
    assert!(
        survivors.is_empty(),
        "mutations the generated tests did not catch:\n{}",
        survivors.join("\n")
    );
    assert!(killed > 0);
}

use crate::harness::PROMTOOL;

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [PROMTOOL] every_mutation_of_every_alert_fails_the_generated_tests,
    ]
}
