//! PW106 alert-without-comparison: an alert's expression must filter its series, with a
//! comparison (`> 0.9`, `<= 0`), `absent(...)`, or a set operation that filters
//! (`A unless B`, `A and B`).
//!
//! Why: an alert fires for every series its expression returns. Without a comparison every
//! series is returned at every evaluation, so the alert fires all the time, whatever the
//! value. A `bool` comparison does not filter either: it returns 0 or 1 for every series.
//!
//! Some alerts are meant to fire whenever their series exist, and are left alone: a
//! constant (`vector(1)`, the "Watchdog" or dead man's switch that proves the alerting
//! pipeline works) and a selector with label matchers (`x_info{state="down"}`: the
//! series only exists in that state). Only a `bool` comparison is certainly wrong (an
//! error); any other expression without a filter is a warning.
//!
//! Example: `alert: PoolUtilization` with `expr: sum(active) / sum(size)`.

use promql_parser::parser::Expr;

use super::expr::unparen;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW106",
    name: "alert-without-comparison",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// True when the expression returns only the series that meet a condition.
pub(crate) fn filters(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => filters(&p.expr),
        Expr::Binary(b) => {
            if b.op.is_comparison_operator() {
                return !b.return_bool();
            }
            match b.op.to_string().as_str() {
                // Set operations keep only the series the other side has (or lacks).
                "and" | "unless" => true,
                "or" => filters(&b.lhs) && filters(&b.rhs),
                _ => filters(&b.lhs) || filters(&b.rhs),
            }
        }
        Expr::Aggregate(a) => filters(&a.expr),
        Expr::Call(c) => {
            matches!(c.func.name, "absent" | "absent_over_time")
                || c.args.args.iter().any(|a| filters(a))
        }
        Expr::Subquery(s) => filters(&s.expr),
        _ => false,
    }
}

/// True for an expression meant to fire whenever it has series: a constant, or series
/// chosen by their labels.
fn fires_on_presence(e: &Expr) -> bool {
    match unparen(e) {
        Expr::NumberLiteral(_) => true,
        Expr::Call(c) if c.func.name == "vector" => {
            c.args.args.first().is_some_and(|a| fires_on_presence(a))
        }
        Expr::VectorSelector(vs) => vs.matchers.matchers.iter().any(|m| m.name != "__name__"),
        Expr::Aggregate(a) => fires_on_presence(&a.expr),
        Expr::Call(c) => c.args.args.iter().any(|a| fires_on_presence(a)),
        Expr::Binary(b) => fires_on_presence(&b.lhs) || fires_on_presence(&b.rhs),
        _ => false,
    }
}

pub(crate) fn check(rule: &RuleUnit, _cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    if !rule.is_alert() || filters(ast) {
        return Vec::new();
    }
    let mut has_bool = false;
    super::expr::visit(ast, None, &mut |e, _| {
        if let Expr::Binary(b) = e {
            has_bool |= b.return_bool();
        }
    });
    if !has_bool && fires_on_presence(ast) {
        return Vec::new();
    }
    let severity = if has_bool {
        SEVERITY
    } else {
        Severity::Warning
    };
    vec![
        rule.diag(
            CODE,
            severity,
            format!(
                "alert `{}` has no comparison: it fires for every series, all the time",
                rule.name.text
            ),
            rule.expr.span.clone(),
        )
        .label("returns every series")
        .help(if has_bool {
            "`bool` makes a comparison return 0 or 1 for every series instead of filtering: drop `bool`"
        } else {
            "compare the value with a threshold, e.g. `... > 0.9`"
        }),
    ]
}
