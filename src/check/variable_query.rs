//! PW307 variable-query: a Prometheus query variable's query must parse: the selector of
//! `label_values(<selector>, <label>)` and the expression of `query_result(<expr>)`, with
//! the dashboard's variables in them read as values.
//!
//! Why: Prometheus rejects the query, the variable's drop-down stays empty, and every
//! panel that filters on it shows "No data". A leading comma left where a matcher was
//! removed (`up{,job=~"$job"}`) is the usual cause.
//!
//! A query that parses is judged by PW112 too: `label_values(metric, label)` over a label
//! the metric never carries.
//!
//! Example: `label_values(up{,job=~"$job"}, instance)`.

use serde_json::Value;

use super::dashboard::DashboardDoc;
use super::grafana_vars::parse_query;
use super::lint::{Cx, RuleUnit};
use super::undefined_variable::query_text;
use super::unknown_label;
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW307",
    name: "variable-query",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// The PromQL inside a variable query: `label_values`' selector or `query_result`'s
/// expression; `None` for the forms that hold none (`label_values(job)`, `metrics(...)`).
pub(crate) fn promql_of(query: &str) -> Option<&str> {
    let q = query.trim();
    if let Some(inner) = q
        .strip_prefix("label_values(")
        .and_then(|r| r.strip_suffix(')'))
    {
        // The label is the last argument; a selector's own commas are inside `{...}`.
        let (selector, _label) = inner.rsplit_once(',')?;
        let selector = selector.trim();
        return (!selector.is_empty()).then_some(selector);
    }
    q.strip_prefix("query_result(")
        .and_then(|r| r.strip_suffix(')'))
        .map(str::trim)
}

/// True when the variable queries Prometheus: a query variable whose data source (named,
/// or picked by a data source variable) is Prometheus or says nothing else.
fn is_prometheus_query(doc: &DashboardDoc, v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("query")
        && v.get("datasource")
            .and_then(|d| doc.plugin(d))
            .is_none_or(|p| p == "prometheus")
}

pub(crate) fn check(doc: &DashboardDoc, _queries: &[RuleUnit], cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for v in doc
        .variables()
        .iter()
        .filter(|v| is_prometheus_query(doc, v))
    {
        let Some(q) = query_text(v) else {
            continue;
        };
        let Some(promql) = promql_of(q) else {
            continue;
        };
        let name = v.get("name").and_then(Value::as_str).unwrap_or("?");
        let e = match parse_query(promql) {
            Ok(selector) => {
                // What parses is judged against the metrics' known labels too (PW112).
                if q.trim_start().starts_with("label_values(") {
                    out.extend(unknown_label::check_variable(doc, cx, name, q, &selector));
                }
                continue;
            }
            Err(e) => e,
        };
        // `{job=~"$job"}` is read with the variable as a value that may be empty; Grafana
        // fills in a real one, so "no non-empty matcher" says nothing about the query.
        if promql.contains('$') && e.contains("non-empty matcher") {
            continue;
        }
        let needle = serde_json::to_string(q).unwrap_or_default();
        out.push(
            Diagnostic::new(
                CODE,
                SEVERITY,
                format!("the query of variable `{name}` does not parse: {e}"),
            )
            .at(doc.locate_anywhere(&needle))
            .object(format!("variable {name}"))
            .label("Prometheus rejects this")
            .help("fix the PromQL inside `label_values(...)`/`query_result(...)`; the variable's drop-down is empty until then"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_promql_of_each_form() {
        use super::promql_of;
        assert_eq!(
            promql_of("label_values(up{job=\"a\"}, instance)"),
            Some("up{job=\"a\"}")
        );
        assert_eq!(promql_of("label_values(job)"), None);
        assert_eq!(promql_of("query_result(topk(5, x))"), Some("topk(5, x)"));
        assert_eq!(promql_of("metrics(node_.*)"), None);
    }
}
