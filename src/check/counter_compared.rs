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
//! A declared type beats the name: with `--metrics` or `--metadata` saying `gauge`
//! (cAdvisor's `container_fs_inodes_total`), nothing is reported. Without one, a `_total`
//! that the same expression divides raw (`free / inodes_total`) is read as the capacity
//! gauge it is, not a counter.
//!
//! Example: `alert: BackupFailed` with `expr: backup_failures_total > 0`.

use super::lint::{Cx, RuleUnit};
use promql_parser::parser::Expr;
use promql_parser::parser::token::T_DIV;

use super::expr::{selector_name, thresholds, unparen, visit};
use super::typing::Kind;
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
        if divided_raw(ast, name) {
            continue;
        }
        out.push(
            rule.diag(
                CODE,
                SEVERITY,
                format!(
                    "counter `{name}` is compared raw: its total only grows until a restart (a counter by its `_total` name alone)"
                ),
                rule.expr_word(name),
            )
            .label("a total since the process started")
            .help(format!(
                "compare its increase over a window, e.g. `increase({name}[10m]) > 0`; if the exporter declares it a gauge, `--metrics`/`--metadata` say so"
            )),
        );
    }
    out
}

/// True when `name` is a side of a division somewhere in `e`, read raw (not through a
/// function): the author treats it as a quantity (`free / total`), which a counter is not.
fn divided_raw(e: &Expr, name: &str) -> bool {
    let mut found = false;
    visit(e, None, &mut |n, _| {
        let Expr::Binary(b) = n else {
            return;
        };
        if b.op.id() != T_DIV {
            return;
        }
        for side in [&b.lhs, &b.rhs] {
            let mut raw = false;
            raw_selectors(side, &mut |s| raw |= s == name);
            found |= raw;
        }
    });
    found
}

/// The names of the selectors `e` reads without a function between (through parentheses,
/// aggregations and arithmetic).
fn raw_selectors<'a>(e: &'a Expr, f: &mut impl FnMut(&'a str)) {
    match unparen(e) {
        Expr::VectorSelector(vs) => {
            if let Some(n) = vs.name.as_deref() {
                f(n)
            }
        }
        Expr::Aggregate(a) => raw_selectors(&a.expr, f),
        Expr::Binary(b) => {
            raw_selectors(&b.lhs, f);
            raw_selectors(&b.rhs, f);
        }
        _ => {}
    }
}
