//! Dashboards that answer the runbook, for K2 and every preset: every catalog metric an alert
//! reads (through recorded series too) is drawn by a panel; no panel reads a metric the
//! library does not export; each identity variable lists only the pools' own series (their
//! shared selector in `label_values`); and the runbook's words name panels and legends the
//! dashboard has.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::parser::{self, Expr};
use serde_json::Value;

use crate::common;

/// Every series name an expression selects. Grafana's range variables become a plain range
/// first, so that the text parses as PromQL.
fn names_in(expr: &str) -> BTreeSet<String> {
    let text = expr
        .replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h");
    let ast = parser::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let mut out = BTreeSet::new();
    collect(&ast, &mut out);
    out
}

fn collect(e: &Expr, out: &mut BTreeSet<String>) {
    crate::common::promql::visit(e, &mut |n| {
        if let Expr::VectorSelector(vs) = n {
            out.extend(vs.name.clone());
        }
    });
}

/// The catalog metrics a name stands for: itself, a histogram's or summary's family for its
/// `_bucket`/`_sum`/`_count` series, or (for a recorded series) what its rule reads.
fn families(
    name: &str,
    catalog: &BTreeSet<String>,
    recorded: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    if catalog.contains(name) {
        return BTreeSet::from([name.to_string()]);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix).filter(|b| catalog.contains(*b)) {
            return BTreeSet::from([base.to_string()]);
        }
    }
    match recorded.get(name) {
        Some(expr) => names_in(expr)
            .iter()
            .flat_map(|n| families(n, catalog, recorded))
            .collect(),
        // Not the library's: kept as is, so the check below names it.
        None => BTreeSet::from([name.to_string()]),
    }
}

struct Output {
    catalog: BTreeSet<String>,
    recorded: BTreeMap<String, String>,
    /// (alert, expression).
    alerts: Vec<(String, String)>,
    dashboard: Value,
    runbook: String,
    /// Selector matchers (`k="v"`) every pool shares.
    shared_selector: Vec<String>,
}

fn output(source: &poolwatch::spec::SpecSource) -> Output {
    let g = common::generate(source);
    let file = |suffix: &str| {
        g.files
            .iter()
            .find(|f| f.path.ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix}"))
            .contents
            .clone()
    };
    let rules: serde_norway::Value =
        serde_norway::from_str(&file("rules/connection_pool.yml")).unwrap();
    let mut recorded = BTreeMap::new();
    let mut alerts = Vec::new();
    for group in rules["groups"].as_sequence().unwrap() {
        for r in group["rules"].as_sequence().unwrap() {
            let expr = r["expr"].as_str().unwrap().to_string();
            match (r["record"].as_str(), r["alert"].as_str()) {
                (Some(rec), _) => {
                    recorded.insert(rec.to_string(), expr);
                }
                (None, Some(a)) => alerts.push((a.to_string(), expr)),
                _ => {}
            }
        }
    }
    let first = &g.model.pools[0];
    let shared_selector = first
        .selector
        .iter()
        .filter(|kv| g.model.pools.iter().all(|p| p.selector.contains(kv)))
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    Output {
        catalog: crate::e2e_conformance::catalog(&source.text)
            .into_iter()
            .map(|e| e.name)
            .collect(),
        recorded,
        alerts,
        dashboard: serde_json::from_str(&file("dashboards/connection_pool.json")).unwrap(),
        runbook: file("docs/connection_pool.md"),
        shared_selector,
    }
}

/// (title, legends, expressions) of every panel, rows' nested panels included.
fn panels(d: &Value) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = d["panels"].as_array().unwrap().iter().collect();
    while let Some(p) = stack.pop() {
        if let Some(nested) = p["panels"].as_array() {
            stack.extend(nested);
        }
        let targets = p["targets"].as_array().cloned().unwrap_or_default();
        out.push((
            p["title"].as_str().unwrap_or_default().to_string(),
            targets
                .iter()
                .filter_map(|t| t["legendFormat"].as_str().map(str::to_string))
                .collect(),
            targets
                .iter()
                .filter_map(|t| t["expr"].as_str().map(str::to_string))
                .collect(),
        ));
    }
    out
}

/// K2 and the presets: the specs a team starts from.
fn specs() -> Vec<(String, poolwatch::spec::SpecSource)> {
    common::all_specs()
        .into_iter()
        .filter(|(n, _)| n == "k2" || n.starts_with("preset-"))
        .collect()
}

