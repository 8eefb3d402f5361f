//! Checks of everything poolwatch would write, and of hand-written rule files and
//! dashboards: every PromQL expression is parsed once and typed with what is known of the
//! metrics (a spec's catalog, a saved exposition or metadata, or only their names), then
//! each check (one module each, listed in [`registry`]) reports what it finds. None stops
//! at its first finding.

pub(crate) mod baseline;
pub(crate) mod carried;
pub(crate) mod dashboard;
pub(crate) mod expr;
pub(crate) mod go_template;
pub mod grafana_vars;
pub(crate) mod knowledge;
pub(crate) mod lint;
pub(crate) mod policy;
pub(crate) mod promql_string;
pub(crate) mod regex_lang;
pub mod registry;
pub(crate) mod rules_file;
pub(crate) mod run;
pub(crate) mod typing;

pub(crate) mod alert_without_comparison;
pub(crate) mod alert_without_for;
pub(crate) mod contradictory_matchers;
pub(crate) mod counter_compared;
pub(crate) mod counter_without_rate;
pub(crate) mod datasource_variable;
pub(crate) mod duplicate_rule;
pub(crate) mod histogram_quantile;
pub(crate) mod integer_bucket_label;
pub(crate) mod invalid_duration;
pub(crate) mod invalid_suppression;
pub(crate) mod label_aggregated_away;
pub(crate) mod left_open_subquery;
pub(crate) mod limits;
pub(crate) mod matching_never_matches;
pub(crate) mod missing_annotation;
pub(crate) mod panel_unit;
pub(crate) mod panel_unit_mismatch;
pub(crate) mod percent_sign;
pub(crate) mod promql_syntax;
pub(crate) mod rate_interval;
pub(crate) mod rate_on_binary;
pub(crate) mod rate_on_gauge;
pub(crate) mod record_name;
pub(crate) mod renamed_function;
pub(crate) mod template_syntax;
pub(crate) mod threshold_steps;
pub(crate) mod undefined_variable;
pub(crate) mod unit_mismatch;
pub(crate) mod unknown_label;
pub(crate) mod unknown_metric;
pub(crate) mod unknown_severity;
pub(crate) mod unknown_template_function;
pub(crate) mod unreachable_quantile;
pub(crate) mod unused_variable;
pub(crate) mod utf8_name;
pub(crate) mod variable_query;

use crate::diag::Diagnostic;
use crate::model::Model;
use crate::render::grafana;
use crate::render::prometheus::RuleFile;

/// The context a spec's rules and dashboards are checked in: its catalog (complete, so
/// an unknown metric is an error) and its severities.
pub(crate) fn spec_context(model: &Model, rules: &[lint::RuleUnit]) -> lint::Cx {
    lint::Cx::new(
        knowledge::Knowledge::from_model(model),
        Some(model.severities.clone()),
        rules,
    )
}

/// Every rule check on the generated rule file. Returns the context the dashboard's
/// queries are typed in (the catalog and the recorded series' types) with the findings.
pub(crate) fn generated_rules(model: &Model, rules: &RuleFile) -> (lint::Cx, Vec<Diagnostic>) {
    let (units, mut diags) = rules_file::from_generated(rules, &model.lint_ignores);
    let cx = spec_context(model, &units);
    diags.extend(run::rules(&units, &cx));
    (cx, diags)
}

/// Every dashboard check on the generated dashboard.
pub(crate) fn generated_dashboard(
    model: &Model,
    d: &grafana::Dashboard,
    cx: &lint::Cx,
) -> Vec<Diagnostic> {
    match grafana::to_value(model, d) {
        Ok(value) => run::dashboard(&dashboard::DashboardDoc::generated(value), cx),
        Err(e) => vec![e],
    }
}
