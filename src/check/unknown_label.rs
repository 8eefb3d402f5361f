//! PW112 unknown-label: a selector needs a label its metric never carries
//! (`pool_up{status="down"}` on a metric whose series have only `pool`), a `by (...)`,
//! `on (...)`, `ignoring (...)` or `group_left (...)` names one no series of its side can
//! carry, an alert's template reads `$labels.x` for a label its expression's series never
//! have, a dashboard variable's `label_values(metric, label)` asks for a label the metric
//! lacks, or an `le` matcher names a bound that is not one of the histogram's buckets.
//! Judged with `--metrics` (the labels of every sample of the exposition, plus the target's
//! `job` and `instance`) or a spec's catalog (each metric's `labels:`), through
//! aggregations, vector matching and `label_replace` (a side reading a series whose labels
//! are not known is not judged).
//!
//! Why: a matcher that needs a value of a label no series has selects nothing, so the
//! alert can never fire; a `by (...)` over a missing label groups everything under an
//! empty value; `on (x)` over a label one side never has pairs nothing; `$labels.x` prints
//! an empty value; a `label_values` drop-down stays empty; `le="0.3"` where the buckets are
//! 0.25 and 0.5 is always empty. Exporters rename labels between versions, and nothing
//! else says a word when they do.
//!
//! Certain, and an error, against a spec's catalog (its metrics declare every label the
//! rules may use). Likely, and a warning, against an exposition: relabeling may add
//! labels a saved `/metrics` page cannot show; give one `--metrics` file per job for a
//! complete picture. A matcher that accepts an empty value (`x!="a"`, `x=~".*"`) holds on
//! series without the label and is not reported. A label an aggregation of the expression
//! itself drops is PW111's (`on`) or PW204's (`$labels`) finding, not this one's.
//!
//! Example: `sum by (pool) (k2_connection_pool_size{status="down"})` where the
//! exposition's series carry `pool` only.

use promql_parser::label::MatchOp;
use promql_parser::parser::{BinaryExpr, Expr, LabelModifier, VectorMatchCardinality};

use super::carried::{Labels, carried, describe, family_carries, family_of};
use super::dashboard::DashboardDoc;
use super::expr::visit;
use super::knowledge::Provenance;
use super::lint::{Cx, RuleUnit};
use super::typing::Ty;
use crate::diag::{Code, Diagnostic, Severity};
use crate::source::Span;

