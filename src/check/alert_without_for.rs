//! PW212 alert-without-for: an alert that compares a value with a threshold has no `for`,
//! so one evaluation over the threshold pages.
//!
//! Why: rates and gauges cross thresholds for a scrape or two all the time (a deploy, a
//! GC pause, a slow scrape). Without `for`, each crossing fires and resolves at once: a
//! noisy alert that teaches people to ignore it. `for: 5m` waits until the condition has
//! held for five minutes. Alerts meant to fire at once (a constant, `absent(...)`, a
//! series that only exists in a bad state) are left alone, and so is a condition already
//! smoothed over time (`avg_over_time`, `max_over_time`, ...), and an explicit `for: 0s`
//! (someone decided). Info level: sometimes immediate is right.
//!
//! Example: `alert: HighErrorRate` with `expr: rate(errors_total[1m]) > 5` and no `for`.

use promql_parser::parser::Expr;

use super::alert_without_comparison::filters;
use super::expr::visit;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW212",
    name: "alert-without-for",
};
pub(crate) const SEVERITY: Severity = Severity::Info;

/// True when a value-threshold comparison decides the alert and nothing smooths it.
fn noisy(e: &Expr) -> bool {
    let mut compares = false;
    let mut smoothed = false;
    visit(e, None, &mut |n, _| match n {
        Expr::Binary(b) if b.op.is_comparison_operator() && !b.return_bool() => {
            compares = true;
        }
        Expr::Call(c) => {
            smoothed |= c.func.name.ends_with("_over_time")
                || matches!(c.func.name, "absent" | "changes" | "resets" | "time");
        }
        _ => {}
    });
    compares && !smoothed
}

pub(crate) fn check(rule: &RuleUnit, _cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    if !rule.is_alert() || !filters(ast) || !noisy(ast) {
        return Vec::new();
    }
    if rule.for_.is_some() {
        return Vec::new();
    }
    vec![
        rule.diag(
            CODE,
            SEVERITY,
            format!(
                "alert `{}` fires on the first evaluation over its threshold (no `for`)",
                rule.name.text
            ),
            rule.name.span.clone(),
        )
        .label("no `for`")
        .help("add `for: 5m` (or as long as a real problem takes to show) so a blip does not page"),
    ]
}
