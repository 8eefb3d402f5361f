//! PW109 unreachable-quantile-threshold: a quantile threshold the histogram's buckets cannot
//! reach: `histogram_quantile(...) > T` with `T` at or above the largest finite bucket
//! bound, when the buckets are known (the `le` values of a `--metrics` exposition).
//!
//! Why: a quantile that falls in the `+Inf` bucket is reported as the largest finite
//! bound: `histogram_quantile` never returns more. With buckets up to 10 seconds,
//! `histogram_quantile(0.99, ...) > 30` can never be true, so the alert never fires,
//! however slow things get. Lower the threshold or add buckets.
//!
//! An error with a spec's catalog (the buckets are the service's); a warning with
//! `--metrics` (another target may have other buckets).
//!
//! Example: buckets `0.1, 0.5, 1, 5, 10` and
//! `histogram_quantile(0.99, sum by (le) (rate(wait_seconds_bucket[5m]))) > 30`.

use promql_parser::parser::Expr;

use super::expr::thresholds;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW109",
    name: "unreachable-quantile-threshold",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in thresholds(ast) {
        // The quantile must exceed the threshold: `q > T` or `q >= T`.
        let Expr::Call(q) = t.expr else {
            continue;
        };
        if q.func.name != "histogram_quantile" || !matches!(t.op, ">" | ">=") {
            continue;
        }
        let Some(arg) = q.args.args.get(1) else {
            continue;
        };
        let Some((family, buckets)) = cx.env.histogram_buckets(arg) else {
            continue;
        };
        let Some(&top) = buckets.last() else {
            continue;
        };
        let unreachable = if t.op == ">=" {
            t.value > top
        } else {
            t.value >= top
        };
        if !unreachable {
            continue;
        }
        let severity = if cx.env.knowledge.is_closed() {
            SEVERITY
        } else {
            Severity::Warning
        };
        let shown = crate::conventions::number(t.value);
        out.push(
            rule.diag(
                CODE,
                severity,
                format!(
                    "the threshold {shown} is not below the largest finite bucket of `{family}` ({}): the quantile never exceeds it",
                    crate::conventions::number(top)
                ),
                rule.expr_word(&shown),
            )
            .label("unreachable")
            .help(format!(
                "use a threshold below {}, or give the histogram larger buckets",
                crate::conventions::number(top)
            )),
        );
    }
    out
}
