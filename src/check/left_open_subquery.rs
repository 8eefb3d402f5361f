//! PW116 left-open-subquery: `rate`, `increase`, `irate`, `delta`, `idelta`, `deriv` or
//! `predict_linear` over a subquery whose range is not longer than its step
//! (`rate(x[1m:1m])`), which holds one point on Prometheus 3: no result, ever.
//!
//! Why: these functions need two points. Prometheus 3 made range selectors and subqueries
//! left-open (a point exactly at the window's start is out), and a subquery's points sit
//! exactly on multiples of its step, so a window of one step holds one point where
//! Prometheus 2 saw two. Prometheus 3.0's migration guide (docs/migration.md, "PromQL" >
//! "Range selectors and lookback exclude samples coinciding with the left boundary",
//! v3.0.0) gives `foo[1m:1m]` as the query that returns "No Data" and `foo[2m:1m]` as the
//! fix.
//!
//! An error with `--prometheus 3`; a warning when 3 is only assumed; with `--prometheus 2`
//! only a range shorter than the step is reported (one point on either version). A
//! subquery without a step (`[5m:]`) uses the evaluation interval, which the file does not
//! say, and is left alone.
//!
//! Example: `max_over_time(rate(http_requests_total[1m:1m])[1h:])`.

use promql_parser::parser::Expr;

use super::expr::{unparen, visit};
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW116",
    name: "left-open-subquery",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

const TWO_POINTS: [&str; 9] = [
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "double_exponential_smoothing",
    "holt_winters",
];

fn show(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let target = cx.env.knowledge.target;
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let mut out = Vec::new();
    visit(ast, None, &mut |e, _| {
        let Expr::Call(c) = e else {
            return;
        };
        if !TWO_POINTS.contains(&c.func.name) {
            return;
        }
        let Some(Expr::Subquery(s)) = c.args.args.first().map(|a| unparen(a)) else {
            return;
        };
        let Some(step) = s.step else {
            return;
        };
        let one_point = if target.is_v3() {
            s.range <= step
        } else {
            s.range < step
        };
        if !one_point {
            return;
        }
        let window = format!("[{}:{}]", show(s.range), show(step));
        out.push(
            rule.diag(
                CODE,
                target.level(SEVERITY),
                format!(
                    "`{}` over a subquery `{window}` sees one point per window: it never returns a value ({})",
                    c.func.name,
                    target.words()
                ),
                rule.expr_word(c.func.name),
            )
            .label("needs two points in its window")
            .help(format!(
                "make the range at least two steps, e.g. `[{}:{}]`",
                show(step * 2),
                show(step)
            )),
        );
    });
    out
}
