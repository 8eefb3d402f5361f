//! PW305 panel-unit-mismatch: a panel's unit agrees with what its queries compute, judged
//! from the catalog's units: a 0..1 ratio is drawn with `percentunit` (Grafana's `percent`
//! expects 0..100), a value multiplied by 100 with `percent`, and seconds with a time unit
//! of seconds (`s`), not `ms`.
//!
//! Why: the same mistake as a ratio printed with `%` in an alert, on the dashboard: a pool
//! at 95% shows as "0.95%", and the threshold colours (in the panel's unit) never trigger.
//!
//! Example: unit `percent` on `sum(active) / sum(size)`; use `percentunit`, or
//! `100 * (sum(active) / sum(size))`.

use super::dashboard::DashboardDoc;
use super::lint::{Cx, RuleUnit};
use super::typing::ValUnit;
use crate::diag::{Code, Diagnostic, Severity};
use crate::model::Unit;

pub(crate) const CODE: Code = Code {
    code: "PW305",
    name: "panel-unit-mismatch",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

/// Grafana units that are not seconds but a finer time unit.
const SUB_SECOND: [&str; 3] = ["ms", "µs", "ns"];

pub(crate) fn check(doc: &DashboardDoc, queries: &[RuleUnit], cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let panels = doc.panels();
    // Queries come in panel order: one pass over them, each finding its panel.
    for q in queries {
        let Some(p) = q.panel.and_then(|i| panels.get(i)) else {
            continue;
        };
        let unit = p.unit();
        // Only these units can disagree with a query's type: the others need none.
        if !matches!(unit, "percent" | "percentunit") && !SUB_SECOND.contains(&unit) {
            continue;
        }
        let Some(ty) = cx.type_of(q) else {
            continue;
        };
        let problem = match (unit, ty.unit) {
            ("percent", _) if ty.is_ratio() => Some((
                "a 0..1 ratio",
                "`percentunit`, or multiply the query by 100",
            )),
            ("percentunit", _) if ty.is_percent() => {
                Some(("a 0..100 percentage", "`percent`, or drop the `100 *`"))
            }
            (u, ValUnit::Of(Unit::Seconds)) if SUB_SECOND.contains(&u) && ty.scale == 1.0 => {
                Some(("seconds", "`s` (Grafana scales it to ms when small)"))
            }
            _ => None,
        };
        if let Some((what, fix)) = problem {
            out.push(
                doc.diag(
                    CODE,
                    SEVERITY,
                    p,
                    format!(
                        "{} draws {what} (query {}) with unit `{unit}`",
                        p.describe(),
                        q.name.text
                    ),
                    Some(&format!("\"unit\": \"{unit}\"")),
                )
                .label("unit does not match the query")
                .help(format!("use {fix}")),
            );
        }
    }
    out
}
