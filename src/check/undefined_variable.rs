//! PW306 undefined-variable: every dashboard variable a panel query or a variable's query
//! uses (`$job`, `${job}`, `[[job]]`) is defined in the dashboard's `templating.list`.
//!
//! Why: Grafana sends an undefined variable as the literal text `$job`: the query fails to
//! parse or matches nothing, and the panel shows "No data" with no hint why. It happens
//! when a variable is renamed or a panel is copied from another dashboard.
//!
//! Grafana's own variables (`$__interval`, `$__rate_interval`, `$__range`, any `$__name`)
//! regex group references (`$1` in `label_replace`), Go template text inside `{{ }}`
//! (a label value `{{ $labels.job }}`), an escaped dollar (`\\$SYS` in a
//! regex) and a shared dashboard's `__inputs`
//! (`${DS_PROMETHEUS}`, filled in on import) are not dashboard variables.
//!
//! Hand-written dashboards only: in a generated one a `$` comes from a spec's label value.
//!
//! Example: `sum(rate(http_requests_total{job="$service"}[5m]))` on a dashboard whose only
//! variable is `job`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::dashboard::DashboardDoc;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW306",
    name: "undefined-variable",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// Every dashboard variable a text uses, as (the name, the text that uses it).
pub(crate) fn variable_uses(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let ident = |t: &str| {
        t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(t.len())
    };
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        // Go template text (`{{ $labels.job }}` in a label value) is not Grafana's.
        if rest.starts_with("{{")
            && let Some(end) = rest.find("}}")
        {
            i += end + 2;
            continue;
        }
        let found = if let Some(r) = rest.strip_prefix("${") {
            let n = ident(r);
            (n > 0 && r[n..].starts_with(['}', ':', '.'])).then(|| {
                let end = r.find('}').map_or(n + 2, |e| e + 3);
                (&r[..n], &rest[..end])
            })
        } else if let Some(r) = rest.strip_prefix("[[") {
            let n = ident(r);
            (n > 0 && r[n..].starts_with("]]")).then(|| (&r[..n], &rest[..n + 4]))
        } else if let Some(r) = rest.strip_prefix('$')
            && !text[..i].ends_with('\\')
        {
            let n = ident(r);
            (n > 0).then(|| (&r[..n], &rest[..n + 1]))
        } else {
            None
        };
        match found {
            Some((name, used)) => {
                // `$1`: a regex group; `$__x`: Grafana's own.
                if !name.starts_with(|c: char| c.is_ascii_digit()) && !name.starts_with("__") {
                    out.push((name, used));
                }
                i += used.len();
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    out
}

/// The text of a variable's query: a string, or the `query` of an object.
pub(crate) fn query_text(v: &Value) -> Option<&str> {
    match v.get("query")? {
        Value::String(s) => Some(s),
        q => q.get("query").and_then(Value::as_str),
    }
}

pub(crate) fn check(doc: &DashboardDoc, _queries: &[RuleUnit], _cx: &Cx) -> Vec<Diagnostic> {
    // A generated dashboard refers to no variable but its own; a `$` in its queries is in
    // a spec's label value, which Grafana leaves as it is when no variable has the name.
    if !doc.is_file() {
        return Vec::new();
    }
    // A shared dashboard's import inputs (`${DS_PROMETHEUS}`) are filled in on import.
    let inputs = doc
        .json
        .get("__inputs")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let defined: BTreeSet<&str> = doc
        .variables()
        .iter()
        .chain(inputs)
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .collect();
    let mut out = Vec::new();
    let help = "define the variable under Dashboard settings > Variables, or use one that exists";
    for p in doc.panels() {
        let mut reported = BTreeSet::new();
        for (ref_id, expr, _) in p.targets() {
            for (name, used) in variable_uses(expr) {
                if defined.contains(name) || !reported.insert(name) {
                    continue;
                }
                out.push(
                    Diagnostic::new(
                        CODE,
                        SEVERITY,
                        format!(
                            "target {ref_id} uses `{used}`, which the dashboard does not define"
                        ),
                    )
                    .at(doc.locate_in_query(&p, expr, used))
                    .object(p.describe())
                    .label("undefined variable")
                    .help(help),
                );
            }
        }
    }
    for v in doc.variables() {
        let Some(q) = query_text(v) else {
            continue;
        };
        let own = v.get("name").and_then(Value::as_str).unwrap_or("?");
        for (name, used) in variable_uses(q) {
            if defined.contains(name) {
                continue;
            }
            let needle = serde_json::to_string(q).unwrap_or_default();
            out.push(
                Diagnostic::new(
                    CODE,
                    SEVERITY,
                    format!("the query of variable `{own}` uses `{used}`, which the dashboard does not define"),
                )
                .at(doc.locate_anywhere(&needle))
                .object(format!("variable {own}"))
                .label("undefined variable")
                .help(help),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn uses_are_found_in_every_syntax() {
        let names: Vec<&str> = super::variable_uses(
            r#"sum by ($by) (x{a="$job", b="${env:regex}", c="[[dc]]"}[$__rate_interval]) + label_replace(y, "d", "$1", "e", "(.*)")"#,
        )
        .into_iter()
        .map(|(n, _)| n)
        .collect();
        assert_eq!(names, vec!["by", "job", "env", "dc"]);
        assert!(super::variable_uses(r#"topic!~"SYSTEM.*|\\$SYS.*""#).is_empty());
        assert!(super::variable_uses(r#"x{env="{{ $labels.job }}"}"#).is_empty());
    }
}
