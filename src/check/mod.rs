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
use crate::render::Artifacts;

/// Runs every check on the rendered artifacts of a model.
pub fn check_artifacts(model: &Model, artifacts: &Artifacts) -> Vec<Diagnostic> {
    let (units, mut diags) = rules_file::from_generated(&artifacts.rules, &model.lint_ignores);
    let cx = lint::Cx::new(&model.catalog, &model.severities, &units);
    diags.extend(run::rules(&units, &cx));
    // The rules' parsed expressions are done with (the context keeps their types): free
    // them before the dashboard's queries are parsed, which halves a fleet's peak memory.
    drop(units);
    let doc = dashboard::DashboardDoc::generated(&artifacts.dashboard);
    diags.extend(run::dashboard(&doc, &cx));
    diags
}
