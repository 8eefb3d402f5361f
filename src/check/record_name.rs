//! PW208 record-name-convention: recording rule names follow Prometheus's
//! `level:metric:operations` convention: at least three `:`-separated parts, each made of
//! letters, digits and `_` (`job:http_requests:rate5m`, `pool_le:wait_seconds_bucket:rate5m`,
//! `cluster:latency_seconds:99quantile`; further parts name further operations).
//!
//! Why: the name says which labels the series keeps (level), what it is built from
//! (metric) and how (operations), so anyone can read a dashboard query without opening the
//! rule file, and recorded series never collide with exported metrics.
//!
//! A rule that records a bare selector (`record: node_memory_MemTotal` with
//! `expr: node_memory_MemTotal_bytes{job="node"}`) renames a metric for compatibility: it
//! must carry the old name, so it is not reported.
//!
//! Example: `record: pool_utilization` (no level, no operations).

use promql_parser::parser::Expr;

use super::expr::unparen;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW208",
    name: "record-name-convention",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

fn is_part(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// True for a `level:metric:operations` name.
pub(crate) fn follows_convention(name: &str) -> bool {
    let parts: Vec<&str> = name.split(':').collect();
    parts.len() >= 3 && parts.iter().all(|p| is_part(p))
}

pub(crate) fn check(rule: &RuleUnit, _cx: &Cx) -> Vec<Diagnostic> {
    if !rule.is_record() || follows_convention(&rule.name.text) || is_rename(rule) {
        return Vec::new();
    }
    vec![
        rule.diag(
            CODE,
            SEVERITY,
            format!(
                "recording rule `{}` does not follow `level:metric:operations`",
                rule.name.text
            ),
            rule.name.span.clone(),
        )
        .label("expected at least three `:`-separated parts")
        .help(
            "e.g. `job:http_requests_total:rate5m` — the labels kept, the metric, the operations",
        ),
    ]
}

/// True for a rule that records one metric under another name: its expression is a bare
/// selector (matchers allowed, no range, no function).
fn is_rename(rule: &RuleUnit) -> bool {
    matches!(rule.ast.as_ref().map(unparen), Ok(Expr::VectorSelector(vs)) if vs.name.is_some())
}
