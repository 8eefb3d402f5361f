//! PW206 unknown-severity: an alert's `severity` label must be one of the spec's
//! `severities:` (the vocabulary Alertmanager routes on).
//!
//! Why: Alertmanager routes on the severity; a value no route matches (`crit`, `Warning`)
//! falls through to the default receiver, or nowhere, and nobody is paged.
//!
//! Example: `labels: {severity: page}` when the spec says `severities: [info, warning,
//! high, critical]`.
//!
//! Runs only with `--spec`: without one, there is no vocabulary to hold severities to.

use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW206",
    name: "unknown-severity",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let Some(sev) = rule.labels.get("severity").filter(|_| rule.is_alert()) else {
        return Vec::new();
    };
    // Without a spec, severities are the team's own business.
    let Some(severities) = &cx.severities else {
        return Vec::new();
    };
    if severities.contains(&sev.text) {
        return Vec::new();
    }
    let guess = crate::model::did_you_mean(&sev.text, severities.iter().map(String::as_str));
    vec![
        rule.diag(
            CODE,
            SEVERITY,
            format!(
                "severity `{}` is not in the spec's vocabulary ({})",
                sev.text,
                severities.join(", ")
            ),
            sev.span.clone(),
        )
        .label(match guess {
            Some(g) => format!("did you mean `{g}`?"),
            None => "unknown severity".into(),
        })
        .help("Alertmanager routes on the severity; use one of the spec's `severities:`"),
    ]
}
