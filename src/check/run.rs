//! Runs the registered checks on a rule set or a dashboard, and applies suppressions.

use super::dashboard::DashboardDoc;
use super::invalid_suppression;
use super::knowledge::Knowledge;
use super::lint::{Cx, Ignore, RuleUnit};
use super::registry::{CHECKS, Run};
use super::{invalid_duration, rules_file};
use crate::diag::Diagnostic;
use crate::source::{FileId, Sources, Span};
use rayon::prelude::*;
use std::collections::HashMap;

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
pub(crate) fn rules(units: &[RuleUnit], cx: &Cx) -> Vec<Diagnostic> {
    let found = units.iter().map(|rule| rule_checks(rule, cx)).collect();
    with_set_checks(units, found, set_checks(units, cx))
}

/// The checks on the whole set (duplicates, series recorded twice, ...).
fn set_checks(units: &[RuleUnit], cx: &Cx) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for c in CHECKS {
        if let Run::Rules(f) = c.run {
            found.extend(f(units, cx));
        }
    }
    found
}

/// The checks of one rule on its own.
fn rule_checks(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for c in CHECKS {
        if let Run::Rule(f) = c.run {
            found.extend(f(rule, cx));
        }
    }
    found
}

/// Adds the findings of the checks on the whole set (`group_level`) to each rule's own
/// (`found`, one entry per unit), and applies each rule's suppressions to both.
fn with_set_checks(
    units: &[RuleUnit],
    found: Vec<Vec<Diagnostic>>,
    group_level: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Group-level findings go with the rule they name (by object and place), so each
    // rule's suppressions see them: one index, not a scan per rule.
    let mut index: HashMap<(String, Option<Span>), usize> = HashMap::new();
    let mut buckets: Vec<Vec<Diagnostic>> = Vec::new();
    let mut unplaced = Vec::new();
    for d in group_level {
        match &d.object {
            Some(o) => {
                let i = *index.entry((o.clone(), d.span.clone())).or_insert_with(|| {
                    buckets.push(Vec::new());
                    buckets.len() - 1
                });
                buckets[i].push(d);
            }
            None => unplaced.push(d),
        }
    }
    for (rule, mut found) in units.iter().zip(found) {
        // Copies of a rule share its description; the place tells them apart. Most sets
        // have no group-level finding: no key is built for them.
        if !index.is_empty() {
            for key in [
                (rule.object.clone(), rule.name.span.clone()),
                (rule.object.clone(), None),
            ] {
                if let Some(&i) = index.get(&key) {
                    found.append(&mut buckets[i]);
                }
            }
        }
        let mut extra = Vec::new();
        apply(rule, &mut found, &mut extra);
        out.extend(found);
        out.extend(extra);
    }
    out.extend(buckets.into_iter().flatten());
    out.extend(unplaced);
    out
}

/// Every dashboard check, and the PromQL checks on its queries.
pub(crate) fn dashboard(doc: &DashboardDoc, cx: &Cx) -> Vec<Diagnostic> {
    let queries = doc.queries();
    let mut out = rules(&queries, cx);
    for c in CHECKS {
        if let Run::Dashboard(f) = c.run {
            out.extend(f(doc, &queries, cx));
        }
    }
    out
}

/// What linting hand-written files found.
#[derive(Debug, Default)]
pub(crate) struct Linted {
    /// Files that are not rule files or dashboards at all (exit code 2).
    pub(crate) unusable: Vec<Diagnostic>,
    pub(crate) findings: Vec<Diagnostic>,
    /// How many rules were read.
    pub(crate) rules: usize,
    /// How many dashboard queries were not PromQL (Loki, ...) and not checked.
    pub(crate) skipped_queries: usize,
}

/// Lints rule files and dashboards (already in `sources`) with what is known of the
/// metrics and, with a spec, its severities. The rule files are one set: each may use the
/// series the others record.
pub(crate) fn files(
    knowledge: Knowledge,
    severities: Option<Vec<String>>,
    sources: &Sources,
    rules: &[FileId],
    dashboards: &[FileId],
) -> Linted {
    let mut out = Linted::default();
    let mut groups = Vec::new();
    // Parsing a file (YAML with spans, then each expression) needs no other file: both
    // cores, results in file order.
    let parsed: Vec<_> = rules
        .par_iter()
        .map(|&file| rules_file::parse(sources, file))
        .collect();
    // A rule unit is large: each is moved once, into a vector of the right size.
    let count = parsed.iter().flatten().map(|p| p.rules.len()).sum();
    let mut units = Vec::with_capacity(count);
    for parsed in parsed {
        match parsed {
            Ok(mut p) => {
                units.append(&mut p.rules);
                groups.append(&mut p.groups);
                out.findings.append(&mut p.diags);
            }
            Err(d) => out.unusable.push(d),
        }
    }
    let cx = Cx::new(knowledge, severities, &units);
    // Once the recorded series are typed, each rule's own checks need no other rule:
    // both cores again (findings in rule order); then the checks on the whole set.
    let found = units
        .par_iter()
        .map(|rule| rule_checks(rule, &cx))
        .collect();
    let set = set_checks(&units, &cx);
    out.findings.extend(with_set_checks(&units, found, set));
    out.findings.extend(invalid_duration::check_groups(&groups));
    for &file in dashboards {
        match DashboardDoc::from_file(sources, file) {
            Ok(doc) => {
                out.skipped_queries += doc.skipped_queries();
                out.findings.extend(dashboard(&doc, &cx));
            }
            Err(d) => out.unusable.push(d),
        }
    }
    out.rules = units.len();
    // Freeing thousands of parsed rules (their syntax trees above all) is a sizeable
    // part of a run's work: on both cores too.
    units.into_par_iter().for_each(drop);
    out
}
