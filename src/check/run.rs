//! Runs the registered checks on a rule set or a dashboard, and applies suppressions.

use super::dashboard::DashboardDoc;
use super::invalid_suppression;
use super::lint::{Cx, Ignore, RuleUnit};
use super::registry::{CHECKS, Run};
use crate::diag::Diagnostic;

/// Marks the findings a rule's suppressions silence. A suppression that silences nothing
/// is reported, so stale ones are noticed.
fn apply(rule: &RuleUnit, diags: &mut [Diagnostic], out: &mut Vec<Diagnostic>) {
    for Ignore { code, reason, span } in &rule.ignores {
        let mut used = false;
        for d in diags.iter_mut().filter(|d| d.code.code == code) {
            d.suppressed = Some(reason.clone());
            used = true;
        }
        if !used {
            out.push(
                Diagnostic::warning(
                    invalid_suppression::CODE,
                    format!("the suppression of {code} silences nothing on this rule"),
                )
                .at(span.clone().or_else(|| rule.span()))
                .object(rule.object.clone())
                .help("remove it, or fix the code it names"),
            );
        }
    }
}

/// Every rule check on a set of rules (one file set: recorded series are shared).
pub fn rules(units: &[RuleUnit], cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut group_level = Vec::new();
    for c in CHECKS {
        if let Run::Rules(f) = c.run {
            group_level.extend(f(units, cx));
        }
    }
    for rule in units {
        let mut found = Vec::new();
        for c in CHECKS {
            if let Run::Rule(f) = c.run {
                found.extend(f(rule, cx));
            }
        }
        let (mut mine, rest): (Vec<_>, Vec<_>) = group_level
            .into_iter()
            .partition(|d: &Diagnostic| d.object.as_deref() == Some(&rule.object));
        group_level = rest;
        found.append(&mut mine);
        let mut extra = Vec::new();
        apply(rule, &mut found, &mut extra);
        out.extend(found);
        out.extend(extra);
    }
    out.extend(group_level);
    out
}

/// Every dashboard check, and the PromQL checks on its queries.
pub fn dashboard(doc: &DashboardDoc, cx: &Cx) -> Vec<Diagnostic> {
    let queries = doc.queries();
    let mut out = rules(&queries, cx);
    for c in CHECKS {
        if let Run::Dashboard(f) = c.run {
            out.extend(f(doc, &queries, cx));
        }
    }
    out
}
