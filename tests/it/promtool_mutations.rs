//! The generated tests are strong: for every alert of every spec, and every recording rule
//! an alert reads, each edit a renderer bug could make (see `engine`: thresholds, label
//! matchers, grouping labels, the absence alert's `unless` and `absent()` parts, a join
//! with `up`, look-back ranges, `for`, severity; for a recording, also moving it after the
//! alerts or into a group of its own) makes one of that rule's tests fail: the alert's own,
//! or for a recording, those of the alerts reading it and its pool's recording-rule tests.
//!
//! A mutant counts as killed only when the mutated rule file still passes `promtool check
//! rules` (an unparsable file would fail every test for the wrong reason) and `promtool test
//! rules` reports a failing test group by name, not a file it could not load. Each mutation
//! is run against the alert's own test groups only (those named `<alert> pool=<pool>
//! severity=<severity>: ...`, and the shared `<alert> (every pool): ...`): an alert's tests
//! must catch the edits of that alert by themselves. The suite prints each alert's kill
//! counts and asserts that every alert has killed mutants and that none survives.
#![allow(clippy::unwrap_used)]

mod engine;

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use engine::{
    Kind, engine_drops_a_join_with_up_wherever_one_is_written,
    engine_moves_numeric_and_vector_thresholds_both_ways,
    engine_mutates_each_part_of_an_absence_rule,
};
use poolwatch::conventions;
use serde_norway::Value;

/// An edit of a YAML value: a rule, or the whole rule file.
type Edit = Box<dyn Fn(&mut Value) + Send + Sync>;

/// One edit of one rule (or, once placed with [`at_rule`], of the rule file).
struct RuleMutant {
    kind: Kind,
    site: String,
    apply: Edit,
}

fn set_expr(expr: String) -> Edit {
    Box::new(move |r| r["expr"] = Value::String(expr.clone()))
}

/// Every mutant of one alert rule: its expression's (the engine's) and the rule's own.
/// `interval` is the tests' evaluation interval: a `for` is halved only where the half is
/// still a whole interval (below that, Prometheus fires at the same evaluation either way).
fn rule_mutants(rule: &Value, several: bool, interval: u64) -> Vec<RuleMutant> {
    let expr = rule["expr"].as_str().unwrap();
    let hold = rule["for"]
        .as_str()
        .map(|f| Duration::from_secs(seconds(f)));
    let mut out: Vec<RuleMutant> = engine::mutants(expr, several, hold)
        .into_iter()
        .map(|m| RuleMutant {
            kind: m.kind,
            site: m.site,
            apply: set_expr(m.expr),
        })
        .collect();
    if let Some(f) = rule["for"].as_str().filter(|f| *f != "0s") {
        out.push(RuleMutant {
            kind: Kind::ForRemoved,
            site: format!("for: {f}"),
            apply: Box::new(|r| {
                r.as_mapping_mut().unwrap().remove("for");
            }),
        });
        if seconds(f) >= 2 * interval {
            let halved = format!("{}s", seconds(f) / 2);
            out.push(RuleMutant {
                kind: Kind::ForHalved,
                site: format!("for: {f} -> {halved}"),
                apply: Box::new(move |r| r["for"] = Value::String(halved.clone())),
            });
        }
    }
    if let Some(k) = rule["keep_firing_for"].as_str() {
        out.push(RuleMutant {
            kind: Kind::KeepFiringForRemoved,
            site: format!("keep_firing_for: {k}"),
            apply: Box::new(|r| {
                r.as_mapping_mut().unwrap().remove("keep_firing_for");
            }),
        });
    }
    out.push(RuleMutant {
        kind: Kind::SeverityRenamed,
        site: "labels.severity".into(),
        apply: Box::new(|r| {
            let s = r["labels"]["severity"].as_str().unwrap().to_string();
            r["labels"]["severity"] = Value::String(format!("{s}_renamed"));
        }),
    });
    out
}

/// A generated `for` (`5m`, `1h`, `90s`) in seconds.
fn seconds(d: &str) -> u64 {
    let (n, unit) = d.split_at(d.find(|c: char| !c.is_ascii_digit()).unwrap());
    let n: u64 = n.parse().unwrap();
    n * match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        other => panic!("unexpected duration unit in `{d}`: {other}"),
    }
}

