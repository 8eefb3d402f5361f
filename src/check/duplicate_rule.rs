//! PW209 duplicate-rule: two recording rules of a group with the same name and the same
//! static labels write the same series; two alerts of a group are exact copies.
//!
//! Why: for recording rules, the second overwrites the first's samples at every evaluation
//! (Prometheus logs "duplicate sample"); for alerts, the two fight over one alert's state.
//! Usually a copy-paste left behind when a rule was edited.
//!
//! Rules that share a name but select different values of a label their result keeps
//! (`code=~"2.."` in one, `code=~"5.."` in the next, both `sum by (code, ...)`) write
//! different series, a common way to build one series family from several expressions,
//! and are left alone.
//!
//! Example: two `record: job:errors:rate5m` entries in one group, both with
//! `labels: {team: db}`.

use std::collections::BTreeMap;

use promql_parser::parser::Expr;

use super::expr::visit;
use super::lint::{Cx, RuleUnit, UnitKind};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW209",
    name: "duplicate-rule",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// File, group, alert or not, name, static labels: what makes two rules write the same
/// series.
type RuleKey<'a> = (
    Option<usize>,
    &'a str,
    UnitKind,
    &'a str,
    Vec<(&'a str, &'a str)>,
);

/// The label matchers of an expression's selectors: (label, operator, value), sorted.
fn matchers(e: &Expr) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    visit(e, None, &mut |n, _| {
        let vs = match n {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            _ => return,
        };
        for m in &vs.matchers.matchers {
            if m.name != "__name__" {
                out.push((m.name.clone(), m.op.to_string(), m.value.clone()));
            }
        }
    });
    out.sort();
    out.dedup();
    out
}

/// True when the two rules select different values of a label both results keep, so
/// they write different series.
fn disjoint(a: &RuleUnit, b: &RuleUnit, cx: &Cx) -> bool {
    let (Ok(ea), Ok(eb)) = (&a.ast, &b.ast) else {
        return false;
    };
    let (la, lb) = (cx.env.type_of(ea).labels, cx.env.type_of(eb).labels);
    let (ma, mb) = (matchers(ea), matchers(eb));
    ma.iter().any(|(label, op, value)| {
        !la.drops(label)
            && !lb.drops(label)
            && mb
                .iter()
                .any(|(l2, op2, v2)| l2 == label && (op2 != op || v2 != value))
            && !mb
                .iter()
                .any(|(l2, op2, v2)| l2 == label && op2 == op && v2 == value)
    })
}

pub(crate) fn check_all(rules: &[RuleUnit], cx: &Cx) -> Vec<Diagnostic> {
    let mut seen: BTreeMap<RuleKey<'_>, &RuleUnit> = BTreeMap::new();
    let mut out = Vec::new();
    for r in rules.iter().filter(|r| r.kind != UnitKind::Query) {
        let labels: Vec<(&str, &str)> = r
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), &*v.text))
            .collect();
        let file = r.name.span.as_ref().map(|s| s.file.0);
        let key = (file, &*r.group, r.kind, &*r.name.text, labels);
        match seen.get(&key) {
            None => {
                seen.insert(key, r);
            }
            Some(first) => {
                let same_expr = match (&first.ast, &r.ast) {
                    (Ok(a), Ok(b)) => a.to_string() == b.to_string(),
                    _ => first.expr.text == r.expr.text,
                };
                // Alerts may share a name and labels on purpose (one alert, several
                // conditions); only an identical copy is a mistake.
                if r.is_alert() && !same_expr {
                    continue;
                }
                if !same_expr && disjoint(first, r, cx) {
                    continue;
                }
                out.push(
                    r.diag(
                        CODE,
                        SEVERITY,
                        format!(
                            "{} `{}` is defined twice in group `{}` with the same labels{}",
                            r.kind_word(),
                            r.name.text,
                            r.group,
                            if same_expr {
                                " and the same expression"
                            } else {
                                ""
                            }
                        ),
                        r.name.span.clone(),
                    )
                    .label("second definition")
                    .help(if same_expr {
                        "delete one of the two"
                    } else {
                        "rename one, or give them different labels: both write the same series"
                    }),
                );
            }
        }
    }
    out
}
