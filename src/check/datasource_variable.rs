//! PW303 datasource-variable: every panel and target takes its data source from the
//! dashboard's `datasource` variable (`${datasource}`), not a fixed uid.
//!
//! Why: a fixed uid ties the dashboard to one Grafana instance; imported elsewhere its
//! panels show "data source not found", and staging cannot be compared with production.
//!
//! A uid repeated by a panel and its targets is one finding, at its first place.
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
        // One finding per fixed uid of a panel, however many of its targets repeat it:
        // (uid, the panel itself uses it, the targets that do).
        let mut fixed: Vec<(String, bool, Vec<&str>)> = Vec::new();
        if let Some(uid) = fixed_uid(p.json.get("datasource")) {
            fixed.push((uid, true, Vec::new()));
        }
        for (ref_id, _, t) in p.targets() {
            let Some(uid) = fixed_uid(t.get("datasource")) else {
                continue;
            };
            match fixed.iter_mut().find(|(u, _, _)| *u == uid) {
                Some((_, _, refs)) => refs.push(ref_id),
                None => fixed.push((uid, false, vec![ref_id])),
            }
        }
        for (uid, panel, refs) in fixed {
            let targets = match refs.len() {
                0 => String::new(),
                1 => format!("target {}", refs[0]),
                _ => format!("targets {}", refs.join(", ")),
            };
            let what = match (panel, targets.is_empty()) {
                (true, true) => p.describe(),
                (true, false) => format!("{} and its {targets}", p.describe()),
                (false, _) => format!("{targets} of {}", p.describe()),
            };
            let verb = if refs.len() + usize::from(panel) == 1 {
                "uses"
            } else {
                "use"
            };
            out.push(
                doc.diag(
                    CODE,
                    SEVERITY,
                    &p,
                    format!("{what} {verb} the fixed data source `{uid}`"),
                    Some(&format!("\"{uid}\"")),
                )
                .label("not the `datasource` variable")
                .help("use `{\"type\": \"prometheus\", \"uid\": \"${datasource}\"}` and a `datasource` template variable"),
            );
        }
    }
    out
}