fn every_metric_an_alert_reads_has_a_panel_and_every_panel_metric_is_exported() {
    let mut problems = Vec::new();
    for (spec, source) in specs() {
        let o = output(&source);
        let drawn: BTreeSet<String> = panels(&o.dashboard)
            .iter()
            .flat_map(|(_, _, exprs)| exprs.iter().flat_map(|e| names_in(e)))
            .flat_map(|n| families(&n, &o.catalog, &o.recorded))
            .collect();
        for (alert, expr) in &o.alerts {
            let read: BTreeSet<String> = names_in(expr)
                .iter()
                .flat_map(|n| families(n, &o.catalog, &o.recorded))
                .collect();
            // `up` is Prometheus's own series of each scrape target, which the absence alert
            // joins to tell a replaced instance from one that stopped exporting; it is not a
            // metric of the pool's library, and Grafana's target health shows it.
            for m in read.difference(&drawn).filter(|m| m.as_str() != "up") {
                problems.push(format!("{spec}: {alert} reads `{m}`, which no panel draws"));
            }
        }
        for m in drawn.difference(&o.catalog) {
            problems.push(format!(
                "{spec}: a panel reads `{m}`, which is not in the catalog"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A panel and its alert can never disagree: every recorded series an alert compares with
/// its threshold is drawn, as recorded, by a panel of the dashboard.
fn every_recorded_value_an_alert_compares_is_drawn_by_a_panel() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (spec, source) in specs() {
        let o = output(&source);
        let drawn: BTreeSet<String> = panels(&o.dashboard)
            .iter()
            .flat_map(|(_, _, exprs)| exprs.iter().flat_map(|e| names_in(e)))
            .collect();
        for (alert, expr) in &o.alerts {
            for name in names_in(expr)
                .iter()
                .filter(|n| o.recorded.contains_key(*n))
            {
                // Recorded only while clients wait (exhaustion): a value for the alert, not a
                // line to draw; the Connections panel draws size and active it derives from.
                if name.ends_with("_while_waiting") {
                    continue;
                }
                checked += 1;
                if !drawn.contains(name) {
                    problems.push(format!(
                        "{spec}: {alert} compares `{name}`, which no panel draws"
                    ));
                }
            }
        }
    }
    assert!(checked > 0, "no alert read a recorded series");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn identity_variables_list_only_the_pools_own_series() {
    let mut checked = 0;
    for (spec, source) in specs() {
        let o = output(&source);
        for v in o.dashboard["templating"]["list"].as_array().unwrap() {
            if v["type"] != "query" {
                continue;
            }
            let query = v["query"].as_str().unwrap();
            for m in &o.shared_selector {
                assert!(
                    query.contains(m.as_str()),
                    "{spec}: variable `{}` lists values beyond the pool's selector ({m}): {query}",
                    v["name"]
                );
                checked += 1;
            }
        }
    }
    // The pgbouncer preset selects `job="pgbouncer"`: the check above ran.
    assert!(checked > 0, "no spec with a selector was checked");
}

/// "the X panel" and "the dashboard's X panel" in the runbook name panel titles; the
/// utilization guide's "Compare a, b and c on the dashboard's X panel" names legends of X.
fn runbook_words_match_panel_titles_and_legends() {
    for (spec, source) in specs() {
        let o = output(&source);
        let ps = panels(&o.dashboard);
        let text = o.runbook.replace('\n', " ").replace("  ", " ");
        let mut named = 0;
        for (i, _) in text.match_indices(" panel") {
            let before = &text[..i];
            let Some(start) = [before.rfind(" the "), before.rfind("The ")]
                .into_iter()
                .flatten()
                .max()
            else {
                continue;
            };
            let title = before[start..]
                .trim_start_matches(" the ")
                .trim_start_matches("The ")
                .trim_start_matches("dashboard's ")
                .to_string();
            if title.contains("alerts and") {
                // "What the alerts and panels above are computed from": no panel's name.
                continue;
            }
            assert!(
                ps.iter().any(|(t, _, _)| *t == title),
                "{spec}: the runbook names a `{title}` panel the dashboard lacks"
            );
            named += 1;
        }
        assert!(named > 0, "{spec}: the runbook names no panel");
        let Some(at) = text.find("Compare ") else {
            continue;
        };
        let sentence = &text[at + "Compare ".len()..];
        let (words, rest) = sentence.split_once(" on the dashboard's ").unwrap();
        let panel = rest.split_once(" panel").unwrap().0;
        let (_, legends, _) = ps.iter().find(|(t, _, _)| t == panel).unwrap();
        for w in words.replace(" and ", ", ").split(", ") {
            assert!(
                legends
                    .iter()
                    .any(|l| l == w || l.starts_with(&format!("{w} "))),
                "{spec}: the runbook compares `{w}` on the {panel} panel, whose legends are {legends:?}"
            );
        }
    }
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        every_metric_an_alert_reads_has_a_panel_and_every_panel_metric_is_exported,
        every_recorded_value_an_alert_compares_is_drawn_by_a_panel,
        identity_variables_list_only_the_pools_own_series,
        runbook_words_match_panel_titles_and_legends,
    ]
}
