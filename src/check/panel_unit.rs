//! PW301 panel-unit: every panel that draws numbers sets `fieldConfig.defaults.unit`.
//!
//! Why: without a unit Grafana prints `0.3` for 300ms and `1500000` for 1.5 MB, and a
//! ratio cannot be told from a percentage. Units also make the threshold steps readable.
//!
//! Example: a time series panel of `histogram_quantile(...)` with no `unit` (use `s`).

use super::dashboard::DashboardDoc;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW301",
    name: "panel-unit",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

/// Panel types that draw no numbers.
const NO_UNIT: [&str; 5] = ["text", "row", "news", "dashlist", "alertlist"];

pub(crate) fn check(doc: &DashboardDoc, _queries: &[RuleUnit], _cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in doc.panels() {
        let kind = p.json.get("type").and_then(|t| t.as_str()).unwrap_or("");
        if NO_UNIT.contains(&kind) {
            continue;
        }
        if p.unit().trim().is_empty() {
            out.push(
                doc.diag(CODE, SEVERITY, &p, format!("{} has no unit", p.describe()), None)
                    .label("no `fieldConfig.defaults.unit`")
                    .help("set a unit: `s` for seconds, `percentunit` for a 0..1 ratio, `ops` for rates, `short` for counts"),
            );
        }
    }
    out
}
