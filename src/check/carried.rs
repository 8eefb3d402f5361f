//! The labels an expression's series can ever carry, from what is known of each metric's
//! labels (a spec's catalog, an exposition): a selector carries its family's labels and the
//! target's `job` and `instance`; aggregations, vector matching and `label_replace` change
//! that set as Prometheus does. `None` when any series the expression reads has labels that
//! are not known, so every answer is a superset of what Prometheus would return.

use std::collections::BTreeSet;

use promql_parser::parser::token::{T_BOTTOMK, T_COUNT_VALUES, T_LIMIT_RATIO, T_LIMITK, T_TOPK};
use promql_parser::parser::{Expr, LabelModifier, VectorMatchCardinality, VectorSelector};

use super::knowledge::{Family, strip_series_suffix};
use super::lint::Cx;
use super::typing::{Kind, LabelSet};
use crate::model::TARGET_LABELS;

pub(crate) type Labels = BTreeSet<String>;

/// The family a series name belongs to, when its labels are known; and the suffix.
pub(crate) fn family_of<'c>(cx: &'c Cx, name: &'c str) -> Option<(&'c Family, &'c str)> {
    let k = &cx.env.knowledge;
    let (base, suffix) = strip_series_suffix(name);
    let f = k
        .family(name)
        .map(|f| (f, ""))
        .or_else(|| k.family(base).map(|f| (f, suffix)))?;
    f.0.labels.is_some().then_some(f)
}

/// True when a series of the family may carry `label`.
pub(crate) fn family_carries(f: &Family, label: &str) -> bool {
    TARGET_LABELS.contains(&label) || f.labels.as_ref().is_some_and(|l| l.contains(label))
}

fn selector(cx: &Cx, vs: &VectorSelector) -> Option<Labels> {
    let name = vs.name.as_deref()?;
    if let Some((f, _)) = family_of(cx, name) {
        let mut out: Labels = f.labels.clone()?.into_iter().collect();
        out.extend(TARGET_LABELS.iter().map(|l| l.to_string()));
        return Some(out);
    }
    // A series recorded by the same file set: the labels its rule keeps, when it says.
    match &cx.env.recorded.get(name)?.labels {
        LabelSet::Only(s) => Some(s.clone()),
        _ => None,
    }
}

fn string_arg(e: &Expr) -> Option<&str> {
    match e {
        Expr::StringLiteral(s) => Some(&s.val),
        _ => None,
    }
}

