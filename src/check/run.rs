//! Runs the registered checks on a rule set or a dashboard, and applies suppressions.

use rayon::prelude::*;

use super::dashboard::DashboardDoc;
use super::invalid_suppression;
use super::lint::{Cx, Ignore, RuleUnit};
use super::registry::{CHECKS, Run};
use super::{invalid_duration, rules_file};
use crate::diag::Diagnostic;
use crate::model::Model;
use crate::source::{FileId, Sources};

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
    // Each rule's own checks are independent of the others': run them on every core.
    let per_rule: Vec<Vec<Diagnostic>> = units
        .par_iter()
        .map(|rule| {
            let mut found = Vec::new();
            for c in CHECKS {
                if let Run::Rule(f) = c.run {
                    found.extend(f(rule, cx));
                }
            }
            found
        })
        .collect();
    for (rule, mut found) in units.iter().zip(per_rule) {
        let (mut mine, rest): (Vec<_>, Vec<_>) =
            group_level.into_iter().partition(|d: &Diagnostic| {
                // Copies of a rule share its description; the place tells them apart.
                d.object.as_deref() == Some(&rule.object)
                    && (d.span.is_none() || d.span == rule.name.span)
            });
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
    dashboard_parts(doc, cx).concat()
}

/// The findings of [`dashboard`] in parts: the PromQL checks' on the queries, then each
/// dashboard check's, in registry order.
fn dashboard_parts(doc: &DashboardDoc, cx: &Cx) -> Vec<Vec<Diagnostic>> {
    let queries = doc.queries();
    let mut out = vec![rules(&queries, cx)];
    // The dashboard checks are independent: side by side, findings in registry order.
    let found: Vec<Vec<Diagnostic>> = CHECKS
        .par_iter()
        .filter_map(|c| match c.run {
            Run::Dashboard(f) => Some(f(doc, &queries, cx)),
            _ => None,
        })
        .collect();
    out.extend(found);
    out
}

/// [`dashboard`] on a dashboard read slice by slice: each slice of panels is checked as a
/// dashboard of its own, on every core, and dropped. Every check looks at one panel at a
/// time, so the findings are those of the whole, and they are merged into its order.
pub fn dashboard_slices<T: Sync>(
    panels: &[T],
    per_slice: usize,
    doc: impl Fn(&[T]) -> DashboardDoc + Sync,
    cx: &Cx,
) -> Vec<Diagnostic> {
    let parts: Vec<Vec<Vec<Diagnostic>>> = panels
        .par_chunks(per_slice.max(1))
        .map(|slice| dashboard_parts(&doc(slice), cx))
        .collect();
    // parts[slice][kind] → every slice's queries' findings, then each check's.
    let mut kinds: Vec<Vec<Diagnostic>> = Vec::new();
    for slice in parts {
        for (k, found) in slice.into_iter().enumerate() {
            match kinds.get_mut(k) {
                Some(all) => all.extend(found),
                None => kinds.push(found),
            }
        }
    }
    kinds.concat()
}

/// What linting hand-written files found.
#[derive(Debug, Default)]
pub struct Linted {
    /// Files that are not rule files or dashboards at all (exit code 2).
    pub unusable: Vec<Diagnostic>,
    pub findings: Vec<Diagnostic>,
    /// How many rules were read.
    pub rules: usize,
}

/// Lints rule files and dashboards (already in `sources`) against a model's catalog and
/// severities. The rule files are one set: each may use the series the others record.
pub fn files(model: &Model, sources: &Sources, rules: &[FileId], dashboards: &[FileId]) -> Linted {
    let mut out = Linted::default();
    let mut units = Vec::new();
    let mut groups = Vec::new();
    for &file in rules {
        match rules_file::parse(sources, file) {
            Ok(mut p) => {
                units.append(&mut p.rules);
                groups.append(&mut p.groups);
                out.findings.append(&mut p.diags);
            }
            Err(d) => out.unusable.push(d),
        }
    }
    let cx = Cx::new(&model.catalog, &model.severities, &units);
    out.findings.extend(self::rules(&units, &cx));
    out.findings.extend(invalid_duration::check_groups(&groups));
    for &file in dashboards {
        match DashboardDoc::from_file(sources, file) {
            Ok(doc) => out.findings.extend(dashboard(&doc, &cx)),
            Err(d) => out.unusable.push(d),
        }
    }
    out.rules = units.len();
    out
}
