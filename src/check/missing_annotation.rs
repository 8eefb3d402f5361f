//! PW207 missing-annotation: every alert needs a `summary` and a `runbook_url` annotation.
//!
//! Why: the summary is the one line a pager shows; the runbook link is what the on-call
//! engineer opens at 3am. An alert without them gets ignored or escalated blindly.
//! (`runbook` is not `runbook_url`: Alertmanager templates and Grafana look for the latter.)
//!
//! A missing `runbook_url` is reported with `--spec` (a spec sets the runbook), or when
//! the runbook is under another key (`runbook:`); without a spec whether alerts link
//! runbooks is the team's choice.
//!
//! Example: `annotations: {description: "...", runbook: docs/pool.md}`.

use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW207",
    name: "missing-annotation",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    if !rule.is_alert() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for key in ["summary", "runbook_url"] {
        if rule
            .annotations
            .get(key)
            .is_some_and(|v| !v.text.trim().is_empty())
        {
            continue;
        }
        let near = if key == "runbook_url" {
            rule.annotations.get("runbook")
        } else {
            None
        };
        // Whether every alert links a runbook is a team's choice, made in a spec; a
        // runbook under the wrong key is a mistake whoever made the choice.
        if key == "runbook_url" && near.is_none() && !cx.env.knowledge.is_closed() {
            continue;
        }
        let mut d = rule
            .diag(
                CODE,
                SEVERITY,
                format!("alert `{}` has no `{key}` annotation", rule.name.text),
                near.and_then(|n| n.span.clone()),
            )
            .label(if near.is_some() {
                "this is `runbook`, not `runbook_url`"
            } else {
                "alert defined here"
            });
        d = d.help(if key == "summary" {
            "add `summary:` with one line saying what is wrong"
        } else {
            "add `runbook_url:` linking to the runbook section for this alert"
        });
        out.push(d);
    }
    out
}
