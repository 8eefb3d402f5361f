//! PW302 rate-interval: a dashboard query's `rate`/`irate`/`increase` uses Grafana's
//! `$__rate_interval` as its window.
//!
//! Why: a fixed window (`[1m]`) shorter than four scrape intervals returns gaps or nothing
//! when the dashboard is zoomed out or the scrape interval changes; `$__rate_interval`
//! adapts to both.
//!
//! Windows chosen on purpose are left alone: `[$__range]` (the whole time range picked,
//! e.g. a total for the period shown), a dashboard's own interval variable
//! (`[$interval]`, picked by the viewer), a period of an hour or more
//! (`increase(x[1w])`), and subquery windows (`[$__interval:]`, `[1h:5m]`), whose range
//! and step the author set.
//!
//! Example: `sum(rate(k2_connection_pool_creation_errors_total[1m]))` in a panel.

use super::dashboard::DashboardDoc;
use super::lint::{Cx, RuleUnit};
use super::promql_string;
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW302",
    name: "rate-interval",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

/// The windows of `rate(`, `irate(` and `increase(` calls in an expression: the first
/// `[...]` after the call opens that is not inside a string (a regex's `[a-z]` is not a
/// window).
fn windows(expr: &str) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    for f in ["rate(", "irate(", "increase("] {
        let mut from = 0;
        while let Some(i) = expr[from..].find(f) {
            let start = from + i;
            from = start + f.len();
            if start > 0 && expr[..start].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            {
                continue;
            }
            if let Some(window) = first_window(&expr[from..]) {
                out.push((f.trim_end_matches('('), window));
            }
        }
    }
    out
}

/// The text of the first `[...]` outside quotes.
fn first_window(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(lit) = promql_string::at(bytes, i) {
            i = lit.end;
            continue;
        }
        if bytes[i] == b'[' {
            return s[i + 1..].find(']').map(|e| &s[i + 1..i + 1 + e]);
        }
        i += 1;
    }
    None
}

/// True for a window the author chose rather than one Grafana should adapt: Grafana's own
/// rate interval, the dashboard's whole range, or a subquery's `range:step`.
fn chosen(window: &str) -> bool {
    let w = window.trim();
    // A dashboard's own interval variable (`[$interval]`) is picked by the viewer; only
    // Grafana's `$__interval` is the mistake `$__rate_interval` exists for.
    let own_variable = w.starts_with('$') && !["$__interval", "${__interval}"].contains(&w);
    // A window of an hour or more is a period (`increase(x[1w])`: per week), not a
    // smoothing window that zooming could make too short.
    let period = crate::model::PromDuration::parse(w).is_ok_and(|d| d.millis() >= 3_600_000);
    w.contains(':') || own_variable || period
}

pub(crate) fn check(doc: &DashboardDoc, _queries: &[RuleUnit], _cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in doc.panels() {
        for (ref_id, expr, _) in p.targets() {
            for (func, window) in windows(expr) {
                if chosen(window) {
                    continue;
                }
                let needle = format!("[{window}]");
                out.push(
                    Diagnostic::new(
                        CODE,
                        SEVERITY,
                        format!("target {ref_id} uses `{func}(...[{window}])` instead of `$__rate_interval`"),
                    )
                    .at(doc.locate_in_query(&p, expr, &needle))
                    .object(p.describe())
                    .label("fixed window")
                    .help(format!("write `{func}(...[$__rate_interval])`: Grafana adapts it to the zoom and scrape interval")),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_regex_bracket_is_not_a_window() {
        let w = super::windows("rate(x_total{path=~\"/a[\\\\.:]b\"}[$__rate_interval])");
        assert_eq!(w, vec![("rate", "$__rate_interval")]);
    }
}