/// What `promtool test rules` said of a mutant.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// These test groups failed (by name).
    Killed(Vec<String>),
    /// Every test passed.
    Survived,
    /// The file did not load or check, or the output had a failure that names no test group.
    Invalid(String),
}

/// What [`failed_groups`] names a failing recorded-value check, or a rule whose evaluation
/// failed during the tests (a recording that writes one series twice), by: promtool 2.42
/// prints the expression or the rule, not the group, and every group of a mutant's test
/// file is the rule's own.
const EXPR_FAILURE: &str = "(a promql_expr_test or a rule's evaluation)";

/// Reads promtool 2.42's report: every failure block (`  FAILED:`) must start with the
/// failing group's `    name: <name>,` line, or for a recorded-value check its
/// `    expr: ...` line, or for a rule that failed to evaluate its `    rule: ...` line
/// ([`EXPR_FAILURE`]); anything else there (a rule file that did not
/// load, a test file that did not parse) is no test failure.
fn failed_groups(ok: bool, out: &str) -> Verdict {
    if ok {
        return Verdict::Survived;
    }
    let mut names = Vec::new();
    let mut lines = out.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim_end() != "FAILED:" && line.trim() != "FAILED:" {
            continue;
        }
        match lines.peek() {
            Some(l) if l.starts_with("    name: ") => names.push(
                l["    name: ".len()..]
                    .trim_end()
                    .trim_end_matches(',')
                    .to_string(),
            ),
            Some(l) if l.starts_with("    expr: ") || l.starts_with("    rule: ") => {
                names.push(EXPR_FAILURE.to_string())
            }
            _ => return Verdict::Invalid(out.to_string()),
        }
    }
    if names.is_empty() {
        Verdict::Invalid(out.to_string())
    } else {
        Verdict::Killed(names)
    }
}

fn failed_groups_tells_a_failing_test_from_an_unloadable_file() {
    let failing = "Unit Testing:  t.yml\n  FAILED:\n    name: A pool=p severity=warning: fires,\n    alertname: A, time: 1m, \n        exp:[], \n        got:[]\n\n";
    assert_eq!(
        failed_groups(false, failing),
        Verdict::Killed(vec!["A pool=p severity=warning: fires".into()])
    );
    let unloadable = "Unit Testing:  t.yml\n  FAILED:\nr.yml: 5:11: group \"g\", rule 1, \"A\": could not parse expression: 1:4: parse error: unexpected <op:>>\n";
    assert!(matches!(
        failed_groups(false, unloadable),
        Verdict::Invalid(_)
    ));
    assert!(matches!(
        failed_groups(false, "no such file\n"),
        Verdict::Invalid(_)
    ));
    let expr = "Unit Testing:  t.yml\n  FAILED:\n    expr: \"r{pool=\\\"p\\\"} > 0\", time: 2m30s,\n        exp: {} 2.5E-02\n        got: nil\n";
    assert_eq!(
        failed_groups(false, expr),
        Verdict::Killed(vec![EXPR_FAILURE.into()])
    );
    let rule = "Unit Testing:  t.yml\n  FAILED:\n    rule: r, time: 6m0s, err: vector contains metrics with the same labelset after applying rule labels\n";
    assert_eq!(
        failed_groups(false, rule),
        Verdict::Killed(vec![EXPR_FAILURE.into()])
    );
    assert_eq!(failed_groups(true, "SUCCESS\n"), Verdict::Survived);
}

fn judge(promtool: &Path, rule_path: &Path, tests: &Path) -> Verdict {
    let (ok, out) = common::promtool_check_rules(promtool, rule_path);
    if !ok {
        return Verdict::Invalid(format!("promtool check rules: {out}"));
    }
    let (ok, out) = common::run(Command::new(promtool).arg("test").arg("rules").arg(tests));
    failed_groups(ok, &out)
}

/// Kill counts of one alert.
#[derive(Default)]
struct Tally {
    killed: usize,
    by_kind: BTreeMap<String, usize>,
    survivors: Vec<String>,
    /// Mutants that cannot change any result Prometheus could compute.
    equivalent: usize,
}

/// A rule under mutation: where it is in the file, how the report names it, and the test
/// groups that must catch its mutants (by name prefix).
struct Target {
    gi: usize,
    ri: usize,
    what: String,
    prefixes: Vec<String>,
    /// How the test file's header names it when promtool cannot prove it (native only).
    header_line: String,
}

