//! Checks of everything poolwatch would write, and of hand-written rule files and
//! dashboards: every PromQL expression is parsed once and typed against the spec's metric
//! catalog, then each check (one module each, listed in [`registry`]) reports what it finds.
//! None stops at its first finding.

pub mod dashboard;
pub mod lint;
pub mod registry;
pub mod rules_file;
pub mod run;
pub mod template;
pub mod typing;

pub mod alert_without_comparison;
pub mod counter_without_rate;
pub mod datasource_variable;
pub mod duplicate_rule;
pub mod histogram_quantile;
pub mod invalid_duration;
pub mod invalid_suppression;
pub mod label_aggregated_away;
pub mod missing_annotation;
pub mod panel_unit;
pub mod panel_unit_mismatch;
pub mod promql_syntax;
pub mod rate_interval;
pub mod rate_on_gauge;
pub mod record_name;
pub mod template_syntax;
pub mod threshold_steps;
pub mod unit_mismatch;
pub mod unknown_metric;
pub mod unknown_severity;
pub mod unknown_template_function;

use crate::diag::Diagnostic;
use crate::model::Model;
use crate::render::prometheus::RuleFile;
use crate::render::grafana;

/// Every rule check on the generated rule file. Returns the context the dashboard's
/// queries are typed in (the catalog and the recorded series' types) with the findings;
/// the parsed expressions are freed on return, before anything else is built.
pub fn generated_rules<'m>(model: &'m Model, rules: &RuleFile) -> (lint::Cx<'m>, Vec<Diagnostic>) {
    let (units, mut diags) = rules_file::from_generated(rules, &model.lint_ignores);
    let cx = lint::Cx::new(&model.catalog, &model.severities, &units);
    diags.extend(run::rules(&units, &cx));
    (cx, diags)
}

/// Top-level panels (or rows) per slice in [`generated_dashboard`].
pub const PANELS_PER_SLICE: usize = 16;

/// Every dashboard check on the generated dashboard, a slice of panels at a time: a fleet's
/// dashboard as one JSON tree would take twice the memory of everything else under check.
/// The findings are those of the whole dashboard, in its order (tests/fleet.rs).
pub fn generated_dashboard(d: &grafana::Dashboard, cx: &lint::Cx) -> Vec<Diagnostic> {
    let shell = grafana::value_shell(d);
    run::dashboard_slices(
        &d.panels,
        PANELS_PER_SLICE,
        |slice| dashboard::DashboardDoc::generated(grafana::slice_value(&shell, slice)),
        cx,
    )
}
