//! PW112 unknown-label: a selector needs a label its metric never carries
//! (`pool_up{status="down"}` on a metric whose series have only `pool`), a `by (...)`
//! groups by one, or an `le` matcher names a bound that is not one of the histogram's
//! buckets. Judged with `--metrics` (the labels of every sample of the exposition, plus
//! the target's `job` and `instance`) or a spec's catalog (each metric's `labels:`).
//!
//! Why: a matcher that needs a value of a label no series has selects nothing, so the
//! alert can never fire; a `by (...)` over a missing label groups everything under an
//! empty value; `le="0.3"` where the buckets are 0.25 and 0.5 is always empty. Exporters
//! rename labels between versions, and nothing else says a word when they do.
//!
//! Certain, and an error, against a spec's catalog (its metrics declare every label the
//! rules may use). Likely, and a warning, against an exposition: relabeling may add
//! labels a saved `/metrics` page cannot show. A matcher that accepts an empty value
//! (`x!="a"`, `x=~".*"`) holds on series without the label and is not reported.
//!
//! Example: `sum by (pool) (k2_connection_pool_size{status="down"})` where the
//! exposition's series carry `pool` only.

use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, LabelModifier, VectorSelector};

use super::expr::{unparen, visit};
use super::knowledge::{Family, Provenance, strip_series_suffix};
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};
use crate::model::TARGET_LABELS;

pub(crate) const CODE: Code = Code {
    code: "PW112",
    name: "unknown-label",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// The family a series name belongs to, when its labels are known; and the suffix.
fn family_of<'c>(cx: &'c Cx, name: &'c str) -> Option<(&'c Family, &'c str)> {
    let k = &cx.env.knowledge;
    let (base, suffix) = strip_series_suffix(name);
    let f = k
        .family(name)
        .map(|f| (f, ""))
        .or_else(|| k.family(base).map(|f| (f, suffix)))?;
    f.0.labels.is_some().then_some(f)
}

fn carries(f: &Family, label: &str) -> bool {
    TARGET_LABELS.contains(&label) || f.labels.as_ref().is_some_and(|l| l.contains(label))
}

/// The selector an aggregation reads directly (through parentheses and calls such as
/// `rate(...)` that keep its labels; not `label_replace`/`label_join`, which add one).
fn read_selector(e: &Expr) -> Option<&VectorSelector> {
    match unparen(e) {
        Expr::VectorSelector(vs) => Some(vs),
        Expr::MatrixSelector(ms) => Some(&ms.vs),
        Expr::Call(c) if !c.func.name.starts_with("label_") => {
            c.args.args.iter().find_map(|a| read_selector(a))
        }
        _ => None,
    }
}

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let k = &cx.env.knowledge;
    if !k
        .provenance
        .iter()
        .any(|p| matches!(p, Provenance::Spec | Provenance::Exposition))
    {
        return Vec::new();
    }
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let closed = k.is_closed();
    let severity = if closed { SEVERITY } else { Severity::Warning };
    let words = |bucket: bool| match (closed, bucket) {
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
    let mut out = Vec::new();
    let mut report = |message: String, at: &str, label: &str, bucket: bool| {
        let (how, help) = words(bucket);
        out.push(
            rule.diag(
                CODE,
                severity,
                format!("{message} ({how})"),
                rule.expr_word(at),
            )
            .label(label.to_string())
            .help(help),
        );
    };
    visit(ast, None, &mut |e, _| {
        let vs = match e {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            Expr::Aggregate(a) => {
                if let Some(LabelModifier::Include(by)) = &a.modifier
                    && let Some(vs) = read_selector(&a.expr)
                    && let Some(name) = vs.name.as_deref()
                    && let Some((f, _)) = family_of(cx, name)
                {
                    for l in by.labels.iter().filter(|l| !carries(f, l)) {
                        report(
                            format!("`by ({l})`: no series of `{name}` carries `{l}`"),
                            l,
                            "groups by a label the metric never has",
                            false,
                        );
                    }
                }
                return;
            }
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
            if !carries(f, &m.name) {
                report(
                    format!(
                        "`{name}` never carries `{}`, so `{}{}\"{}\"` selects nothing",
                        m.name, m.name, m.op, m.value
                    ),
                    &m.name,
                    "a label this metric never has",
                    false,
                );
            } else if m.name == "le"
                && suffix == "_bucket"
                && matches!(m.op, MatchOp::Equal)
                && !f.buckets.is_empty()
                && let Ok(v) = m.value.parse::<f64>()
                && v.is_finite()
                && !f.buckets.contains(&v)
            {
                let bounds: Vec<String> = f.buckets.iter().map(|b| b.to_string()).collect();
                report(
                    format!(
                        "`{name}` has no bucket `le=\"{}\"` (its bounds: {})",
                        m.value,
                        bounds.join(", ")
                    ),
                    "le",
                    "not a bucket bound",
                    true,
                );
            }
        }
    });
    out
}
