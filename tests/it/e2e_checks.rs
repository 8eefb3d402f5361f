//! What every end-to-end phase proves before it asserts silence or firing: the rules are
//! evaluating without error, and every series the alerts read is there for each pool
//! identity the phase concerns, with a value in the range the phase implies. A "quiet"
//! phase without this could be quiet because a rule failed or a series was missing.
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::path::Path;

use serde_json::Value;

use super::e2e_support::Prometheus;

/// One series a phase expects: the PromQL expression, the pool identity one of its samples
/// must carry (label, value), and the range its value must lie in.
#[derive(Debug, Clone)]
pub(crate) struct Expect {
    pub expr: String,
    pub identity: Vec<(String, String)>,
    pub range: RangeInclusive<f64>,
}

impl Expect {
    pub(crate) fn new(expr: &str, identity: &[(&str, &str)], range: RangeInclusive<f64>) -> Self {
        Self {
            expr: expr.to_string(),
            identity: identity
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            range,
        }
    }
}

/// The series the alerting rules of `rule_file` read: catalog metrics of `catalog` (with a
/// histogram's `_bucket`, `_sum` and `_count`) and recorded series of the same file. A
/// recording that computes from catalog series is the alert's math moved out of it: its
/// inputs are read, through it. A recording computed from other recordings only (the
/// recommended size, a counter's rate from its parts) is read itself, and its inputs too.
pub(crate) fn read_by_alerts(rule_file: &Path, catalog: &[String]) -> BTreeSet<String> {
    let text = std::fs::read_to_string(rule_file).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let rules: Vec<&serde_norway::Value> = doc["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap().iter())
        .collect();
    let records: BTreeMap<&str, &str> = rules
        .iter()
        .filter_map(|r| Some((r.get("record")?.as_str()?, r["expr"].as_str().unwrap())))
        .collect();
    let mut raw: BTreeSet<String> = BTreeSet::new();
    for m in catalog {
        raw.insert(m.clone());
        for suffix in ["_bucket", "_sum", "_count"] {
            raw.insert(format!("{m}{suffix}"));
        }
    }
    let mut read = BTreeSet::new();
    let mut todo: Vec<&str> = rules
        .iter()
        .filter(|r| r.get("alert").is_some())
        .map(|r| r["expr"].as_str().unwrap())
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(expr) = todo.pop() {
        for token in tokens(expr) {
            if raw.contains(token) {
                read.insert(token.to_string());
            } else if let Some(inner) = records.get(token) {
                if !tokens(inner).any(|t| raw.contains(t)) {
                    read.insert(token.to_string());
                }
                if seen.insert(token) {
                    todo.push(inner);
                }
            }
        }
    }
    read
}

/// PromQL identifiers (metric, label and function names alike) of an expression.
fn tokens(expr: &str) -> impl Iterator<Item = &str> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| !t.is_empty())
}

