//! The generated tests are strong: for every alert of every spec, each edit a renderer bug
//! could make (see `engine`: thresholds, label matchers, grouping labels, the absence
//! alert's `unless` and `absent()` parts, a join with `up`, look-back ranges, `for`,
//! severity) makes one of that alert's own generated tests fail.
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

/// One edit of one alert rule in the rule file.
struct RuleMutant {
    kind: Kind,
    site: String,
    apply: Box<dyn Fn(&mut Value) + Send + Sync>,
}

fn set_expr(expr: String) -> Box<dyn Fn(&mut Value) + Send + Sync> {
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

/// Reads promtool 2.42's report: every failure block (`  FAILED:`) must start with the
/// failing group's `    name: <name>,` line; anything else there (a rule file that did not
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
        match lines.peek().and_then(|l| l.strip_prefix("    name: ")) {
            Some(name) => names.push(name.trim_end().trim_end_matches(',').to_string()),
            None => return Verdict::Invalid(out.to_string()),
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

/// Runs every mutant of every alert of one spec; returns each alert's tally.
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
    let groups = original["groups"].as_sequence().unwrap();
    let gi = groups
        .iter()
        .position(|grp| grp["name"].as_str() == Some(conventions::ALERT_GROUP))
        .unwrap();
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
    for (ri, rule) in groups[gi]["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .enumerate()
    {
        let name = rule["alert"].as_str().unwrap();
        let pool_name = rule["labels"][pool_label].as_str().unwrap();
        let severity = rule["labels"]["severity"].as_str().unwrap();
        let alert = format!("{spec}: {name} (pool {pool_name}, severity {severity})");
        let prefix = format!("{name} pool={pool_name} severity={severity}: ");
        // Absence is proven for every pool at once, in groups named for the alert.
        let shared = format!("{name} (every pool): ");
        if header.contains(&format!(
            "- alert {name} (pool {pool_name}) with severity {severity}"
        )) {
            eprintln!("{alert}: on a native-only histogram, left to the end-to-end scenario");
            continue;
        }
        let mut own = test_file.clone();
        own["tests"].as_sequence_mut().unwrap().retain(|t| {
            let n = t["name"].as_str().unwrap();
            n.starts_with(&prefix) || n.starts_with(&shared)
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

        let pool = g.model.pools.iter().find(|p| p.name == pool_name).unwrap();
        let several = several_series(&g.model, pool, rule["expr"].as_str().unwrap());
        let mutants = rule_mutants(rule, several, interval);
        let mut tally = Tally::default();
        for m in mutants {
            let mut mutated = original.clone();
            (m.apply)(&mut mutated["groups"][gi]["rules"][ri]);
            std::fs::write(&rule_path, serde_norway::to_string(&mutated).unwrap()).unwrap();
            let what = format!("{} at {}", m.kind, m.site);
            match judge(&promtool, &rule_path, &own_tests) {
                Verdict::Killed(failing) => {
                    let unknown: Vec<_> = failing
                        .iter()
                        .filter(|f| !f.starts_with(&prefix) && !f.starts_with(&shared))
                        .collect();
                    assert!(
                        unknown.is_empty(),
                        "{alert}: {what}: failures of other groups {unknown:?}"
                    );
                    tally.killed += 1;
                    *tally.by_kind.entry(kind_name(&m.kind)).or_default() += 1;
                }
                // A dropped selector matcher dies too: the worlds hold other services'
                // series beside every silent case (neighbours), which only a query that
                // lost a matcher sees.
                Verdict::Survived => match &m.kind {
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
        tallies.push((alert, tally));
    }
    tallies
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
