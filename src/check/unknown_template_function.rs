//! PW203 unknown-template-function: templates may only call Prometheus's template
//! functions (`humanize`, `humanize1024`, `humanizeDuration`, `humanizePercentage`,
//! `humanizeTimestamp`, `printf`, `query`, `first`, `value`, `label`, `reReplaceAll`,
//! `match`, `title`, `toUpper`, `toLower`, `safeHtml`, `stripPort`, `args`, `tableLink`,
//! `graphLink`, `externalURL`, `pathPrefix`, `strvalue`, `sortByLabel`, ...) and Go's
//! built-ins (`printf`, `len`, `index`, `eq`, ...).
//!
//! Why: Go templates resolve functions when the template is parsed; an unknown one makes
//! Prometheus reject the whole rule file.
//!
//! Example: `{{ $value | humanizePercent }}` (the function is `humanizePercentage`).

use super::go_template::FUNCTIONS;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW203",
    name: "unknown-template-function",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

pub(crate) fn check(rule: &RuleUnit, _cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (what, key, text, scanned) in rule.templates() {
        for tok in scanned.unknown_functions() {
            let guess = crate::model::did_you_mean(&tok.text, FUNCTIONS.iter().copied());
            let mut d = rule
                .diag(
                    CODE,
                    SEVERITY,
                    format!(
                        "{what} `{key}` calls `{}`, which is not a template function",
                        tok.text
                    ),
                    text.sub(tok.range.clone()),
                )
                .label(match guess {
                    Some(g) => format!("did you mean `{g}`?"),
                    None => "unknown function".into(),
                });
            if tok.text.chars().next().is_some_and(char::is_uppercase) {
                d = d.help(format!("to read a label write `$labels.{}`", tok.text));
            } else {
                d = d.help("`poolwatch check --explain PW203` lists the template functions Prometheus knows");
            }
            out.push(d);
        }
    }
    out
}