/// The phase's preconditions, asserted: every rule healthy and evaluated recently, every
/// series of `read` covered by an expectation, and every expectation met.
pub(crate) fn assert_data(
    prom: &mut Prometheus,
    phase: &str,
    read: &BTreeSet<String>,
    expects: &[Expect],
) {
    assert_rules_healthy(prom, phase);
    let uncovered: Vec<&String> = read
        .iter()
        .filter(|m| !expects.iter().any(|e| tokens(&e.expr).any(|t| t == *m)))
        .collect();
    assert!(
        uncovered.is_empty(),
        "{phase}: the phase does not check series its alerts read: {uncovered:?}"
    );
    // A series may need a scrape or an evaluation more after the phase's action: the
    // expectations get a few seconds, then their last findings fail the phase.
    let start = std::time::Instant::now();
    loop {
        let failures = unmet(prom, expects);
        if failures.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(15),
            "{phase}: the data the alerts read is not what the phase needs:\n{}",
            failures.join("\n")
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// The expectations not met now, each in words.
fn unmet(prom: &mut Prometheus, expects: &[Expect]) -> Vec<String> {
    let mut failures = Vec::new();
    for e in expects {
        let result = match prom.query(&e.expr) {
            Ok(r) => r,
            Err(err) => {
                failures.push(format!("{}: {err}", e.expr));
                continue;
            }
        };
        let mine: Vec<&Value> = result
            .iter()
            .filter(|s| {
                e.identity
                    .iter()
                    .all(|(k, v)| s["metric"][k].as_str() == Some(v.as_str()))
            })
            .collect();
        let values: Vec<f64> = mine
            .iter()
            .filter_map(|s| s["value"][1].as_str()?.parse().ok())
            .collect();
        if values.is_empty() {
            failures.push(format!(
                "{} has no sample for {:?}; got {result:?}",
                e.expr, e.identity
            ));
        } else if let Some(v) = values.iter().find(|v| !e.range.contains(v)) {
            failures.push(format!(
                "{} = {v} for {:?}, expected within {:?}",
                e.expr, e.identity, e.range
            ));
        }
    }
    failures
}

/// Waits (up to 20 s) until `expr` returns a sample: the phase's action has reached the
/// data (e.g. `... == 2` once two connections are in use).
pub(crate) fn wait_until(prom: &mut Prometheus, expr: &str) {
    super::e2e_support::wait_for(expr, std::time::Duration::from_secs(20), || {
        match prom.query(expr)? {
            r if r.is_empty() => Err("no sample yet".into()),
            _ => Ok(()),
        }
    });
}

/// Every rule of every group reports health "ok", no error, and an evaluation within the
/// last ten seconds of the server's clock.
pub(crate) fn assert_rules_healthy(prom: &mut Prometheus, phase: &str) {
    let rules = prom
        .api("/api/v1/rules")
        .unwrap_or_else(|e| panic!("{phase}: {e}"));
    let now = prom
        .query("time()")
        .ok()
        // A scalar result is [time, "value"].
        .and_then(|r| r.first()?.as_f64())
        .unwrap_or_else(|| panic!("{phase}: Prometheus's time() did not answer"));
    let mut bad = Vec::new();
    let groups = rules["groups"].as_array().cloned().unwrap_or_default();
    assert!(!groups.is_empty(), "{phase}: no rule groups loaded");
    for g in &groups {
        for r in g["rules"].as_array().into_iter().flatten() {
            let name = r["name"].as_str().unwrap_or("?");
            let error = r["lastError"].as_str().unwrap_or("");
            if r["health"] != "ok" || !error.is_empty() {
                bad.push(format!("{name}: health {} {error}", r["health"]));
            }
            match r["lastEvaluation"].as_str().and_then(rfc3339_seconds) {
                Some(t) if now - t <= 10.0 => {}
                other => bad.push(format!(
                    "{name}: last evaluated {other:?}, server time {now}"
                )),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{phase}: rules not healthy:\n{}",
        bad.join("\n")
    );
}

/// Seconds since the epoch of an RFC 3339 UTC time as Prometheus prints it
/// (`2026-12-07T11:05:03.123456789Z`).
fn rfc3339_seconds(s: &str) -> Option<f64> {
    let (date, time) = s.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':');
    let (h, min) = (
        t.next()?.parse::<f64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
    );
    let sec = t.next()?.parse::<f64>().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + h * 3600.0 + min * 60.0 + sec)
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        rfc3339_times_convert_to_epoch_seconds,
        alerts_read_their_catalog_and_recorded_series
    ]
}

fn rfc3339_times_convert_to_epoch_seconds() {
    assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(
        rfc3339_seconds("2000-03-01T00:00:01.5Z"),
        Some(951_868_801.5)
    );
    assert_eq!(
        rfc3339_seconds("2026-12-07T11:05:03Z"),
        Some(1_796_641_503.0)
    );
    assert_eq!(rfc3339_seconds("2026-12-07 11:05:03"), None);
}

fn alerts_read_their_catalog_and_recorded_series() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.yml");
    std::fs::write(
        &file,
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: sum by (job) (rate(m_bucket{le=\"5\"}[5m])) > ignoring(pool) lvl:m:rec{pool=\"p\"}\n\
         - name: r\n  rules:\n  - record: lvl:m:rec\n    expr: max(other)\n  - record: lvl:m:unused\n    expr: m\n",
    )
    .unwrap();
    let read = read_by_alerts(&file, &["m".into(), "other".into()]);
    assert_eq!(read, ["m_bucket", "other"].map(String::from).into());
    // An alert comparing a recording of catalog series reads those series; one computed
    // from recordings only is read itself.
    std::fs::write(
        &file,
        [
            "groups:",
            "- name: a",
            "  rules:",
            "  - record: lvl:m:raw",
            "    expr: sum(rate(m_count[5m]))",
            "  - record: lvl:m:sum",
            "    expr: lvl:m:raw + 1",
            "  - alert: A",
            "    expr: lvl:m:raw > 0",
            "  - alert: B",
            "    expr: lvl:m:sum > 0",
        ]
        .join("\n"),
    )
    .unwrap();
    let read = read_by_alerts(&file, &["m".into()]);
    assert_eq!(read, ["lvl:m:sum", "m_count"].map(String::from).into());
}
