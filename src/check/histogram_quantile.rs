//! PW105 histogram-quantile-input: `histogram_quantile` must get a histogram's bucket rates
//! with the `le` label: `rate(<histogram>_bucket[5m])`, summed `by (le, ...)`, or a series
//! recorded from one.
//!
//! Why: the quantile is computed from the `le` buckets. Over a gauge, a `_sum`/`_count`
//! series or an aggregation that drops `le` (`sum(rate(x_bucket[5m]))`,
//! `sum by (job) (...)`), Prometheus returns nothing or NaN, and an alert over it never
//! fires.
//!
//! Only what is certain is reported: an aggregation that drops `le` from `_bucket` series,
//! or an argument known (from a catalog, `--metrics` or `--metadata`) to be a plain gauge
//! or counter. A native histogram has no `_bucket` series and no `le`, so an argument
//! nothing knows is left alone.
//!
//! Example: `histogram_quantile(0.99, sum(rate(k2_query_duration_seconds_bucket[5m])))` —
//! `sum` without `by (le)` drops the buckets.

use promql_parser::parser::Expr;

use super::expr::{calls, selector_name, unparen, visit};
use super::lint::{Cx, RuleUnit};
use super::typing::Kind;
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW105",
    name: "histogram-quantile-input",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in calls(ast, &["histogram_quantile"]) {
        let Some(arg) = c.args.args.get(1) else {
            continue;
        };
        let t = cx.env.type_of(arg);
        // Classic buckets read: a `_bucket` series, or a series recorded from one.
        let (mut reads_buckets, mut reads_native) = (false, false);
        visit(arg, None, &mut |n, _| {
            if let Some(name) = selector_name(n) {
                reads_buckets |= name.ends_with("_bucket")
                    || cx.env.recorded.get(name).is_some_and(|r| r.buckets);
                // Of a recorded rate, the histogram is named in its middle part
                // (`level:<histogram>_bucket:rate5m`).
                let base = name.split(':').nth(1).unwrap_or(name);
                let base = base.strip_suffix("_bucket").unwrap_or(base);
                reads_native |= cx.env.knowledge.is_native_histogram(base);
            }
        });
        // A native histogram has no `le`: summing it by the identity alone is right.
        if reads_native {
            continue;
        }
        let (message, label, help) = if reads_buckets && t.labels.drops("le") {
            (
                format!(
                    "`histogram_quantile` over an aggregation that drops `le` (it keeps {})",
                    t.labels.describe()
                ),
                "the `le` buckets are summed away".to_string(),
                "aggregate with `sum by (le) (...)` (and any label you want to keep)".to_string(),
            )
        } else if !t.buckets && !reads_buckets && t.exact && t.kind != Kind::Unknown {
            // Known not to be buckets. A native histogram (`rate(x[5m])`, no `_bucket`)
            // or a name nothing knows may well be right.
            let what = match unparen(arg) {
                a @ Expr::VectorSelector(_) => {
                    format!(
                        "`{}` is not a histogram's bucket series",
                        selector_name(a).unwrap_or("?")
                    )
                }
                _ => "its argument is not a histogram's bucket rates".to_string(),
            };
            (
                format!("`histogram_quantile` over a non-histogram: {what}"),
                "not `_bucket` rates".to_string(),
                "pass `sum by (le) (rate(<histogram>_bucket[5m]))`".to_string(),
            )
        } else {
            continue;
        };
        // Point at the first metric inside the argument.
        let mut first = None;
        visit(arg, None, &mut |n, _| {
            if first.is_none() {
                first = selector_name(n).map(str::to_string);
            }
        });
        let span = first
            .as_deref()
            .and_then(|n| rule.expr_word(n))
            .or_else(|| rule.expr.span.clone());
        out.push(
            rule.diag(CODE, SEVERITY, message, span)
                .label(label)
                .help(help),
        );
    }
    out
}
