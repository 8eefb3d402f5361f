//! Checks of everything poolwatch would write, and of hand-written rule files and
//! dashboards: every PromQL expression is parsed once and typed with what is known of the
//! metrics (a spec's catalog, a saved exposition or metadata, or only their names), then
//! each check (one module each, listed in [`registry`]) reports what it finds. None stops
//! at its first finding.

pub mod baseline;
pub mod dashboard;
pub mod knowledge;
pub mod lint;
pub mod registry;
pub mod rules_file;
pub mod run;
pub mod template;
pub mod typing;

pub mod alert_without_comparison;
pub mod alert_without_for;
pub mod counter_compared;
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
pub mod percent_sign;
pub mod promql_syntax;
pub mod rate_interval;
pub mod rate_on_binary;
pub mod rate_on_gauge;
pub mod record_name;
pub mod template_syntax;
pub mod threshold_steps;
pub mod unit_mismatch;
pub mod unknown_metric;
pub mod unknown_severity;
pub mod unknown_template_function;
pub mod unreachable_quantile;

use crate::diag::Diagnostic;
use crate::model::Model;
use crate::render::grafana;
use crate::render::prometheus::RuleFile;

/// The context a spec's rules and dashboards are checked in: its catalog (complete, so
/// an unknown metric is an error) and its severities.
pub fn spec_context(model: &Model, rules: &[lint::RuleUnit]) -> lint::Cx {
    lint::Cx::new(
        knowledge::Knowledge::from_catalog(&model.catalog),
        Some(model.severities.clone()),
        rules,
    )
}

/// Every rule check on the generated rule file. Returns the context the dashboard's
/// queries are typed in (the catalog and the recorded series' types) with the findings.
pub fn generated_rules(model: &Model, rules: &RuleFile) -> (lint::Cx, Vec<Diagnostic>) {
    let (units, mut diags) = rules_file::from_generated(rules, &model.lint_ignores);
    let cx = spec_context(model, &units);
    diags.extend(run::rules(&units, &cx));
    (cx, diags)
}

/// Every dashboard check on the generated dashboard.
pub fn generated_dashboard(d: &grafana::Dashboard, cx: &lint::Cx) -> Vec<Diagnostic> {
    run::dashboard(
        &dashboard::DashboardDoc::generated(grafana::to_value(d)),
        cx,
    )
}
