//! PW111 matching-never-matches: a one-to-one binary operation between two vectors whose
//! label sets cannot agree, so no series finds a partner and the result is always empty
//! (`count(x) / sum by (job) (y)`: the left side has no labels, the right side a `job`).
//!
//! Why: Prometheus pairs series of the two sides whose labels (all of them, or those of
//! `on (...)`, or all but those of `ignoring (...)`) are equal; a series without a label
//! pairs only with one whose value for it is empty. An alert built on such an operation
//! never fires, a panel stays blank, and nothing says why.
//!
//! The labels each side keeps come from its aggregations (`by`, `without`, none), `on`,
//! `label_replace` and the types of recorded series; a side whose labels are not known is
//! not judged. A warning: a label kept by `by (...)` is empty on series that never had it.
//!
//! Example: `count(up == 0) / sum by (job) (up) > 0.5` (use `count by (job) (...)`).

use std::collections::BTreeSet;

use promql_parser::parser::{Expr, LabelModifier, VectorMatchCardinality};

use super::expr::visit;
use super::lint::{Cx, RuleUnit};
use super::typing::{Kind, LabelSet};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW111",
    name: "matching-never-matches",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

/// Why the two sides' label sets cannot agree, if they cannot.
fn disagreement(l: &LabelSet, r: &LabelSet, matching: Option<&LabelModifier>) -> Option<String> {
    let only = |s: &LabelSet| match s {
        LabelSet::Only(s) => Some(s.clone()),
        _ => None,
    };
    let list = |s: &BTreeSet<String>| {
        if s.is_empty() {
            "no labels".to_string()
        } else {
            s.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    match matching {
        Some(LabelModifier::Include(on)) => on.labels.iter().find_map(|label| {
            let kept = |s: &LabelSet| matches!(s, LabelSet::Only(k) if k.contains(label));
            match (kept(l), kept(r)) {
                (true, false) if r.drops(label) => Some(format!(
                    "`on ({label})`: the left side keeps `{label}`, the right side has {}",
                    r.describe()
                )),
                (false, true) if l.drops(label) => Some(format!(
                    "`on ({label})`: the right side keeps `{label}`, the left side has {}",
                    l.describe()
                )),
                _ => None,
            }
        }),
        other => {
            let (mut a, mut b) = (only(l)?, only(r)?);
            if let Some(LabelModifier::Exclude(ign)) = other {
                for x in &ign.labels {
                    a.remove(x);
                    b.remove(x);
                }
            }
            (a != b).then(|| {
                format!(
                    "the left side keeps {}, the right side {}",
                    list(&a),
                    list(&b)
                )
            })
        }
    }
}

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let mut out = Vec::new();
    visit(ast, None, &mut |e, _| {
        let Expr::Binary(b) = e else {
            return;
        };
        if b.op.is_set_operator() {
            return;
        }
        let card = b.modifier.as_ref().map(|m| &m.card);
        if !matches!(card, None | Some(VectorMatchCardinality::OneToOne)) {
            return;
        }
        let (l, r) = (cx.env.type_of(&b.lhs), cx.env.type_of(&b.rhs));
        if l.kind == Kind::Scalar || r.kind == Kind::Scalar {
            return;
        }
        let matching = b.modifier.as_ref().and_then(|m| m.matching.as_ref());
        let Some(why) = disagreement(&l.labels, &r.labels, matching) else {
            return;
        };
        out.push(
            rule.diag(
                CODE,
                SEVERITY,
                format!("`{}` never pairs a series: {why}", b.op),
                rule.expr.span.clone(),
            )
            .label("no series of one side can match the other")
            .help(
                "aggregate both sides by the same labels, or say which to match with `on (...)` (and `group_left` when one side has more)",
            ),
        );
    });
    out
}

#[cfg(test)]
mod tests {
    use super::super::knowledge::Knowledge;
    use super::super::typing::Env;
    use promql_parser::parser::Expr;

    fn never(src: &str) -> bool {
        let env = Env::new(Knowledge::default());
        let Expr::Binary(b) = promql_parser::parser::parse(src).unwrap() else {
            panic!("{src} is not a binary expression")
        };
        let m = b.modifier.as_ref().and_then(|m| m.matching.as_ref());
        super::disagreement(&env.type_of(&b.lhs).labels, &env.type_of(&b.rhs).labels, m).is_some()
    }

    #[test]
    fn sides_that_keep_different_labels_never_pair() {
        assert!(never("count(x) / sum by (job) (y)"));
        assert!(never("sum by (job) (x) / sum by (job, instance) (y)"));
        assert!(never(
            "sum by (job) (x) / on (instance) sum by (instance) (y)"
        ));
        assert!(!never("count(x) / count(y)"));
        assert!(!never("sum by (job) (x) / sum by (job) (y)"));
        assert!(!never(
            "sum by (job) (x) / ignoring (instance) sum by (job, instance) (y)"
        ));
        assert!(!never("sum by (job) (x) / on (job) y"));
        assert!(!never("x / y"));
        assert!(!never("sum(x) / y"));
    }
}
