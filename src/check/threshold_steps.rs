//! PW304 threshold-steps: a panel's threshold steps ascend, each value once.
//!
//! Why: Grafana sorts the steps when it loads the panel, so steps written out of order
//! or twice show other colours than the JSON says: the dashboard, read as code, disagrees
//! with the alerts it stands for, and a step with a repeated value never shows. (The
//! first step is the base: Grafana sets its value to -Infinity whatever it is written
//! as, `null`, 0 or anything else, so its value is not checked.)
//!
//! Example: `"steps": [{"color": "green", "value": null}, {"color": "red", "value": 90},
//! {"color": "yellow", "value": 70}]`.

use serde_json::Value;

use super::dashboard::DashboardDoc;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW304",
    name: "threshold-steps",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

pub(crate) fn check(doc: &DashboardDoc, _queries: &[RuleUnit], _cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in doc.panels() {
        let Some(steps) = p
            .json
            .pointer("/fieldConfig/defaults/thresholds/steps")
            .and_then(Value::as_array)
        else {
            continue;
        };
        let values: Vec<f64> = steps
            .iter()
            .skip(1)
            .filter_map(|s| s.get("value").and_then(Value::as_f64))
            .collect();
        if let Some(w) = values.windows(2).find(|w| w[1] <= w[0]) {
            out.push(
                doc.diag(
                    CODE,
                    SEVERITY,
                    &p,
                    format!(
                        "threshold steps of {} do not ascend: {} comes after {}",
                        p.describe(),
                        crate::conventions::number(w[1]),
                        crate::conventions::number(w[0])
                    ),
                    Some("\"steps\""),
                )
                .label("steps out of order")
                .help("list the steps from the lowest value to the highest"),
            );
        }
    }
    out
}
