//! PW103 rate-on-gauge: `rate`, `irate` and `increase` only make sense over a counter.
//!
//! Why: they assume the series only goes up and treat every decrease as a counter reset, so
//! over a gauge (connections in use, pool size) they return nonsense that looks plausible.
//! Use `deriv` or `delta` for a gauge's change, or the gauge itself.
//!
//! An error when the argument's kind is known (a catalog, `--metrics`, `--metadata`, or a
//! rate recorded in the same files); a warning when only a name's convention says so.
//!
//! Example: `rate(k2_connection_pool_active_connections[5m]) > 1` — `active_connections` is
//! a gauge.

use promql_parser::parser::Expr;

use super::lint::{Cx, RuleUnit};
use super::typing::{Kind, counter_calls};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW103",
    name: "rate-on-gauge",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (c, arg, t) in counter_calls(ast, &cx.env) {
        // 0/1 and info series: PW107 says more about them.
        if !matches!(t.kind, Kind::Gauge | Kind::Rate) || t.binary {
            continue;
        }
        // A kind known only from a name's convention may be wrong (old exporters name
        // counters without `_total`): a warning then.
        let severity = if t.exact { SEVERITY } else { Severity::Warning };
        let (what, name) = match arg {
            Expr::MatrixSelector(ms) => {
                let is = if t.kind == Kind::Rate {
                    "already a rate"
                } else {
                    "a gauge"
                };
                let n = ms.vs.name.as_deref().unwrap_or("?");
                (
                    format!("`{n}` is {is} ({})", cx.env.type_source(n)),
                    ms.vs.name.clone(),
                )
            }
            _ => ("its argument is not a counter".to_string(), None),
        };
        let span = name
            .as_deref()
            .and_then(|n| rule.expr_word(n))
            .or_else(|| rule.expr.span.clone());
        out.push(
            rule.diag(
                CODE,
                severity,
                format!("`{}` over a non-counter: {what}", c.func.name),
                span,
            )
            .label("not a counter")
            .help(format!(
                "`{}` treats every decrease as a counter reset; use the gauge itself, or `deriv`/`delta` for its change",
                c.func.name
            )),
        );
    }
    out
}