/// Every rule of the file whose mutants have tests to fail: each alert (its own tests) and
/// each recording an alert reads (the tests of every alert reading it, and its pool's
/// recording-rule tests).
fn targets(spec: &str, doc: &Value, pool_label: &str) -> Vec<Target> {
    let groups = doc["groups"].as_sequence().unwrap();
    let records: BTreeMap<String, String> = groups
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .filter_map(|r| {
            let name = r["record"].as_str()?;
            Some((name.to_string(), r["expr"].as_str().unwrap().to_string()))
        })
        .collect();
    let mut readers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut out = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        for (ri, rule) in g["rules"].as_sequence().unwrap().iter().enumerate() {
            let Some(name) = rule["alert"].as_str() else {
                continue;
            };
            let pool = rule["labels"][pool_label].as_str().unwrap();
            let severity = rule["labels"]["severity"].as_str().unwrap();
            // Absence is proven for every pool at once, in groups named for the alert.
            let own = vec![
                format!("{name} pool={pool} severity={severity}: "),
                format!("{name} (every pool): "),
            ];
            for r in common::promql::recordings_read(rule["expr"].as_str().unwrap(), &records) {
                readers.entry(r).or_default().extend(own.iter().cloned());
            }
            out.push(Target {
                gi,
                ri,
                what: format!("{spec}: {name} (pool {pool}, severity {severity})"),
                prefixes: own,
                header_line: format!("- alert {name} (pool {pool}) with severity {severity}"),
            });
        }
    }
    for (gi, g) in groups.iter().enumerate() {
        for (ri, rule) in g["rules"].as_sequence().unwrap().iter().enumerate() {
            let Some(name) = rule["record"].as_str() else {
                continue;
            };
            let Some(prefixes) = readers.get(name) else {
                continue;
            };
            let pool = rule["labels"][pool_label].as_str().unwrap();
            let mut prefixes = prefixes.clone();
            prefixes.push(format!("recording rules of pool {pool}: "));
            prefixes.dedup();
            out.push(Target {
                gi,
                ri,
                what: format!("{spec}: recording {name} (pool {pool})"),
                prefixes,
                header_line: format!("- recording rule {name} (pool {pool})"),
            });
        }
    }
    out
}

/// The two order mutants of a recording: after the last rule of its group, and alone in a
/// group of its own after every other.
fn order_mutants(gi: usize, ri: usize) -> Vec<(Kind, Edit)> {
    vec![
        (
            Kind::RecordingMovedAfterAlerts,
            Box::new(move |doc: &mut Value| {
                let rules = doc["groups"][gi]["rules"].as_sequence_mut().unwrap();
                let r = rules.remove(ri);
                rules.push(r);
            }),
        ),
        (
            Kind::RecordingMovedToOwnGroup,
            Box::new(move |doc: &mut Value| {
                let r = doc["groups"][gi]["rules"]
                    .as_sequence_mut()
                    .unwrap()
                    .remove(ri);
                let name = format!("{}_moved", doc["groups"][gi]["name"].as_str().unwrap());
                let mut g = serde_norway::Mapping::new();
                g.insert("name".into(), Value::String(name));
                g.insert("rules".into(), Value::Sequence(vec![r]));
                doc["groups"]
                    .as_sequence_mut()
                    .unwrap()
                    .push(Value::Mapping(g));
            }),
        ),
    ]
}

