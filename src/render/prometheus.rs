//! The Prometheus rule file: alerting and recording rules as a typed model, then YAML.

use std::collections::BTreeMap;

use minijinja::Environment;
use minijinja::value::Value;
use serde::Serialize;

use super::promql::PoolExprs;
use super::templates::{self, safe};
use crate::conventions::{self, number};
use crate::diag::{Code, Diagnostic};
use crate::model::{Model, Pool, Signal};
use crate::source::Span;

pub const TEMPLATE: Code = Code {
    code: "PW020",
    name: "template-error",
};

/// A Prometheus rule file (`groups:`), as `promtool check rules` reads it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleFile {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleGroup {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    pub rules: Vec<Rule>,
}

/// One rule: an alert (with `for`, annotations) or a recording rule.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Where the rule comes from: not written, used to locate diagnostics.
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub pool: String,
    pub signal: Option<Signal>,
    pub threshold: Option<f64>,
    pub span: Option<Span>,
}

impl Rule {
    pub fn name(&self) -> &str {
        self.alert
            .as_deref()
            .or(self.record.as_deref())
            .unwrap_or("")
    }

    /// "alert X (pool p)" or "recording rule X (pool p)", for diagnostics.
    pub fn describe(&self) -> String {
        let kind = if self.alert.is_some() {
            "alert"
        } else {
            "recording rule"
        };
        format!("{kind} {} (pool {})", self.name(), self.origin.pool)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Annotations {
    pub summary: String,
    pub description: String,
    pub runbook_url: String,
}

/// Builds the rule file. Template failures are collected as diagnostics.
pub fn rule_file(model: &Model, env: &Environment<'static>) -> Result<RuleFile, Vec<Diagnostic>> {
    let window = model.rate_window.to_string();
    let mut alerts = Vec::new();
    let mut records = Vec::new();
    let mut diags = Vec::new();
    for pool in &model.pools {
        records.extend(recording_rules(model, pool, &window));
        match alerting_rules(model, pool, &window, env) {
            Ok(rules) => alerts.extend(rules),
            Err(mut d) => diags.append(&mut d),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(RuleFile {
        groups: vec![
            RuleGroup {
                name: conventions::ALERT_GROUP.to_string(),
                interval: None,
                rules: alerts,
            },
            RuleGroup {
                name: conventions::RECORDING_GROUP.to_string(),
                interval: None,
                rules: records,
            },
        ],
    })
}

fn pool_labels(model: &Model, pool: &Pool) -> BTreeMap<String, String> {
    BTreeMap::from([(model.pool_label.clone(), pool.name.clone())])
}

fn recording_rules(model: &Model, pool: &Pool, window: &str) -> Vec<Rule> {
    let x = PoolExprs::rules(pool, window);
    let names = conventions::record_names(pool, &model.pool_label, window);
    let pool_sel =
        crate::render::promql::matchers(&[(model.pool_label.as_str(), pool.name.as_str())]);
    let record = |name: &str, expr: String| Rule {
        record: Some(name.to_string()),
        alert: None,
        expr,
        for_: None,
        labels: pool_labels(model, pool),
        annotations: None,
        origin: Origin {
            pool: pool.name.clone(),
            signal: None,
            threshold: None,
            span: pool.span.clone(),
        },
    };
    let mut rules = vec![
        record(&names.utilization, x.utilization()),
        record(
            &names.peak_utilization,
            format!("max_over_time({}{pool_sel}[{window}])", names.utilization),
        ),
        record(&names.wait_mean, x.mean(&pool.roles.wait_time)),
        record(
            &names.wait_bucket_rate,
            x.bucket_rate(&pool.roles.wait_time),
        ),
    ];
    for (q, name) in &names.wait_quantiles {
        rules.push(record(
            name,
            format!(
                "histogram_quantile({}, {}{pool_sel})",
                number(*q),
                names.wait_bucket_rate
            ),
        ));
    }
    rules
}

/// Prometheus template text naming the kept labels: ` ({{ $labels.service }})`.
fn scope_text(pool: &Pool) -> String {
    if pool.keep_labels.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = pool
        .keep_labels
        .iter()
        .map(|l| format!("{l}={{{{ $labels.{l} }}}}"))
        .collect();
    format!(" ({})", parts.join(", "))
}

fn alerting_rules(
    model: &Model,
    pool: &Pool,
    window: &str,
    env: &Environment<'static>,
) -> Result<Vec<Rule>, Vec<Diagnostic>> {
    let x = PoolExprs::rules(pool, window);
    let mut rules = Vec::new();
    let mut diags = Vec::new();
    let scope = scope_text(pool);
    for policy in &pool.policies.thresholds {
        for (level, alert) in policy.alert_levels() {
            let ctx = minijinja::context! {
                pool => pool.title.clone(),
                pool_name => pool.name.clone(),
                scope => safe(scope.clone()),
                threshold => number(level.value),
                threshold_percent => number(level.value * 100.0),
                for => alert.for_.to_string(),
                severity => alert.severity.clone(),
                metric => pool.roles.size.clone(),
            };
            match annotations(model, policy.signal, env, &ctx) {
                Ok(ann) => rules.push(alert_rule(
                    model,
                    pool,
                    policy.signal,
                    x.condition(policy.signal, level.value),
                    alert.for_.to_string(),
                    &alert.severity,
                    ann,
                    Some(level.value),
                    level.span.clone(),
                )),
                Err(e) => diags.push(template_diag(policy.signal, pool, &e)),
            }
        }
    }
    if let Some(absent) = &pool.policies.absent {
        let ctx = minijinja::context! {
            pool => pool.title.clone(),
            pool_name => pool.name.clone(),
            scope => safe(scope.clone()),
            for => absent.for_.to_string(),
            severity => absent.severity.clone(),
            metric => pool.roles.size.clone(),
        };
        match annotations(model, Signal::Absent, env, &ctx) {
            Ok(ann) => rules.push(alert_rule(
                model,
                pool,
                Signal::Absent,
                x.signal(Signal::Absent),
                absent.for_.to_string(),
                &absent.severity,
                ann,
                None,
                absent.span.clone(),
            )),
            Err(e) => diags.push(template_diag(Signal::Absent, pool, &e)),
        }
    }
    if diags.is_empty() {
        Ok(rules)
    } else {
        Err(diags)
    }
}

#[allow(clippy::too_many_arguments)]
fn alert_rule(
    model: &Model,
    pool: &Pool,
    signal: Signal,
    expr: String,
    for_: String,
    severity: &str,
    annotations: Annotations,
    threshold: Option<f64>,
    span: Option<Span>,
) -> Rule {
    let mut labels = pool_labels(model, pool);
    labels.insert("severity".to_string(), severity.to_string());
    Rule {
        record: None,
        alert: Some(conventions::alert_name(signal).to_string()),
        expr,
        for_: Some(for_),
        labels,
        annotations: Some(annotations),
        origin: Origin {
            pool: pool.name.clone(),
            signal: Some(signal),
            threshold,
            span,
        },
    }
}

fn annotations(
    model: &Model,
    signal: Signal,
    env: &Environment<'static>,
    ctx: &Value,
) -> Result<Annotations, minijinja::Error> {
    let name = templates::alert_template(signal);
    Ok(Annotations {
        summary: templates::render_block(env, &name, "summary", ctx)?,
        description: templates::render_block(env, &name, "description", ctx)?,
        // Prometheus expands every annotation as a template, the URL too.
        runbook_url: templates::escape_prometheus_template(&conventions::runbook_url(
            &model.runbook_url,
            signal,
        )),
    })
}

fn template_diag(signal: Signal, pool: &Pool, e: &minijinja::Error) -> Diagnostic {
    Diagnostic::error(TEMPLATE, format!("annotation template failed: {e}")).object(format!(
        "template {} for pool {}",
        templates::alert_template(signal),
        pool.name
    ))
}

/// Serializes the rule file with its do-not-edit header.
pub fn to_yaml(file: &RuleFile, header: &str) -> String {
    let body = serde_norway::to_string(file).unwrap_or_default();
    format!("{header}{body}")
}
