//! PW202 template-syntax: an alert's annotation and label templates must parse as Go
//! templates: every `{{` closed by `}}`, strings and parentheses closed, `if`/`range`/`with`
//! closed by `{{ end }}`, variables defined before use.
//!
//! Why: Prometheus refuses to load a rule file whose templates do not parse, which takes
//! every rule of the file down at the next reload.
//!
//! Example: `description: "Pool at {{ $value | humanizePercentage } utilization"`.

use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW202",
    name: "template-syntax",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

pub(crate) fn check(rule: &RuleUnit, _cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (what, key, text, scanned) in rule.templates() {
        for (range, msg) in &scanned.errors {
            out.push(
                rule.diag(
                    CODE,
                    SEVERITY,
                    format!("{what} `{key}` is not a valid template: {msg}"),
                    text.sub(range.clone()),
                )
                .label("here")
                .help("Prometheus rejects the whole rule file when one template does not parse; see https://prometheus.io/docs/prometheus/latest/configuration/template_reference/"),
            );
        }
    }
    out
}
