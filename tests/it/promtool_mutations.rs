//! The generated tests are strong: for every alert of every spec, raising its threshold out
//! of reach, lowering it, removing its `for`, renaming its severity, summing over the whole
//! fleet instead of per pool instance, or dropping the instance label from the grouping in
//! the rule file makes `promtool test rules` fail. The unmutated files pass.
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

/// Rewrites every label list after `by ` and `on(` in an expression.
fn edit_lists(expr: &str, edit: &dyn Fn(Vec<&str>) -> Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = expr;
    loop {
        let next = ["by (", "on("]
            .iter()
            .filter_map(|k| rest.find(k).map(|i| (i, k.len())))
            .min();
        let Some((i, len)) = next else {
            out.push_str(rest);
            return out;
        };
        let open = i + len;
        let close = open + rest[open..].find(')').unwrap();
        let labels: Vec<&str> = rest[open..close].split(", ").collect();
        out.push_str(&rest[..open]);
        out.push_str(&edit(labels).join(", "));
        rest = &rest[close..];
    }
}

/// Aggregation mutants: the pool's identity grouping removed (a fleet-wide sum: `by (le)`
/// kept for histograms), its last identity label (`instance`) dropped, and, where the
/// worlds give an instance several series (a counter with a label besides the instance's),
/// `sum` replaced by `max` and by `avg`.
fn aggregation_mutations(rule: &Value, identity: &[String], several: bool) -> Vec<Mutation> {
    let expr = rule["expr"].as_str().unwrap().to_string();
    if !expr.contains("by (") {
        return Vec::new();
    }
    let mut out = Vec::new();
    if several {
        for op in ["max", "avg"] {
            let mutated = expr.replace("sum by (", &format!("{op} by ("));
            out.push(Mutation {
                name: format!("sum replaced by {op}"),
                apply: Box::new(move |r| set_expr(r, mutated.clone())),
            });
        }
    }
    let ids = identity.to_vec();
    let fleet = edit_lists(&expr, &|labels| {
        labels
            .into_iter()
            .filter(|l| !ids.iter().any(|i| i == l))
            .map(str::to_string)
            .collect()
    })
    .replace("sum by () (", "sum(");
    if fleet != expr {
        out.push(Mutation {
            name: "identity grouping removed (fleet-wide sum)".into(),
            apply: Box::new(move |r| set_expr(r, fleet.clone())),
        });
    }
    if let Some(last) = identity.last().cloned() {
        let dropped = edit_lists(&expr, &|labels| {
            labels
                .into_iter()
                .filter(|l| *l != last)
                .map(str::to_string)
                .collect()
        })
        .replace("sum by () (", "sum(");
        if dropped != expr {
            out.push(Mutation {
                name: format!("`{}` dropped from the grouping", identity.last().unwrap()),
                apply: Box::new(move |r| set_expr(r, dropped.clone())),
            });
        }
    }
    out
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
    // A mean's denominator guard (`(... > 0)`): without it, seconds waited with no
    // acquisition counted in the window divide into +Inf and fire. Its worlds prove it.
    if rule["alert"].as_str() == Some("ConnectionPoolSlowAcquisitionMean") {
        let unguarded = unguard(expr);
        assert_ne!(unguarded, expr, "no denominator guard in {expr}");
        out.push(Mutation {
            name: "zero-denominator guard removed".into(),
            apply: Box::new(move |r| set_expr(r, unguarded.clone())),
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

/// The absence alert's target check taken apart, part by part (where it reads `up`): the
/// `up == 1` check dropped (a replaced instance would page), the whole `up` join dropped
/// (the rule without target knowledge), the down targets' part dropped, and absent() no
/// longer held back while targets are down (two pages for one outage).
fn absence_mutations(rule: &Value) -> Vec<Mutation> {
    let expr = rule["expr"].as_str().unwrap().to_string();
    let check = "\nand on(job, instance)\n(up";
    let Some(at) = expr.find(check) else {
        return Vec::new();
    };
    let check_end = at + expr[at..].find(" == 1)").unwrap() + " == 1)".len();
    let no_check = format!("{}{}", &expr[..at], &expr[check_end..]);
    let absent_at = expr.rfind("absent(").unwrap();
    let absent_end = absent_at + expr[absent_at..].find('\n').unwrap();
    let absent = &expr[absent_at..absent_end];
    let no_up = format!("{}\n)\nor {absent}", &expr[..at]);
    let down_at = expr.find("\nor\n(\nmax by (job, instance)").unwrap();
    let down_end = down_at + expr[down_at..].find("\n)").unwrap() + "\n)".len();
    let no_down = format!("{}{}", &expr[..down_at], &expr[down_end..]);
    let unheld = format!("{}\n)", &expr[..absent_end]);
    let mut out = Vec::new();
    for (name, mutated) in [
        ("target check (`up == 1`) dropped", no_check),
        ("`up` join dropped", no_up),
        ("down targets (`up == 0`) dropped", no_down),
        (
            "absent() no longer held back while targets are down",
            unheld,
        ),
    ] {
        assert_ne!(mutated, expr, "{name}: no change");
        out.push(Mutation {
            name: name.into(),
            apply: Box::new(move |r| set_expr(r, mutated.clone())),
        });
    }
    out
}

/// `(x > 0)` in an expression becomes `x`: the guarded denominator unguarded.
fn unguard(expr: &str) -> String {
    let mut out = expr.to_string();
    while let Some(end) = out.find(" > 0)") {
        // The `(` that opens the guarded expression.
        let mut depth = 0;
        let open = out[..end]
            .char_indices()
            .rev()
            .find(|&(_, c)| {
                match c {
                    ')' => depth += 1,
                    '(' if depth == 0 => return true,
                    '(' => depth -= 1,
                    _ => {}
                }
                false
            })
            .map(|(i, _)| i)
            .unwrap();
        out = format!("{}{}{}", &out[..open], &out[open + 1..end], &out[end + 5..]);
    }
    out
}

fn unguard_removes_the_guard_only() {
    assert_eq!(
        unguard("sum by (i) (rate(d[5m]))\n/\n(sum by (i) (rate(c[5m])) > 0)\n> 1"),
        "sum by (i) (rate(d[5m]))\n/\nsum by (i) (rate(c[5m]))\n> 1"
    );
    assert_eq!(unguard("x > 1"), "x > 1");
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

            let pool_name = rule["labels"][g.model.pool_label.as_str()]
                .as_str()
                .unwrap();
            let pool = g.model.pools.iter().find(|p| p.name == pool_name).unwrap();
            let mut ms = mutations(rule);
            // Counters with a label besides the pool's grouping and selector labels are split
            // over two series of one instance in the worlds: there sum, max and avg differ.
            let group = pool.group_labels();
            let several = [
                poolwatch::model::Role::AcquisitionTimeouts,
                poolwatch::model::Role::CreationErrors,
            ]
            .into_iter()
            .filter_map(|r| pool.roles.get(r))
            .filter(|m| {
                rule["expr"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("rate({m}"))
            })
            .filter_map(|m| g.model.catalog.get(m))
            .any(|m| {
                m.labels.iter().any(|l| {
                    !group.contains(&l.as_str()) && !pool.selector.iter().any(|(k, _)| k == l)
                })
            });
            let aggregation = aggregation_mutations(rule, &pool.identity, several);
            assert!(
                !aggregation.is_empty() || !rule["expr"].as_str().unwrap().contains("by ("),
                "{alert}: no aggregation mutants"
            );
            ms.extend(aggregation);
            let absence = absence_mutations(rule);
            assert!(
                !absence.is_empty() || !rule["expr"].as_str().unwrap().contains("up{"),
                "{alert}: no target-check mutants"
            );
            ms.extend(absence);
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
        unguard_removes_the_guard_only,
        [PROMTOOL] every_mutation_of_every_alert_fails_the_generated_tests,
    ]
}
