//! What a reviewer compares of one variant (a spec, or one of its environments): its
//! alerts, recorded series, panels and runbook sections, read from the typed model and
//! artifacts, keyed so that the same thing is found on both sides of a change.

use std::collections::BTreeMap;

use crate::conventions::number;
use crate::model::{Comparison, Model, Signal, ValueUnit};
use crate::pipeline::Generated;
use crate::render::grafana::{Panel, PanelItem};
use crate::render::prometheus::{Rule, RuleFile};

/// A variant of a spec: the spec's name and the environment, none for the base.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct VariantKey {
    pub(crate) spec: String,
    pub(crate) env: Option<String>,
}

impl std::fmt::Display for VariantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.env {
            Some(env) => write!(f, "{} {env}", self.spec),
            None => write!(f, "{}", self.spec),
        }
    }
}

/// One alert as on-call meets it. Several alerts of one signal and pool (a warning and a
/// critical level) are told apart by their order, least severe first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct AlertKey {
    pub(crate) name: String,
    pub(crate) pool: String,
    pub(crate) level: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AlertFacts {
    pub(crate) signal: Option<Signal>,
    /// The value compared with the threshold: the expression without its comparison.
    pub(crate) value_expr: String,
    pub(crate) threshold: Option<Threshold>,
    pub(crate) for_: Option<String>,
    pub(crate) severity: Option<String>,
    /// Every other label Alertmanager routes on.
    pub(crate) routing: BTreeMap<String, String>,
}

/// A thresholded alert's comparison, with the unit the value prints in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Threshold {
    pub(crate) value: f64,
    pub(crate) comparison: Comparison,
    pub(crate) unit: ValueUnit,
}

impl Threshold {
    /// The threshold in words: "above 85%", "at or below 0 connections".
    pub(crate) fn describe(&self) -> String {
        let cmp = match self.comparison {
            Comparison::Above => "above",
            Comparison::AtOrBelow => "at or below",
        };
        format!("{cmp} {}", self.amount())
    }

    /// The value with its unit: "85%", "5s", "0/s".
    pub(crate) fn amount(&self) -> String {
        let v = self.value;
        match self.unit {
            ValueUnit::Ratio => format!("{}%", number(v * 100.0)),
            ValueUnit::PerSecond => format!("{}/s", number(v)),
            ValueUnit::Seconds => format!("{}s", number(v)),
            ValueUnit::Connections => format!("{} connections", number(v)),
            ValueUnit::None => number(v),
        }
    }
}

/// A panel, found by its title and, for a title several rows share (one row per pool),
/// which of them it is: a panel that moves into a new row stays the same panel.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PanelKey {
    pub(crate) title: String,
    pub(crate) nth: usize,
}

/// A recorded series: its name and the pool it is recorded for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RecordKey {
    pub(crate) name: String,
    pub(crate) pool: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PanelFacts {
    /// The row it is in; empty before the first row.
    pub(crate) row: String,
    pub(crate) kind: String,
    pub(crate) unit: String,
    /// x, y, w, h in Grafana's 24-column grid, y counted from the panel's row, so that a
    /// row added above does not read as every panel below having moved.
    pub(crate) grid: [u32; 4],
    /// Threshold steps: colour and value (none for the base step).
    pub(crate) steps: Vec<(String, Option<f64>)>,
    pub(crate) repeat: Option<String>,
    pub(crate) exprs: Vec<String>,
}

/// Everything compared of one variant.
#[derive(Debug, Clone, Default)]
pub(crate) struct Digest {
    pub(crate) alerts: BTreeMap<AlertKey, AlertFacts>,
    pub(crate) records: BTreeMap<RecordKey, String>,
    pub(crate) panels: BTreeMap<PanelKey, PanelFacts>,
    /// Runbook sections: heading → text.
    pub(crate) runbook: BTreeMap<String, String>,
}

/// The key of a generated variant.
pub(crate) fn key(model: &Model) -> VariantKey {
    VariantKey {
        spec: model.name.clone(),
        env: model.environment.clone(),
    }
}

/// Reads the digest of one generated variant.
/// Every rule of a rule file, alerts with their key (recording rules without one).
pub(crate) fn keyed_rules(rules: &RuleFile) -> Vec<(Option<AlertKey>, &Rule)> {
    let mut seen: Vec<AlertKey> = Vec::new();
    let mut out = Vec::new();
    for rule in rules.groups.iter().flat_map(|gr| &gr.rules) {
        let key = rule.alert.as_ref().map(|alert| {
            let pool = rule.origin.pool.clone();
            let level = seen
                .iter()
                .filter(|k| k.name == *alert && k.pool == pool)
                .count();
            let key = AlertKey {
                name: alert.clone(),
                pool,
                level,
            };
            seen.push(key.clone());
            key
        });
        out.push((key, rule));
    }
    out
}

