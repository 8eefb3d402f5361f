//! PW201 invalid-duration: `for`, `keep_firing_for` and a group's `interval` and
//! `query_offset` must be Prometheus durations (`5m`, `1h30m`, `250ms`).
//!
//! Why: Prometheus refuses to load a rule file with a bad duration, which takes every rule
//! of the file down with it at the next reload.
//!
//! Example: `for: 5 minutes`, or `for: 1m30` (a number without a unit).

use super::lint::{Cx, GroupDurations, Located, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};
use crate::model::PromDuration;

pub(crate) const CODE: Code = Code {
    code: "PW201",
    name: "invalid-duration",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

fn one(field: &str, v: &Located, object: &str) -> Option<Diagnostic> {
    let e = PromDuration::parse(v.text.trim()).err()?;
    Some(
        Diagnostic::error(CODE, format!("`{field}` is not a duration: {e}"))
            .at(v.span.clone())
            .label("not a Prometheus duration")
            .object(object.to_string())
            .help("write a number and a unit (ms, s, m, h, d, w, y), largest unit first: `5m`, `1h30m`"),
    )
}

pub(crate) fn check(rule: &RuleUnit, _cx: &Cx) -> Vec<Diagnostic> {
    [
        ("for", &rule.for_),
        ("keep_firing_for", &rule.keep_firing_for),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.as_ref().and_then(|v| one(f, v, &rule.object)))
    .collect()
}

/// The groups' own durations.
pub(crate) fn check_groups(groups: &[GroupDurations]) -> Vec<Diagnostic> {
    groups
        .iter()
        .flat_map(|g| g.durations.iter().filter_map(|(f, v)| one(f, v, &g.object)))
        .collect()
}
