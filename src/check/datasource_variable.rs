//! PW303 datasource-variable: every panel and target takes its data source from the
//! dashboard's `datasource` variable (`${datasource}`), not a fixed uid.
//!
//! Why: a fixed uid ties the dashboard to one Grafana instance; imported elsewhere its
//! panels show "data source not found", and staging cannot be compared with production.
//!
//! A uid repeated by a panel and its targets is one finding, at its first place. Also
//! reported: a query variable with a fixed uid in `templating`, and a panel with no data
//! source at all (Grafana's default) on a dashboard whose other panels follow the variable.
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
    // Grafana's own data sources (mixed, built-in annotations and alerts, the dashboard's
    // own results) exist in every instance.
    if uid.starts_with('$')
        || ["-- Mixed --", "-- Grafana --", "-- Dashboard --", "grafana"].contains(&uid.as_str())
    {
        None
    } else {
        Some(uid)
    }
}

pub(crate) fn check(doc: &DashboardDoc, _queries: &[RuleUnit], _cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let panels = doc.panels();
    // A panel and its targets without any data source use Grafana's default one: beside
    // panels that follow the variable, they show another data source than the one picked.
    let uses_variable =
        |v: Option<&Value>| v.is_some_and(|d| !d.is_null()) && fixed_uid(v).is_none();
    let follows = panels.iter().any(|p| {
        uses_variable(p.json.get("datasource"))
            || p.targets()
                .iter()
                .any(|(_, _, t)| uses_variable(t.get("datasource")))
    });
    let unset = |v: Option<&Value>| v.is_none_or(Value::is_null);
    for p in panels.iter().filter(|_| follows) {
        let targets = p.targets();
        if !targets.is_empty()
            && unset(p.json.get("datasource"))
            && targets.iter().all(|(_, _, t)| unset(t.get("datasource")))
        {
            out.push(
                doc.diag(
                    CODE,
                    SEVERITY,
                    p,
                    format!(
                        "{} has no data source: it queries Grafana's default, not the one the `datasource` variable picks",
                        p.describe()
                    ),
                    None,
                )
                .label("no `datasource`")
                .help("set the panel's `\"datasource\": {\"type\": \"prometheus\", \"uid\": \"${datasource}\"}`"),
            );
        }
    }
    for v in doc.variables() {
        if v.get("type").and_then(Value::as_str) != Some("query") {
            continue;
        }
        if let Some(uid) = fixed_uid(v.get("datasource")) {
            let name = v.get("name").and_then(Value::as_str).unwrap_or("?");
            out.push(
                Diagnostic::new(
                    CODE,
                    SEVERITY,
                    format!("variable `{name}` queries the fixed data source `{uid}`"),
                )
                .at(doc.locate_anywhere(&format!("\"{uid}\"")))
                .object(format!("variable {name}"))
                .label("not the `datasource` variable")
                .help("use `{\"type\": \"prometheus\", \"uid\": \"${datasource}\"}` so the variable's values come from the data source picked"),
            );
        }
    }
    for p in panels {
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