/// Runs every mutant of every alert, and of every recording an alert reads, of one spec;
/// returns each one's tally.
fn mutate_spec(spec: &str, source: &poolwatch::spec::SpecSource) -> Vec<(String, Tally)> {
    let promtool = common::promtool();
    let g = common::generate(source);
    let dir = common::write_to_temp(&g);
    let all_tests = dir.path().join(conventions::test_file_path());
    let (ok, out) = common::run(
        Command::new(&promtool)
            .arg("test")
            .arg("rules")
            .arg(&all_tests),
    );
    assert!(ok, "{spec}: the unmutated tests fail:\n{out}");
    let test_file: Value =
        serde_norway::from_str(&std::fs::read_to_string(&all_tests).unwrap()).unwrap();
    // Beside the generated test file, so that its `rule_files` paths hold.
    let own_tests = all_tests.with_file_name("alert.test.yml");

    let rule_path = dir.path().join(conventions::rule_file_path());
    let original_text = std::fs::read_to_string(&rule_path).unwrap();
    let original: Value = serde_norway::from_str(&original_text).unwrap();
    let pool_label = g.model.pool_label.as_str();
    let interval = seconds(test_file["evaluation_interval"].as_str().unwrap());
    // Alerts on native-only histograms have no promtool tests (promtool 2.42 cannot feed a
    // native histogram): the file's header names them, left to the end-to-end scenario.
    let header: String = std::fs::read_to_string(&all_tests)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with('#'))
        .collect();
    let mut tallies = Vec::new();
    for t in targets(spec, &original, pool_label) {
        let (gi, ri) = (t.gi, t.ri);
        let rule = &original["groups"][gi]["rules"][ri];
        let alert = &t.what;
        if header.contains(&t.header_line) {
            eprintln!("{alert}: reads a native-only histogram, left to the end-to-end scenario");
            continue;
        }
        let mut own = test_file.clone();
        own["tests"].as_sequence_mut().unwrap().retain(|test| {
            let n = test["name"].as_str().unwrap();
            t.prefixes.iter().any(|p| n.starts_with(p))
        });
        assert!(
            own["tests"].as_sequence().unwrap().len() >= 2,
            "{alert}: no firing and silent test groups"
        );
        std::fs::write(&own_tests, serde_norway::to_string(&own).unwrap()).unwrap();

        // The control: the rule as the engine's printer writes it passes its tests, so a
        // killed mutant died of its edit, not of the reprinting.
        let mut control = original.clone();
        let reprinted = engine::reprint(rule["expr"].as_str().unwrap());
        control["groups"][gi]["rules"][ri]["expr"] = Value::String(reprinted);
        std::fs::write(&rule_path, serde_norway::to_string(&control).unwrap()).unwrap();
        let verdict = judge(&promtool, &rule_path, &own_tests);
        assert_eq!(
            verdict,
            Verdict::Survived,
            "{alert}: its tests fail on the reprinted rule"
        );

        let pool_name = rule["labels"][pool_label].as_str().unwrap();
        let pool = g.model.pools.iter().find(|p| p.name == pool_name).unwrap();
        let several = several_series(&g.model, pool, rule["expr"].as_str().unwrap());
        let mut mutants: Vec<RuleMutant> = Vec::new();
        if rule["record"].as_str().is_some() {
            for (kind, apply) in order_mutants(gi, ri) {
                mutants.push(RuleMutant {
                    kind,
                    site: "rule order".into(),
                    apply,
                });
            }
            // Not a look-back cut: the one a recording an alert reads has is capacity
            // planning's day, which no unit test spans.
            for m in engine::mutants(rule["expr"].as_str().unwrap(), several, None)
                .into_iter()
                .filter(|m| m.kind != Kind::LookbackShortened)
            {
                mutants.push(RuleMutant {
                    kind: m.kind,
                    site: m.site,
                    apply: at_rule(gi, ri, set_expr(m.expr)),
                });
            }
        } else {
            for m in rule_mutants(rule, several, interval) {
                mutants.push(RuleMutant {
                    apply: at_rule(gi, ri, m.apply),
                    ..m
                });
            }
        }
        let mut tally = Tally::default();
        for RuleMutant { kind, site, apply } in mutants {
            let mut mutated = original.clone();
            apply(&mut mutated);
            std::fs::write(&rule_path, serde_norway::to_string(&mutated).unwrap()).unwrap();
            let what = format!("{kind} at {site}");
            // promtool runs groups in map order unless told; Prometheus runs them on their
            // own timers: the moved recording's group runs last, as it may.
            let tests = if kind == Kind::RecordingMovedToOwnGroup {
                let mut ordered = own.clone();
                ordered["group_eval_order"] = Value::Sequence(
                    mutated["groups"]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .map(|g| g["name"].clone())
                        .collect(),
                );
                let path = own_tests.with_file_name("ordered.test.yml");
                std::fs::write(&path, serde_norway::to_string(&ordered).unwrap()).unwrap();
                path
            } else {
                own_tests.clone()
            };
            match judge(&promtool, &rule_path, &tests) {
                Verdict::Killed(failing) => {
                    let unknown: Vec<_> = failing
                        .iter()
                        .filter(|f| {
                            *f != EXPR_FAILURE && !t.prefixes.iter().any(|p| f.starts_with(p))
                        })
                        .collect();
                    assert!(
                        unknown.is_empty(),
                        "{alert}: {what}: failures of other groups {unknown:?}"
                    );
                    tally.killed += 1;
                    *tally.by_kind.entry(kind_name(&kind)).or_default() += 1;
                }
                // A dropped selector matcher dies too: the worlds hold other services'
                // series beside every silent case (neighbours), which only a query that
                // lost a matcher sees.
                Verdict::Survived => match &kind {
                    // The pool label on a recorded series of a one-pool spec: the recorded
                    // name is this spec's alone (PW030 refuses a second spec recording it),
                    // so no other series can match once the matcher is gone.
                    Kind::MatcherDropped(l) if l == pool_label && g.model.pools.len() == 1 => {
                        tally.equivalent += 1
                    }
                    _ => tally.survivors.push(what),
                },
                Verdict::Invalid(out) => panic!("{alert}: {what}: not a valid mutant:\n{out}"),
            }
        }
        tallies.push((alert.clone(), tally));
    }
    tallies
}

