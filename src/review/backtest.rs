//! Last week replayed: the alert expressions of a change, old and new, evaluated over a
//! past range by a Prometheus server through its read-only HTTP API (`query_range`,
//! `series`), with each alert's `for` applied per identity the way Prometheus's rule
//! manager applies it, so a reviewer reads how often and how long each would have fired.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::digest::{AlertKey, keyed_rules};
use crate::model::PromDuration;
use crate::render::prometheus::RuleFile;

/// Prometheus answers at most this many points per series of a range query.
const MAX_POINTS: u64 = 11_000;

/// Why there is no replay: a sentence for the user (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BacktestError(pub(crate) String);

impl std::fmt::Display for BacktestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The time range replayed, in Unix seconds, and the evaluation step.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Window {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) step: i64,
}

impl Window {
    /// The `range` (a Prometheus duration such as `7d`) up to `end`, evaluated every
    /// `step`; refused when Prometheus would refuse it (too many points).
    pub(crate) fn new(range: &str, end: i64, step: i64) -> Result<Self, BacktestError> {
        let d = PromDuration::parse(range)
            .map_err(|e| BacktestError(format!("--range {range}: {e}")))?;
        let secs = (d.millis() / 1000) as i64;
        if secs < step {
            return Err(BacktestError(format!(
                "--range {range} is shorter than one evaluation ({step}s)"
            )));
        }
        let points = secs as u64 / step as u64;
        if points > MAX_POINTS {
            return Err(BacktestError(format!(
                "--range {range} at one evaluation every {step}s is {points} points per series; \
                 Prometheus answers at most {MAX_POINTS}: use --range {}d or less",
                MAX_POINTS * step as u64 / 86_400
            )));
        }
        let end = end - end.rem_euclid(step);
        Ok(Self {
            start: end - secs,
            end,
            step,
        })
    }
}

/// A Prometheus server's read-only HTTP API.
#[derive(Debug)]
pub(crate) struct Prometheus {
    agent: ureq::Agent,
    base: String,
}

impl Prometheus {
    pub(crate) fn new(url: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            base: url.trim_end_matches('/').to_string(),
        }
    }

    /// GET an API path; its `data` when Prometheus says `success`.
    fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Value, BacktestError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        for (k, v) in params {
            request = request.query(*k, v);
        }
        let mut response = request
            .call()
            .map_err(|e| BacktestError(format!("cannot reach Prometheus at {}: {e}", self.base)))?;
        let status = response.status().as_u16();
        // An HTTP body, not a file: read as bytes. A week of a fleet's series is larger
        // than ureq's default 10 MB limit.
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| BacktestError(format!("{url}: cannot read the answer: {e}")))?;
        let json: Value = serde_json::from_slice(&body).map_err(|_| {
            BacktestError(format!(
                "{url} answered HTTP {status}, not Prometheus's API: is {} a Prometheus server?",
                self.base
            ))
        })?;
        if json["status"] != "success" {
            return Err(BacktestError(format!(
                "Prometheus refused {path}: {} ({})",
                json["error"].as_str().unwrap_or("no reason given"),
                json["errorType"].as_str().unwrap_or("error")
            )));
        }
        Ok(json["data"].clone())
    }

    /// Whether any series of `metric` exists in the window.
    fn has_series(&self, metric: &str, w: Window) -> Result<bool, BacktestError> {
        let data = self.get(
            "/api/v1/series",
            &[
                ("match[]", format!("{{__name__=\"{metric}\"}}")),
                ("start", w.start.to_string()),
                ("end", w.end.to_string()),
            ],
        )?;
        Ok(data.as_array().is_some_and(|a| !a.is_empty()))
    }

    /// The evaluation times at which `expr` had a value, per series (its labels).
    fn true_at(&self, expr: &str, w: Window) -> Result<BTreeMap<String, Vec<i64>>, BacktestError> {
        let data = self.get(
            "/api/v1/query_range",
            &[
                ("query", expr.to_string()),
                ("start", w.start.to_string()),
                ("end", w.end.to_string()),
                ("step", w.step.to_string()),
            ],
        )?;
        let mut out = BTreeMap::new();
        for series in data["result"].as_array().into_iter().flatten() {
            let labels = series["metric"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| *k != "__name__")
                        .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let times = series["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v[0].as_f64())
                .map(|t| t.round() as i64)
                .collect();
            out.insert(labels, times);
        }
        Ok(out)
    }
}