/// The labels `e`'s series can ever carry; `None` when not known.
pub(crate) fn carried(cx: &Cx, e: &Expr) -> Option<Labels> {
    match e {
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Some(Labels::new()),
        Expr::VectorSelector(vs) => selector(cx, vs),
        Expr::MatrixSelector(ms) => selector(cx, &ms.vs),
        Expr::Paren(p) => carried(cx, &p.expr),
        Expr::Unary(u) => carried(cx, &u.expr),
        Expr::Subquery(s) => carried(cx, &s.expr),
        Expr::Aggregate(a) => {
            let inner = carried(cx, &a.expr)?;
            if matches!(a.op.id(), T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO) {
                return Some(inner);
            }
            let mut out: Labels = match &a.modifier {
                None => Labels::new(),
                Some(LabelModifier::Include(by)) => inner
                    .into_iter()
                    .filter(|l| by.labels.contains(l))
                    .collect(),
                Some(LabelModifier::Exclude(w)) => inner
                    .into_iter()
                    .filter(|l| !w.labels.contains(l))
                    .collect(),
            };
            if a.op.id() == T_COUNT_VALUES {
                out.insert(string_arg(a.param.as_deref()?)?.to_string());
            }
            Some(out)
        }
        Expr::Call(c) => {
            let args = &c.args.args;
            match c.func.name {
                "label_replace" | "label_join" => {
                    let mut out = carried(cx, args.first()?)?;
                    out.insert(string_arg(args.get(1)?)?.to_string());
                    Some(out)
                }
                "histogram_quantile" | "histogram_fraction" => {
                    let mut out = carried(cx, args.last()?)?;
                    out.remove("le");
                    Some(out)
                }
                "quantile_over_time" => carried(cx, args.get(1)?),
                // Series built from matchers, or from another source's labels.
                "absent" | "absent_over_time" | "info" => None,
                _ => args.first().map_or(Some(Labels::new()), |a| carried(cx, a)),
            }
        }
        Expr::Binary(b) => {
            let scalar = |e: &Expr| cx.env.type_of(e).kind == Kind::Scalar;
            let (ls, rs) = (scalar(&b.lhs), scalar(&b.rhs));
            if ls || rs {
                return match (ls, rs) {
                    (true, true) => Some(Labels::new()),
                    (true, false) => carried(cx, &b.rhs),
                    _ => carried(cx, &b.lhs),
                };
            }
            let (l, r) = (carried(cx, &b.lhs)?, carried(cx, &b.rhs)?);
            if b.op.is_set_operator() {
                return Some(if b.op.to_string() == "or" {
                    l.union(&r).cloned().collect()
                } else {
                    l
                });
            }
            let m = b.modifier.as_ref();
            Some(match m.map(|m| &m.card) {
                Some(VectorMatchCardinality::ManyToOne(add)) => {
                    l.into_iter().chain(add.labels.iter().cloned()).collect()
                }
                Some(VectorMatchCardinality::OneToMany(add)) => {
                    r.into_iter().chain(add.labels.iter().cloned()).collect()
                }
                _ => match m.and_then(|m| m.matching.as_ref()) {
                    Some(LabelModifier::Include(on)) => {
                        l.into_iter().filter(|x| on.labels.contains(x)).collect()
                    }
                    Some(LabelModifier::Exclude(ign)) => {
                        l.into_iter().filter(|x| !ign.labels.contains(x)).collect()
                    }
                    None => l,
                },
            })
        }
        _ => None,
    }
}

/// A short name for what an expression reads: "`metric`" when it reads one series name,
/// otherwise `side`.
pub(crate) fn describe(e: &Expr, side: &str) -> String {
    let mut names = BTreeSet::new();
    super::expr::visit(e, None, &mut |n, _| {
        if let Some(name) = super::expr::selector_name(n) {
            names.insert(name);
        }
    });
    match names.len() {
        1 => format!("`{}`", names.first().unwrap_or(&"")),
        _ => side.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::knowledge::{Knowledge, Provenance, parse_exposition};
    use super::*;

    fn cx() -> Cx {
        let mut k = Knowledge::default();
        let families = parse_exposition(
            "# TYPE a gauge\na{pool=\"x\"} 1\n# TYPE h histogram\nh_bucket{pool=\"x\",le=\"1\"} 1\nh_bucket{pool=\"x\",le=\"+Inf\"} 1\nh_count{pool=\"x\"} 1\nh_sum{pool=\"x\"} 1\n",
        )
        .unwrap();
        k.merge(Provenance::Exposition, families);
        Cx::new(k, None, &[])
    }

    fn labels(src: &str) -> Option<Vec<String>> {
        let e = promql_parser::parser::parse(src).unwrap();
        carried(&cx(), &e).map(|s| s.into_iter().collect())
    }

    #[test]
    fn what_each_form_keeps() {
        let v = |s: &[&str]| Some(s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(labels("a"), v(&["instance", "job", "pool"]));
        assert_eq!(labels("sum by (pool, db) (a)"), v(&["pool"]));
        assert_eq!(labels("sum(rate(a[5m]))"), v(&[]));
        assert_eq!(
            labels("topk by (job) (3, a)"),
            v(&["instance", "job", "pool"])
        );
        assert_eq!(
            labels("label_replace(a, \"db\", \"$1\", \"pool\", \"(.*)\")"),
            v(&["db", "instance", "job", "pool"])
        );
        assert_eq!(
            labels("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))"),
            v(&[])
        );
        assert_eq!(labels("a / on (pool) a"), v(&["pool"]));
        assert_eq!(labels("count_values(\"v\", a)"), v(&["v"]));
        assert_eq!(labels("a * 2"), v(&["instance", "job", "pool"]));
        assert_eq!(labels("a + unknown_metric"), None);
        assert_eq!(labels("absent(a{db=\"x\"})"), None);
    }
}
