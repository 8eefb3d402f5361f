//! PW304 threshold-steps: a panel's threshold steps start with a base step whose value is
//! `null`, and the other steps' values strictly ascend.
//!
//! Why: Grafana sorts nothing: a base step with a number leaves values below it uncoloured,
//! and steps out of order colour values with the wrong level, so the dashboard disagrees
//! with the alerts it stands for.
//!
//! Example: `"steps": [{"color": "green", "value": 0}, {"color": "red", "value": 90},
//! {"color": "yellow", "value": 70}]`.

use serde_json::Value;

use super::dashboard::DashboardDoc;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub const CODE: Code = Code {
    code: "PW304",
    name: "threshold-steps",
};
pub const SEVERITY: Severity = Severity::Error;

pub fn check(doc: &DashboardDoc, _queries: &[RuleUnit], _cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in doc.panels() {
        let Some(steps) = p
            .json
            .pointer("/fieldConfig/defaults/thresholds/steps")
            .and_then(Value::as_array)
        else {
            continue;
        };
        if let Some(base) = steps.first()
            && !base.get("value").is_none_or(Value::is_null)
        {
            out.push(
                doc.diag(
                    CODE,
                    SEVERITY,
                    &p,
                    format!("the base threshold step of {} has a value; it must be null", p.describe()),
                    Some("\"steps\""),
                )
                .label("base step not null")
                .help("the first step colours everything below the next one: give it `\"value\": null`"),
            );
        }
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
