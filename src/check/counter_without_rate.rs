//! PW104 counter-without-rate: a counter's raw value is used outside `rate`, `irate` or
//! `increase`.
//!
//! Why: a counter's value is the total since the process started; it resets on restart and
//! grows forever. `errors_total > 0` is true as soon as one error ever happened and stays
//! true; compare its rate instead. (`absent`, `resets`, `changes`, `timestamp`,
//! `count_over_time` and the like look at the samples, not the value, and are fine.)
//!
//! Runs on counters known as such (a catalog, `--metrics`, `--metadata`); PW108 covers a
//! `_total` name compared to a number when nothing else is known.
//!
//! A recording rule whose result is still a counter (`sum by (pool) (a_total + b_total)`)
//! records a counter, not its raw value: the rules that read it are checked in turn.
//!
//! Example: `k2_connection_pool_creation_errors_total > 0`.

use promql_parser::parser::Expr;
use promql_parser::parser::token::{T_COUNT, T_GROUP, T_LAND, T_LUNLESS};

use super::lint::{Cx, RuleUnit};
use super::typing::{COUNTER_FUNCTIONS, Kind, Resolved};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW104",
    name: "counter-without-rate",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// Functions that may take a counter: they read timestamps or sample counts, not values.
const SAMPLE_FUNCTIONS: [&str; 7] = [
    "absent",
    "absent_over_time",
    "present_over_time",
    "count_over_time",
    "resets",
    "changes",
    "timestamp",
];

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    if rule.is_record() && cx.type_of(rule).is_some_and(|t| t.kind == Kind::Counter) {
        return Vec::new();
    }
    let mut out = Vec::new();
    // Walk with the nearest enclosing function call, through parentheses and subqueries.
    fn walk(e: &Expr, allowed: bool, cx: &Cx, rule: &RuleUnit, out: &mut Vec<Diagnostic>) {
        match e {
            Expr::VectorSelector(vs) if !allowed => {
                let Some(name) = vs.name.as_deref() else {
                    return;
                };
                // Only a counter known as one: a `_total` name alone is PW108's business,
                // and only where it is compared.
                let counter = match cx.env.resolve(name) {
                    Resolved::Catalog(t) | Resolved::Recorded(t) => {
                        t.kind == Kind::Counter && t.exact
                    }
                    _ => false,
                };
                if counter {
                    out.push(
                        rule.diag(
                            CODE,
                            SEVERITY,
                            format!("counter `{name}` is used without `rate`, `irate` or `increase`"),
                            rule.expr_word(name),
                        )
                        .label("a counter's raw value only grows")
                        .help(format!("use `rate({name}[5m])` for a per-second rate, or `increase({name}[1h])` for a count over a window")),
                    );
                }
            }
            Expr::MatrixSelector(ms) if !allowed => {
                walk(&Expr::VectorSelector(ms.vs.clone()), false, cx, rule, out);
            }
            Expr::Call(c) => {
                let ok = COUNTER_FUNCTIONS.contains(&c.func.name)
                    || SAMPLE_FUNCTIONS.contains(&c.func.name);
                for a in &c.args.args {
                    walk(a, ok, cx, rule, out);
                }
            }
            Expr::Paren(p) => walk(&p.expr, allowed, cx, rule, out),
            Expr::Subquery(s) => walk(&s.expr, allowed, cx, rule, out),
            Expr::Unary(u) => walk(&u.expr, false, cx, rule, out),
            Expr::Aggregate(a) => {
                // count and group read the series, not their values.
                walk(
                    &a.expr,
                    matches!(a.op.id(), T_COUNT | T_GROUP),
                    cx,
                    rule,
                    out,
                );
            }
            Expr::Binary(b) => {
                let op = b.op.id();
                // `x unless x offset 5m` keeps the series born in the last 5m, at their first
                // value: the events a counter counted before rate() can see it.
                let born = op == T_LUNLESS
                    && matches!((&*b.lhs, &*b.rhs), (Expr::VectorSelector(l), Expr::VectorSelector(r))
                        if l.name == r.name && r.offset.is_some() && l.offset.is_none());
                walk(&b.lhs, born, cx, rule, out);
                // The right side of `and`/`unless` only selects series.
                walk(&b.rhs, matches!(op, T_LAND | T_LUNLESS), cx, rule, out);
            }
            _ => {}
        }
    }
    walk(ast, false, cx, rule, &mut out);
    out
}