/// A rule's edit applied to the rule at `gi`, `ri` of the file.
fn at_rule(gi: usize, ri: usize, edit: Edit) -> Edit {
    Box::new(move |doc| edit(&mut doc["groups"][gi]["rules"][ri]))
}

/// The kind without its label, for the per-alert summary.
fn kind_name(k: &Kind) -> String {
    let s = k.to_string();
    match k {
        Kind::MatcherDropped(_) => "matcher dropped".into(),
        Kind::MatcherAltered(_) => "matcher altered".into(),
        Kind::GroupingLabelDropped(_) => "grouping label dropped".into(),
        _ => s,
    }
}

/// Whether the worlds split a summed counter over several series of one pool instance (a
/// counter with a label besides the pool's grouping and selector labels): there `sum`,
/// `max` and `avg` differ.
fn several_series(
    model: &poolwatch::model::Model,
    pool: &poolwatch::model::Pool,
    expr: &str,
) -> bool {
    let group = pool.group_labels();
    [
        poolwatch::model::Role::AcquisitionTimeouts,
        poolwatch::model::Role::CreationErrors,
    ]
    .into_iter()
    .filter_map(|r| pool.roles.get(r))
    .filter(|m| expr.contains(&format!("rate({m}")))
    .filter_map(|m| model.catalog.get(m))
    .any(|m| {
        m.labels
            .iter()
            .any(|l| !group.contains(&l.as_str()) && !pool.selector.iter().any(|(k, _)| k == l))
    })
}

fn every_mutation_of_every_alert_fails_the_generated_tests() {
    let specs = common::all_specs();
    // Two workers: promtool runs are the cost, and the machine has two cores.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((spec, source)) = specs.get(i) else {
                        break;
                    };
                    let t = mutate_spec(spec, source);
                    results.lock().unwrap().push((i, t));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let mut survivors = Vec::new();
    let mut unkilled = Vec::new();
    let mut total = 0;
    for (alert, tally) in results.into_iter().flat_map(|(_, t)| t) {
        let kinds: Vec<String> = tally
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        eprintln!(
            "{alert}: {} killed, {} survived, {} equivalent ({})",
            tally.killed,
            tally.survivors.len(),
            tally.equivalent,
            kinds.join(", ")
        );
        total += tally.killed;
        if tally.killed == 0 {
            unkilled.push(alert.clone());
        }
        survivors.extend(tally.survivors.into_iter().map(|s| format!("{alert}: {s}")));
    }
    eprintln!("{total} mutants killed");
    assert!(
        unkilled.is_empty(),
        "alerts without a killed mutant:\n{}",
        unkilled.join("\n")
    );
    assert!(
        survivors.is_empty(),
        "mutations the generated tests did not catch:\n{}",
        survivors.join("\n")
    );
}

use crate::harness::PROMTOOL;

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        failed_groups_tells_a_failing_test_from_an_unloadable_file,
        engine_drops_a_join_with_up_wherever_one_is_written,
        engine_mutates_each_part_of_an_absence_rule,
        engine_moves_numeric_and_vector_thresholds_both_ways,
        [PROMTOOL] every_mutation_of_every_alert_fails_the_generated_tests,
    ]
}
