//! PW204 label-aggregated-away: a template reads `$labels.X` but the alert's expression
//! aggregates `X` away (`sum by (job) (...)` without `X`, `sum(...)` with no `by`,
//! `without (X)`, or a binary operation matching `on (...)` other labels).
//!
//! Why: the label is not on the alert's series, so the text prints an empty value
//! (`Pool  is exhausted`) exactly when someone needs to know which pool it is.
//!
//! Example: `expr: sum(rate(errors_total[5m])) > 0` with
//! `summary: "Errors on {{ $labels.instance }}"`.

use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW204",
    name: "label-aggregated-away",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if !rule.is_alert() {
        return out;
    }
    let labels = cx.labels_of(rule);
    for (what, key, text, scanned) in rule.templates() {
        for (label, range) in scanned.label_reads() {
            if !labels.drops(label) {
                continue;
            }
            out.push(
                rule.diag(
                    CODE,
                    SEVERITY,
                    format!(
                        "{what} `{key}` reads `$labels.{label}`, but the expression's series keep {}",
                        labels.describe()
                    ),
                    text.sub(range),
                )
                .label("always empty")
                .help(format!(
                    "keep the label in the aggregation (`by ({label}, ...)`), or drop it from the text"
                )),
            );
        }
    }
    out
}
