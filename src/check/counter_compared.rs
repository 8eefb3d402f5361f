//! PW108 counter-compared: a counter's raw value is compared with a number
//! (`errors_total > 0`).
//!
//! Why: a counter is the total since its process started. `errors_total > 0` is true from
//! the first error ever until the next restart, so the alert fires for days about one old
//! event, and stops on a restart that fixed nothing. Compare the increase over a window:
//! `increase(errors_total[10m]) > 0`.
//!
//! PW104 reports every raw use of a counter known from a catalog, `--metrics` or
//! `--metadata`; this check covers the comparison, the usual mistake, when only the
//! `_total` name says it is a counter (a warning: old exporters name other things so).
//!
//! Example: `alert: BackupFailed` with `expr: backup_failures_total > 0`.

use super::lint::{Cx, RuleUnit};
use super::typing::{Kind, selector_name, thresholds, visit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW108",
    name: "counter-compared",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // `== 0` asks whether anything happened at all since the start: a fair question.
    for t in thresholds(ast)
        .into_iter()
        .filter(|t| !matches!(t.op, "==" | "!="))
    {
        let ty = cx.env.type_of(t.expr);
        if ty.kind != Kind::Counter || ty.exact {
            continue;
        }
        // The counter read raw: the first selector of the compared side.
        let mut name = None;
        visit(t.expr, None, &mut |n, _| {
            if name.is_none() {
                name = selector_name(n);
            }
        });
        let name = name.unwrap_or("the counter");
        out.push(
            rule.diag(
                CODE,
                SEVERITY,
                format!("counter `{name}` is compared raw: its total only grows until a restart"),
                rule.expr_word(name),
            )
            .label("a total since the process started")
            .help(format!(
                "compare its increase over a window, e.g. `increase({name}[10m]) > 0`"
            )),
        );
    }
    out
}