/// How often and how long one alert fired for one identity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Firing {
    pub(crate) times: u32,
    pub(crate) seconds: i64,
}

/// Applies `for` to the evaluations at which the expression was true, as Prometheus's rule
/// manager does at each evaluation: an alert is pending from the first of a run of
/// consecutive true evaluations, fires at the first evaluation at least `for` later, and
/// resolves at the first evaluation without a value.
pub(crate) fn fire(times: &[i64], for_secs: i64, step: i64) -> Firing {
    let mut out = Firing::default();
    let mut i = 0;
    while i < times.len() {
        let mut j = i;
        while j + 1 < times.len() && times[j + 1] - times[j] == step {
            j += 1;
        }
        let (first, last) = (times[i], times[j]);
        // The first evaluation at or after first + for.
        let fires_at = first + (for_secs + step - 1) / step * step;
        if fires_at <= last {
            out.times += 1;
            out.seconds += last + step - fires_at;
        }
        i = j + 1;
    }
    out
}

/// One alert of one side of the change: its expression and `for`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AlertRule {
    pub(crate) expr: String,
    pub(crate) for_secs: i64,
}

/// The alerts of a rule file by key, and the names of its recorded series.
pub(crate) fn alerts(rules: &RuleFile) -> (BTreeMap<AlertKey, AlertRule>, BTreeSet<String>) {
    let mut out = BTreeMap::new();
    let mut recorded = BTreeSet::new();
    // A recorded series read as `name{label="value"}` (no range) is replayed as the
    // recording's own expression: this Prometheus holds recorded series only for the rules
    // it already runs.
    let mut inline: Vec<(String, String)> = Vec::new();
    for (key, rule) in keyed_rules(rules) {
        if key.is_none() {
            for (k, v) in &rule.labels {
                let selector = format!(
                    "{}{{{k}=\"{}\"}}",
                    rule.name(),
                    crate::render::promql::escape_label_value(v)
                );
                inline.push((selector, format!("({})", rule.expr)));
            }
        }
    }
    for (key, rule) in keyed_rules(rules) {
        let Some(key) = key else {
            recorded.insert(rule.name().to_string());
            continue;
        };
        let for_secs = rule
            .for_
            .as_deref()
            .and_then(|f| PromDuration::parse(f).ok())
            .map_or(0, |d| (d.millis() / 1000) as i64);
        let expr = inlined(&rule.expr, &inline);
        out.insert(key, AlertRule { expr, for_secs });
    }
    (out, recorded)
}

/// `expr` with each instant selector of `inline` replaced by its expression, recordings
/// read by recordings too (a few levels: the generated ones nest two deep).
fn inlined(expr: &str, inline: &[(String, String)]) -> String {
    let mut out = expr.to_string();
    for _ in 0..4 {
        let mut changed = false;
        for (selector, with) in inline {
            let mut next = String::with_capacity(out.len());
            let mut rest = out.as_str();
            while let Some(i) = rest.find(selector.as_str()) {
                let after = &rest[i + selector.len()..];
                next.push_str(&rest[..i]);
                if after.trim_start().starts_with('[') {
                    next.push_str(selector);
                } else {
                    next.push_str(with);
                    changed = true;
                }
                rest = after;
            }
            next.push_str(rest);
            out = next;
        }
        if !changed {
            break;
        }
    }
    out
}

/// The metric names an expression reads.
fn metrics_of(expr: &str) -> BTreeSet<String> {
    use promql_parser::parser::{Expr, parse};
    use promql_parser::util::{ExprVisitor, walk_expr};
    struct Names(BTreeSet<String>);
    impl ExprVisitor for Names {
        type Error = std::convert::Infallible;
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, Self::Error> {
            let name = match e {
                Expr::VectorSelector(v) => v.name.clone(),
                Expr::MatrixSelector(m) => m.vs.name.clone(),
                _ => None,
            };
            self.0.extend(name);
            Ok(true)
        }
    }
    let mut names = Names(BTreeSet::new());
    if let Ok(e) = parse(expr) {
        let _ = walk_expr(&mut names, &e);
    }
    names.0
}

