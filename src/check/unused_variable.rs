//! PW308 unused-variable: a dashboard variable that no panel query, title, description,
//! link, repeat, annotation query or other variable uses.
//!
//! Why: a drop-down that changes nothing misleads whoever picks a value in it during an
//! incident ("I filtered on the failing pool" while every panel still shows all pools),
//! and each query variable costs a query against Prometheus at every load. It is left
//! behind when the queries that read it are edited.
//!
//! Uses are found in every text of the dashboard (`$job`, `${job}`, `[[job]]`) and in a
//! panel or row's `repeat`. Not reported: ad hoc filters (Grafana adds them to every query
//! itself), and every variable of a dashboard with a link that carries the variables to
//! another dashboard (`includeVars: true`), which may read them there.
//! Hand-written dashboards only.
//!
//! Example: a `cluster` variable (`label_values(up, cluster)`) on a dashboard whose queries
//! filter on `job` only.

use std::collections::BTreeSet;

use serde_json::Value;

use super::dashboard::DashboardDoc;
use super::lint::{Cx, RuleUnit};
use super::undefined_variable::variable_uses;
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW308",
    name: "unused-variable",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

/// Every variable name `v` (and what it holds) uses, but `own` (a variable's own name).
fn collect<'v>(v: &'v Value, own: Option<&str>, used: &mut BTreeSet<&'v str>) {
    match v {
        Value::String(s) => used.extend(
            variable_uses(s)
                .into_iter()
                .map(|(name, _)| name)
                .filter(|n| Some(*n) != own),
        ),
        Value::Array(a) => a.iter().for_each(|x| collect(x, own, used)),
        Value::Object(o) => {
            for (k, x) in o {
                match (k.as_str(), x) {
                    ("repeat", Value::String(name)) => {
                        used.insert(name);
                    }
                    // What a variable holds (its values), not what it refers to.
                    ("current" | "options", _) if own.is_some() => {}
                    _ => collect(x, own, used),
                }
            }
        }
        _ => {}
    }
}

/// True when a link anywhere carries the variables to another dashboard.
fn includes_vars(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().any(includes_vars),
        Value::Object(o) => {
            o.get("includeVars").and_then(Value::as_bool) == Some(true)
                || o.values().any(includes_vars)
        }
        _ => false,
    }
}

pub(crate) fn check(doc: &DashboardDoc, _queries: &[RuleUnit], _cx: &Cx) -> Vec<Diagnostic> {
    if !doc.is_file() || doc.variables().is_empty() || includes_vars(&doc.json) {
        return Vec::new();
    }
    let mut used = BTreeSet::new();
    if let Value::Object(o) = &doc.json {
        for (k, x) in o {
            if k != "templating" {
                collect(x, None, &mut used);
            }
        }
    }
    for v in doc.variables() {
        let own = v.get("name").and_then(Value::as_str);
        collect(v, Some(own.unwrap_or("")), &mut used);
    }
    let mut out = Vec::new();
    for v in doc.variables() {
        let Some(name) = v
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            continue;
        };
        if used.contains(name) || v.get("type").and_then(Value::as_str) == Some("adhoc") {
            continue;
        }
        out.push(
            Diagnostic::new(
                CODE,
                SEVERITY,
                format!("variable `{name}` is defined but nothing in the dashboard uses it"),
            )
            .at(doc.locate_variable(name))
            .object(format!("variable {name}"))
            .label("never used")
            .help(format!(
                "filter the queries on it (`{{...=~\"${name}\"}}`), or remove the variable"
            )),
        );
    }
    out
}