pub(crate) fn digest(g: &Generated) -> Digest {
    let mut d = Digest::default();
    for (key, rule) in keyed_rules(&g.artifacts.rules) {
        if let Some(key) = key {
            let signal = rule.origin.signal;
            let threshold = match (signal, rule.origin.threshold) {
                (Some(s), Some(value)) => Some(Threshold {
                    value,
                    comparison: s.comparison(),
                    unit: s.unit(),
                }),
                _ => None,
            };
            let mut routing = rule.labels.clone();
            let severity = routing.remove("severity");
            // The pool is in the key: a renamed pool is said once, not as a label too.
            routing.remove(&g.model.pool_label);
            d.alerts.insert(
                key,
                AlertFacts {
                    signal,
                    value_expr: value_expr(&rule.expr, threshold.is_some()),
                    threshold,
                    for_: rule.for_.clone(),
                    severity,
                    routing,
                },
            );
        } else {
            let key = RecordKey {
                name: rule.name().to_string(),
                pool: rule.origin.pool.clone(),
            };
            d.records.insert(key, rule.expr.clone());
        }
    }
    let (mut row, mut row_y) = (String::new(), 0);
    for item in &g.artifacts.dashboard.panels {
        match item {
            PanelItem::Row(r) => {
                row = r.title.clone();
                row_y = r.grid_pos.y + r.grid_pos.h;
                for p in &r.panels {
                    d.panels
                        .insert(panel_key(&d, p), panel_facts(p, &row, row_y));
                }
            }
            PanelItem::Panel(p) => {
                d.panels
                    .insert(panel_key(&d, p), panel_facts(p, &row, row_y));
            }
        }
    }
    d.runbook = sections(&g.artifacts.runbook);
    d
}

fn panel_key(d: &Digest, p: &Panel) -> PanelKey {
    PanelKey {
        title: p.title.clone(),
        nth: d.panels.keys().filter(|k| k.title == p.title).count(),
    }
}

fn panel_facts(p: &Panel, row: &str, row_y: u32) -> PanelFacts {
    let g = p.grid_pos;
    PanelFacts {
        row: row.to_string(),
        kind: p.kind.clone(),
        unit: p.field_config.defaults.unit.clone(),
        grid: [g.x, g.y.saturating_sub(row_y), g.w, g.h],
        steps: p
            .field_config
            .defaults
            .thresholds
            .steps
            .iter()
            .map(|s| (s.color.clone(), s.value))
            .collect(),
        repeat: p.repeat.clone(),
        exprs: p.targets.iter().map(|t| t.expr.clone()).collect(),
    }
}

/// The expression an alert compares with its threshold: the left side of its outermost
/// comparison with a number, in the parser's canonical form, so that a new threshold
/// alone does not read as a new expression. Unparsable or without one: the text as is.
fn value_expr(expr: &str, thresholded: bool) -> String {
    use promql_parser::parser::{Expr, parse};
    if !thresholded {
        return expr.trim().to_string();
    }
    match parse(expr) {
        Ok(Expr::Binary(b)) if b.op.is_comparison_operator() => match *b.rhs {
            Expr::NumberLiteral(_) => b.lhs.to_string(),
            _ => expr.trim().to_string(),
        },
        _ => expr.trim().to_string(),
    }
}

/// The runbook's sections (`## ` and deeper headings) by heading, with their text.
fn sections(markdown: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        if line.starts_with("## ") || line.starts_with("### ") {
            let heading = line.trim_start_matches('#').trim().to_string();
            out.entry(heading.clone()).or_default();
            current = Some(heading);
        } else if let Some(h) = &current {
            let text = out.entry(h.clone()).or_default();
            text.push_str(line);
            text.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_threshold_alone_keeps_the_value_expression() {
        let a = value_expr("sum by (job) (a)\n/\nsum by (job) (b)\n> 0.9", true);
        let b = value_expr("sum by (job) (a) / sum by (job) (b) > 0.85", true);
        assert_eq!(a, b);
        assert!(!a.contains("0.9"), "{a}");
    }

    #[test]
    fn runbook_sections_are_read_by_heading() {
        let s = sections("# T\nintro\n## A\none\n### B\ntwo\n## C\n");
        assert_eq!(s.keys().collect::<Vec<_>>(), ["A", "B", "C"]);
        assert_eq!(s["A"], "one\n");
        assert_eq!(s["C"], "");
    }

    #[test]
    fn thresholds_print_in_their_unit() {
        let t = Threshold {
            value: 0.85,
            comparison: Comparison::Above,
            unit: ValueUnit::Ratio,
        };
        assert_eq!(t.describe(), "above 85%");
        let t = Threshold {
            value: 0.0,
            comparison: Comparison::AtOrBelow,
            unit: ValueUnit::Connections,
        };
        assert_eq!(t.describe(), "at or below 0 connections");
    }
}