/// One row of the replay: an alert for one identity, before and after.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) alert: String,
    pub(crate) identity: String,
    pub(crate) before: Option<Firing>,
    pub(crate) after: Option<Firing>,
}

/// The replay of a change.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Replay {
    pub(crate) prometheus: String,
    pub(crate) window: Window,
    pub(crate) rows: Vec<Row>,
    pub(crate) notes: Vec<String>,
}

/// Replays the alerts that differ between `old` and `new` (all of `new`'s without an old
/// side) over the window. Every metric they read must have series in the window, but a
/// counter (`_total`) may never have been incremented: that is a note, not an error.
pub(crate) fn replay(
    prom: &Prometheus,
    w: Window,
    old: Option<&RuleFile>,
    new: &RuleFile,
) -> Result<Replay, BacktestError> {
    let (new_alerts, mut recorded) = alerts(new);
    let (old_alerts, old_recorded) = old.map(alerts).unwrap_or_default();
    recorded.extend(old_recorded);
    let keys: BTreeSet<_> = new_alerts
        .keys()
        .chain(old_alerts.keys())
        .cloned()
        .collect();
    let changed: Vec<_> = keys
        .into_iter()
        .filter(|k| old.is_none() || old_alerts.get(k) != new_alerts.get(k))
        .collect();
    let mut notes = Vec::new();
    let mut missing = BTreeMap::<String, BTreeSet<String>>::new();
    let mut replayable = Vec::new();
    for k in &changed {
        let rules = [old_alerts.get(k), new_alerts.get(k)];
        let metrics: BTreeSet<String> = rules
            .iter()
            .flatten()
            .flat_map(|r| metrics_of(&r.expr))
            .collect();
        let reads_recorded: Vec<&String> =
            metrics.iter().filter(|m| recorded.contains(*m)).collect();
        if !reads_recorded.is_empty() {
            notes.push(format!(
                "{} is not replayed: it reads the recorded series {}, which this Prometheus \
                 holds only for rules it already runs",
                k.name,
                reads_recorded
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            continue;
        }
        for m in &metrics {
            if !prom.has_series(m, w)? {
                if m.ends_with("_total") {
                    notes.push(format!(
                        "{m} has no series in the range: never incremented, or not exported"
                    ));
                } else {
                    missing.entry(m.clone()).or_default().insert(k.name.clone());
                }
            }
        }
        replayable.push((k.clone(), rules));
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|(m, a)| {
                format!(
                    "{m} (read by {})",
                    a.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        return Err(BacktestError(format!(
            "{} has no series of {} in the range: is it the Prometheus that scrapes these pools?",
            prom.base,
            list.join("; ")
        )));
    }
    notes.sort();
    notes.dedup();
    // Pools are named only where a spec has several.
    let pools: BTreeSet<&String> = new_alerts.keys().map(|k| &k.pool).collect();
    let mut rows = Vec::new();
    for (k, [o, n]) in replayable {
        let side = |r: Option<&AlertRule>| -> Result<BTreeMap<String, Firing>, BacktestError> {
            let Some(r) = r else {
                return Ok(BTreeMap::new());
            };
            Ok(prom
                .true_at(&r.expr, w)?
                .into_iter()
                .map(|(id, times)| (id, fire(&times, r.for_secs, w.step)))
                .filter(|(_, f)| f.times > 0)
                .collect())
        };
        let (before, after) = (side(o)?, side(n)?);
        let ids: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        let name = if pools.len() < 2 {
            k.name.clone()
        } else {
            format!("{} (pool {})", k.name, k.pool)
        };
        if ids.is_empty() {
            rows.push(Row {
                alert: name.clone(),
                identity: String::new(),
                before: o.map(|_| Firing::default()),
                after: n.map(|_| Firing::default()),
            });
        }
        for id in ids {
            rows.push(Row {
                alert: name.clone(),
                identity: id.clone(),
                before: o.map(|_| before.get(id).copied().unwrap_or_default()),
                after: n.map(|_| after.get(id).copied().unwrap_or_default()),
            });
        }
    }
    Ok(Replay {
        prometheus: prom.base.clone(),
        window: w,
        rows,
        notes,
    })
}

/// A duration as `1h05m`, `25m`, `0m`.
fn hm(secs: i64) -> String {
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    if h > 0 {
        format!("{h}h{m:02}m")
    } else {
        format!("{m}m")
    }
}

fn cell(f: Option<Firing>) -> String {
    match f {
        None => "no alert".to_string(),
        Some(f) if f.times == 0 => "never".to_string(),
        Some(f) if f.times == 1 => format!("once, {}", hm(f.seconds)),
        Some(f) => format!("{} times, {}", f.times, hm(f.seconds)),
    }
}

/// The replay as a Markdown table (for a pull request), a terminal table, or JSON.
pub(crate) fn render(r: &Replay, format: crate::diag::Format) -> String {
    use crate::diag::Format;
    let days = (r.window.end - r.window.start) as f64 / 86_400.0;
    let head = format!(
        "Last {}d replayed on {} (every {}s, `for` applied per identity)",
        crate::conventions::number((days * 10.0).round() / 10.0),
        r.prometheus,
        r.window.step
    );
    match format {
        Format::Json => {
            let mut t = serde_json::to_string_pretty(r).unwrap_or_default();
            t.push('\n');
            t
        }
        Format::Markdown => {
            let mut out =
                format!("## {head}\n\n| alert | identity | before | after |\n|---|---|---|---|\n");
            for row in &r.rows {
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    row.alert,
                    if row.identity.is_empty() {
                        "—".to_string()
                    } else {
                        format!("`{}`", row.identity)
                    },
                    cell(row.before),
                    cell(row.after)
                ));
            }
            for n in &r.notes {
                out.push_str(&format!("\n> {n}\n"));
            }
            out
        }
        Format::Human | Format::Github | Format::Sarif | Format::Checkstyle => {
            let mut out = format!("{head}:\n");
            for row in &r.rows {
                let id = if row.identity.is_empty() {
                    "(no identity fired)"
                } else {
                    &row.identity
                };
                out.push_str(&format!(
                    "  {} {{{id}}}: before {}; after {}\n",
                    row.alert,
                    cell(row.before),
                    cell(row.after)
                ));
            }
            for n in &r.notes {
                out.push_str(&format!("note: {n}\n"));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_is_applied_per_run_of_true_evaluations() {
        // 60s steps: a 30-minute run fires after 5m for 25m; a 4-minute run never fires.
        let run = |from: i64, n: i64| (0..n).map(move |i| from + i * 60);
        let times: Vec<i64> = run(0, 30)
            .chain(run(10_000, 4))
            .chain(run(20_000, 6))
            .collect();
        let f = fire(&times, 300, 60);
        assert_eq!(f.times, 2, "{f:?}");
        // 30 evaluations = 1800s pending from 0; fires at 300, resolves at 1800: 1500s.
        // 6 evaluations from 20000: fires at 20300, resolves at 20360: 60s.
        assert_eq!(f.seconds, 1500 + 60);
        assert_eq!(fire(&times, 0, 60).times, 3);
    }

    #[test]
    fn a_range_beyond_prometheus_points_is_refused() {
        assert!(Window::new("7d", 1_000_000, 60).is_ok());
        let e = Window::new("30d", 10_000_000, 60).unwrap_err();
        assert!(e.0.contains("at most 11000"), "{e}");
        assert!(Window::new("7x", 0, 60).is_err());
    }

    #[test]
    fn metrics_are_read_from_the_expression() {
        let m = metrics_of("sum by (job) (rate(a_total[5m])) / (sum(b) > 0) or absent(c)");
        assert_eq!(m.into_iter().collect::<Vec<_>>(), ["a_total", "b", "c"]);
    }
}
