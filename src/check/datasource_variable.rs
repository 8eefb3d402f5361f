//! PW303 datasource-variable: every panel and target takes its data source from the
//! dashboard's `datasource` variable (`${datasource}`), not a fixed uid.
//!
//! Why: a fixed uid ties the dashboard to one Grafana instance; imported elsewhere its
//! panels show "data source not found", and staging cannot be compared with production.
//!
//! Example: `"datasource": {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}`.

use serde_json::Value;

use super::dashboard::DashboardDoc;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW303",
    name: "datasource-variable",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

/// The uid of a `datasource` field, or `None` when it names a variable (or is absent:
/// the panel's data source then applies).
fn fixed_uid(ds: Option<&Value>) -> Option<String> {
    let uid = match ds? {
        Value::String(s) => s.clone(),
        v => v.get("uid")?.as_str()?.to_string(),
    };
    if uid.starts_with('$') || uid == "-- Mixed --" || uid == "-- Grafana --" {
        None
    } else {
        Some(uid)
    }
}

pub(crate) fn check(doc: &DashboardDoc, _queries: &[RuleUnit], _cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in doc.panels() {
        let mut fixed: Vec<(String, String)> = Vec::new();
        if let Some(uid) = fixed_uid(p.json.get("datasource")) {
            fixed.push((p.describe(), uid));
        }
        for (ref_id, _, t) in p.targets() {
            if let Some(uid) = fixed_uid(t.get("datasource")) {
                fixed.push((format!("target {ref_id} of {}", p.describe()), uid));
            }
        }
        for (what, uid) in fixed {
            out.push(
                doc.diag(
                    CODE,
                    SEVERITY,
                    &p,
                    format!("{what} uses the fixed data source `{uid}`"),
                    Some(&format!("\"{uid}\"")),
                )
                .label("not the `datasource` variable")
                .help("use `{\"type\": \"prometheus\", \"uid\": \"${datasource}\"}` and a `datasource` template variable"),
            );
        }
    }
    out
}
