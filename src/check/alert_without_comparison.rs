//! PW106 alert-without-comparison: an alert's expression must filter its series, with a
//! comparison (`> 0.9`, `<= 0`), `absent(...)`, or a set operation that filters.
//!
//! Why: an alert fires for every series its expression returns. Without a comparison every
//! series is returned at every evaluation, so the alert fires all the time, whatever the
//! value. A `bool` comparison does not filter either: it returns 0 or 1 for every series.
//!
//! Example: `alert: PoolUtilization` with `expr: sum(active) / sum(size)`.

use promql_parser::parser::Expr;

use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub const CODE: Code = Code {
    code: "PW106",
    name: "alert-without-comparison",
};
pub const SEVERITY: Severity = Severity::Error;

/// True when the expression returns only the series that meet a condition.
pub fn filters(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => filters(&p.expr),
        Expr::Binary(b) => {
            let op = b.op.to_string();
            if b.op.is_comparison_operator() {
                return !b.return_bool();
            }
            match op.as_str() {
                "or" => filters(&b.lhs) && filters(&b.rhs),
                // Keeps only the left side's series that the right side lacks.
                "unless" => true,
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

pub fn check(rule: &RuleUnit, _cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    if !rule.is_alert() || filters(ast) {
        return Vec::new();
    }
    let mut has_bool = false;
    super::typing::visit(ast, None, &mut |e, _| {
        if let Expr::Binary(b) = e {
            has_bool |= b.return_bool();
        }
    });
    vec![
        rule.diag(
            CODE,
            SEVERITY,
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