pub(crate) const CODE: Code = Code {
    code: "PW112",
    name: "unknown-label",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// True when something says which labels metrics carry (a catalog or an exposition).
fn knows_labels(cx: &Cx) -> bool {
    cx.env
        .knowledge
        .provenance
        .iter()
        .any(|p| matches!(p, Provenance::Spec | Provenance::Exposition))
}

/// The level, how sure the finding is, and the fix, from what is known.
fn words(cx: &Cx, bucket: bool) -> (Severity, &'static str, &'static str) {
    let closed = cx.env.knowledge.is_closed();
    let severity = if closed { SEVERITY } else { Severity::Warning };
    let (how, help) = match (closed, bucket) {
        (true, false) => (
            "certain: the catalog declares every label",
            "use a label the catalog declares, or declare it",
        ),
        (true, true) => (
            "certain: the catalog declares the buckets",
            "use one of the bounds",
        ),
        (false, false) => (
            "likely: no sample of the exposition has it; relabeling may still add it",
            "use a label the metric carries (`--metrics` lists them), or check whether the exporter renamed it",
        ),
        (false, true) => (
            "likely: the exposition's histogram has no such bound",
            "use one of the bounds, or check whether the buckets changed",
        ),
    };
    (severity, how, help)
}

/// A finding: its message, where, the label under the caret, whether about buckets.
struct Found {
    message: String,
    at: Option<Span>,
    label: &'static str,
    bucket: bool,
}

/// What is known of an expression's series: the labels they can carry (None: not known)
/// and its type (which labels its aggregations drop). Worked out once per expression, then
/// asked of every label a rule names.
struct LabelReach {
    carried: Option<Labels>,
    ty: Ty,
}

impl LabelReach {
    fn of(cx: &Cx, e: &Expr) -> Self {
        Self {
            carried: carried(cx, e),
            ty: cx.env.type_of(e),
        }
    }

    /// True when the series can never carry `label` by what is known of their metrics,
    /// and not because an aggregation drops it (that is PW111's and PW204's to say).
    fn never_carries(&self, label: &str) -> bool {
        self.carried.as_ref().is_some_and(|s| !s.contains(label)) && !self.ty.labels.drops(label)
    }
}

fn side(e: &Expr, which: &str) -> String {
    let what = describe(e, "");
    if what.is_empty() {
        format!("the {which} side")
    } else {
        format!("the {which} side ({what})")
    }
}

/// `on`, `ignoring`, `group_left`/`group_right` labels no series of a side can carry.
fn matching(cx: &Cx, rule: &RuleUnit, b: &BinaryExpr, out: &mut Vec<Found>) {
    let Some(m) = &b.modifier else {
        return;
    };
    let reach = [LabelReach::of(cx, &b.lhs), LabelReach::of(cx, &b.rhs)];
    if reach
        .iter()
        .any(|r| r.ty.kind == super::typing::Kind::Scalar)
    {
        return;
    }
    let sides = [(&*b.lhs, "left", &reach[0]), (&*b.rhs, "right", &reach[1])];
    match &m.matching {
        Some(LabelModifier::Include(on)) => {
            for l in &on.labels {
                let lacking: Vec<String> = sides
                    .iter()
                    .filter(|(_, _, r)| r.never_carries(l))
                    .map(|(e, w, _)| side(e, w))
                    .collect();
                if sides.iter().any(|(_, _, r)| r.ty.labels.drops(l)) {
                    continue;
                }
                let message = match lacking.as_slice() {
                    [] => continue,
                    [one] => format!(
                        "`on ({l})`: no series of {one} carries `{l}`, so `{}` pairs no series",
                        b.op
                    ),
                    _ => format!(
                        "`on ({l})`: neither side carries `{l}`, so the operation matches on nothing"
                    ),
                };
                out.push(Found {
                    message,
                    at: rule.expr_word(l),
                    label: "a label a side never has",
                    bucket: false,
                });
            }
        }
        Some(LabelModifier::Exclude(ign)) => {
            for l in &ign.labels {
                if sides.iter().all(|(_, _, r)| r.never_carries(l)) {
                    out.push(Found {
                        message: format!(
                            "`ignoring ({l})`: neither side carries `{l}`, so it ignores nothing"
                        ),
                        at: rule.expr_word(l),
                        label: "a label neither side has",
                        bucket: false,
                    });
                }
            }
        }
        None => {}
    }
    let (word, copied, one) = match &m.card {
        VectorMatchCardinality::ManyToOne(ls) => ("group_left", ls, sides[1]),
        VectorMatchCardinality::OneToMany(ls) => ("group_right", ls, sides[0]),
        _ => return,
    };
    for l in &copied.labels {
        if one.2.never_carries(l) {
            out.push(Found {
                message: format!(
                    "`{word} ({l})`: no series of {} carries `{l}`, so it copies nothing",
                    side(one.0, one.1)
                ),
                at: rule.expr_word(l),
                label: "a label the other side never has",
                bucket: false,
            });
        }
    }
}

/// The matchers of one selector: labels its metric never carries, `le` bounds that are not
/// buckets.
fn selector(cx: &Cx, rule: &RuleUnit, e: &Expr, out: &mut Vec<Found>) {
    let vs = match e {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return,
    };
    let Some(name) = vs.name.as_deref() else {
        return;
    };
    let Some((f, suffix)) = family_of(cx, name) else {
        return;
    };
    for m in &vs.matchers.matchers {
        if m.name == "__name__" || m.is_match("") {
            continue;
        }
        if !family_carries(f, &m.name) {
            out.push(Found {
                message: format!(
                    "`{name}` never carries `{}`, so `{}{}\"{}\"` selects nothing",
                    m.name, m.name, m.op, m.value
                ),
                at: rule.expr_word(&m.name),
                label: "a label this metric never has",
                bucket: false,
            });
        } else if m.name == "le"
            && suffix == "_bucket"
            && matches!(m.op, MatchOp::Equal)
            && !f.buckets.is_empty()
            && let Ok(v) = m.value.parse::<f64>()
            && v.is_finite()
            && !f.buckets.contains(&v)
        {
            let bounds: Vec<String> = f.buckets.iter().map(|b| b.to_string()).collect();
            out.push(Found {
                message: format!(
                    "`{name}` has no bucket `le=\"{}\"` (its bounds: {})",
                    m.value,
                    bounds.join(", ")
                ),
                at: rule.expr_word("le"),
                label: "not a bucket bound",
                bucket: true,
            });
        }
    }
}

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    if !knows_labels(cx) {
        return Vec::new();
    }
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let mut found = Vec::new();
    visit(ast, None, &mut |e, _| match e {
        Expr::Aggregate(a) => {
            if let Some(LabelModifier::Include(by)) = &a.modifier {
                let reach = LabelReach::of(cx, &a.expr);
                for l in by.labels.iter().filter(|l| reach.never_carries(l)) {
                    found.push(Found {
                        message: format!(
                            "`by ({l})`: no series of {} carries `{l}`",
                            describe(&a.expr, "its input")
                        ),
                        at: rule.expr_word(l),
                        label: "groups by a label the metric never has",
                        bucket: false,
                    });
                }
            }
        }
        Expr::Binary(b) => matching(cx, rule, b, &mut found),
        _ => selector(cx, rule, e, &mut found),
    });
    let reach = rule.is_alert().then(|| LabelReach::of(cx, ast));
    if let Some(reach) = reach.filter(|r| r.carried.is_some()) {
        for (what, key, text, scanned) in rule.templates() {
            for (label, range) in scanned.label_reads() {
                if label.starts_with("__") || !reach.never_carries(label) {
                    continue;
                }
                found.push(Found {
                    message: format!(
                        "{what} `{key}` reads `$labels.{label}`, but no series of {} carries `{label}`",
                        describe(ast, "the expression")
                    ),
                    at: text.sub(range),
                    label: "always empty",
                    bucket: false,
                });
            }
        }
    }
    found
        .into_iter()
        .map(|f| {
            let (severity, how, help) = words(cx, f.bucket);
            rule.diag(CODE, severity, format!("{} ({how})", f.message), f.at)
                .label(f.label)
                .help(help)
        })
        .collect()
}

/// Dashboard variables `label_values(metric, label)` over a label the metric never
/// carries (run with the variable queries' own check, PW307, which parses them).
pub(crate) fn check_variable(
    doc: &DashboardDoc,
    cx: &Cx,
    name: &str,
    query: &str,
    selector: &Expr,
) -> Option<Diagnostic> {
    if !knows_labels(cx) {
        return None;
    }
    let label = query.trim().strip_suffix(')')?.rsplit_once(',')?.1.trim();
    let metric = super::expr::selector_name(selector)?;
    let (f, _) = family_of(cx, metric)?;
    if family_carries(f, label) {
        return None;
    }
    let (severity, how, help) = words(cx, false);
    let needle = serde_json::to_string(query).unwrap_or_default();
    Some(
        Diagnostic::new(
            CODE,
            severity,
            format!(
                "variable `{name}`: `{metric}` never carries `{label}`, so `label_values` lists nothing ({how})"
            ),
        )
        .at(doc.locate_anywhere(&needle))
        .object(format!("variable {name}"))
        .label("a label this metric never has")
        .help(help),
    )
}
