//! The generated runbook: one markdown section per alert, with each pool's expression,
//! threshold, severity and first checks. Every alert's `runbook_url` points at its section.

use std::collections::BTreeMap;

use minijinja::Environment;
use minijinja::value::Value;
use serde::Serialize;

use super::prometheus::{RuleFile, TEMPLATE};
use crate::conventions;
use crate::diag::Diagnostic;
use crate::model::{Model, Role};

#[derive(Debug, Serialize)]
struct AlertDoc {
    name: String,
    key: &'static str,
    rules: Vec<RuleRow>,
}

#[derive(Debug, Serialize)]
struct RuleRow {
    pool: String,
    severity: String,
    condition: String,
    expr: String,
    #[serde(rename = "for")]
    for_: String,
    /// The labels the alert fires per: the pool's identity (and kept labels).
    per: String,
    /// The recorded series it reads, linked to their rows in the recording rules' table.
    reads: String,
}

/// A recording rule as the runbook's table shows it: the expression shown once, anchored
/// where the alerts reading it link.
#[derive(Debug, Serialize)]
struct RecordRow {
    name: String,
    /// The anchor, on the first row of a name (pools of a spec may share one).
    anchor: Option<String>,
    pool: String,
    expr: String,
}

/// A catalog metric as the runbook's metrics table shows it.
#[derive(Debug, Serialize)]
struct MetricRow {
    name: String,
    kind: crate::spec::MetricKind,
    unit: crate::spec::Unit,
    labels: String,
    help: String,
    /// The roles pools bind it to (`size`, `wait_time`, ...), or empty when only declared.
    roles: String,
}

/// Text safe inside a markdown table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// Links to the recorded series an expression reads: `[name](#anchor)`, comma-separated.
fn reads(expr: &str, records: &[RecordRow]) -> String {
    let mut out: Vec<String> = Vec::new();
    for token in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
        if let Some(r) = records.iter().find(|r| r.name == token) {
            let link = format!(
                "[`{}`](#{})",
                r.name,
                conventions::recording_anchor(&r.name)
            );
            if !out.contains(&link) {
                out.push(link);
            }
        }
    }
    out.join(", ")
}

/// The condition in words for the summary table: the summary annotation.
pub(crate) fn runbook(
    model: &Model,
    rules: &RuleFile,
    env: &Environment<'static>,
) -> Result<String, Diagnostic> {
    // Alerts in the order they first appear, each with its rules across pools and levels.
    let mut order: Vec<String> = Vec::new();
    let mut by_name: BTreeMap<String, AlertDoc> = BTreeMap::new();
    let mut records: Vec<RecordRow> = Vec::new();
    for rule in rules.groups.iter().flat_map(|g| g.rules.iter()) {
        if let Some(name) = &rule.record {
            let first = !records.iter().any(|r| &r.name == name);
            records.push(RecordRow {
                name: name.clone(),
                anchor: first.then(|| conventions::recording_anchor(name)),
                pool: cell(&rule.origin.pool),
                expr: cell(&rule.expr),
            });
        }
    }
    for rule in rules.groups.iter().flat_map(|g| g.rules.iter()) {
        let (Some(name), Some(signal)) = (&rule.alert, rule.origin.signal) else {
            continue;
        };
        let doc = by_name.entry(name.clone()).or_insert_with(|| {
            order.push(name.clone());
            AlertDoc {
                name: name.clone(),
                key: signal.key(),
                rules: Vec::new(),
            }
        });
        doc.rules.push(RuleRow {
            pool: cell(&rule.origin.pool),
            severity: cell(rule.labels.get("severity").map_or("", String::as_str)),
            condition: cell(&rule.origin.condition),
            expr: cell(&rule.expr),
            for_: rule.for_.clone().unwrap_or_default(),
            per: cell(
                &model
                    .pools
                    .iter()
                    .find(|p| p.name == rule.origin.pool)
                    .map(|p| p.group_labels().join(", "))
                    .unwrap_or_default(),
            ),
            reads: reads(&rule.expr, &records),
        });
    }
    let alerts: Vec<AlertDoc> = order.iter().filter_map(|n| by_name.remove(n)).collect();
    let metrics: Vec<MetricRow> = model
        .catalog
        .metrics
        .iter()
        .map(|m| {
            let mut roles: Vec<&str> = model
                .pools
                .iter()
                .flat_map(|p| {
                    Role::ALL
                        .into_iter()
                        .filter(|r| p.roles.get(*r) == Some(m.name.as_str()))
                })
                .map(Role::key)
                .collect();
            roles.sort_unstable();
            roles.dedup();
            MetricRow {
                name: m.name.clone(),
                kind: m.kind,
                unit: m.unit,
                labels: cell(&m.labels.join(", ")),
                help: cell(&m.help),
                roles: roles.join(", "),
            }
        })
        .collect();
    let ctx = minijinja::context! {
        source => conventions::source_description(model),
        title => model.title.clone(),
        dashboard_uid => conventions::dashboard_uid(&model.name, model.environment.as_deref()),
        alerts => Value::from(minijinja::value::Serde(&alerts)),
        records => Value::from(minijinja::value::Serde(&records)),
        rate_window => model.rate_window.to_string(),
        window_secs => conventions::number(model.rate_window.millis() as f64 / 1000.0),
        metrics => Value::from(minijinja::value::Serde(&metrics)),
        size_setting => if model.wording.size_setting.is_empty() {
            "the pool size".to_string()
        } else {
            format!("`{}`", model.wording.size_setting)
        },
        has_environments => !model.environments.is_empty(),
        // Only a pool with a query-duration metric has that panel to point at.
        has_query_duration => model.pools.iter().any(|p| p.roles.query_duration.is_some()),
        // A mean wait from wait counters (per wait, not per acquisition) is explained.
        mean_from_counters => model.pools.iter().any(|p| crate::signals::mean_wait_from_counters(&p.roles)),
    };
    env.get_template("docs/runbook.md.j2")
        .and_then(|t| t.render(ctx))
        .map(|mut text| {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        })
        .map_err(|e| {
            Diagnostic::error(TEMPLATE, format!("runbook template failed: {e}"))
                .object("template docs/runbook.md.j2")
        })
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn a_cell_is_one_line_with_pipes_escaped() {
        assert_eq!(
            cell("sum by (job) (x{db=~\"a|b\"})\n/\n  y"),
            "sum by (job) (x{db=~\"a\\|b\"}) / y"
        );
        assert_eq!(cell("  "), "");
        assert_eq!(cell("|"), "\\|");
    }
}
