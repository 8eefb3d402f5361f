//! The Prometheus rule file: alerting and recording rules as a typed model, then YAML.

use std::collections::BTreeMap;

use minijinja::Environment;
use minijinja::value::Value;
use serde::Serialize;

use super::jinja::{self, safe};
use super::promql::{ExprCx, PoolExprs, Recorded, constant};
use crate::conventions::{self, number};
use crate::diag::{Code, Diagnostic};
use crate::model::{Model, PolicyShape, Pool, PromDuration, Role, Signal, Targets};
use crate::signals;
use crate::source::Span;

pub(crate) const TEMPLATE: Code = Code {
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
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) interval: Option<String>,
    /// The most alerts or series one rule may produce (Prometheus 2.31+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<u64>,
    /// How far into the past the rules query (Prometheus 2.53+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) query_offset: Option<String>,
    pub rules: Vec<Rule>,
}

/// One rule: an alert (with `for`, annotations) or a recording rule.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub(crate) for_: Option<String>,
    /// How long the alert stays firing once its condition stops holding (2.42+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) keep_firing_for: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Where the rule comes from: not written, used to locate diagnostics.
    #[serde(skip)]
    pub origin: Origin,
}

/// What a recording rule records: its kind, as a type (the unit tests pick each one's
/// expected value by it, not by its name).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Record {
    /// active / size.
    Utilization,
    /// The utilization's peak over the rate window.
    PeakUtilization,
    /// Mean wait time over the rate window.
    WaitMean,
    /// A wait-time quantile.
    WaitQuantile(f64),
    /// Concurrent use: active connections per instance.
    CapacityActive,
    /// The recommended size.
    Recommended,
    /// The memory ceiling, a constant.
    MemoryCeiling,
    /// A signal's value (or a part of it) its alert reads: proven by that alert's tests,
    /// which drive the recorded series through the values the alert compares.
    Signal(Signal),
}

#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// For a recording rule, what it records.
    pub(crate) record: Option<Record>,
    pub pool: String,
    /// The alert's summary without the instance's labels, for the runbook's table.
    pub(crate) condition: String,
    pub signal: Option<Signal>,
    pub(crate) threshold: Option<f64>,
    pub(crate) span: Option<Span>,
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
pub(crate) fn rule_file(
    model: &Model,
    env: &Environment<'static>,
) -> Result<RuleFile, Vec<Diagnostic>> {
    let window = model.rate_window.to_string();
    let mut groups = Vec::new();
    let mut diags = Vec::new();
    let overridden = with_overrides(model, env);
    let env = match &overridden {
        Ok(Some(e)) => e,
        Ok(None) => env,
        Err(d) => return Err(vec![d.clone()]),
    };
    // One group per pool, its recordings first: rules of a group run in order at one
    // evaluation time, so every alert reads the value recorded at that same evaluation
    // (across groups there is no order, and an alert could read the previous one's).
    for pool in &model.pools {
        let mut rules = recording_rules(model, pool, &window);
        match alerting_rules(model, pool, &window, env) {
            Ok((records, alerts)) => {
                for r in records {
                    // A signal's value the pool records anyway (utilization, the wait's mean
                    // and p99) is recorded once; the same name with another expression stays
                    // twice, for the duplicate-rule check to refuse.
                    if !rules
                        .iter()
                        .any(|o| o.record == r.record && o.expr == r.expr)
                    {
                        rules.push(r);
                    }
                }
                rules.extend(alerts);
            }
            Err(mut d) => diags.append(&mut d),
        }
        groups.push(RuleGroup::new(
            model,
            &conventions::rule_group(&pool.name),
            rules,
        ));
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(RuleFile { groups })
}

impl RuleGroup {
    /// A group with the spec's group options (`rule_groups:`).
    fn new(model: &Model, name: &str, rules: Vec<Rule>) -> Self {
        RuleGroup {
            name: name.to_string(),
            interval: None,
            limit: model.rule_groups.limit,
            query_offset: model.rule_groups.query_offset.map(|d| d.to_string()),
            rules,
        }
    }
}

impl RuleFile {
    /// The same groups without their `query_offset`: what the unit tests load. Prometheus
    /// shifts each rule's query by the offset, so a recorded series read by another rule is
    /// shifted twice; the tests prove the rules' logic on data as it arrives.
    pub(crate) fn without_query_offset(&self) -> RuleFile {
        let mut file = self.clone();
        for g in &mut file.groups {
            g.query_offset = None;
        }
        file
    }

    /// Whether any group sets a `query_offset`.
    pub(crate) fn has_query_offset(&self) -> bool {
        self.groups.iter().any(|g| g.query_offset.is_some())
    }
}

/// The environment with the spec's template overrides added (None without any).
fn with_overrides(
    model: &Model,
    env: &Environment<'static>,
) -> Result<Option<Environment<'static>>, Diagnostic> {
    if model.wording.templates.is_empty() {
        return Ok(None);
    }
    let mut env = env.clone();
    for (key, text) in &model.wording.templates {
        env.add_template_owned(jinja::override_template(key), text.clone())
            .map_err(|e| {
                Diagnostic::error(
                    TEMPLATE,
                    format!("wording template `{key}` does not compile: {e}"),
                )
            })?;
    }
    Ok(Some(env))
}

fn pool_labels(model: &Model, pool: &Pool) -> BTreeMap<String, String> {
    BTreeMap::from([(model.pool_label.clone(), pool.name.clone())])
}

/// A recording rule of a pool: the series carries the pool label.
fn record_rule(model: &Model, pool: &Pool, kind: Record, name: &str, expr: String) -> Rule {
    Rule {
        record: Some(name.to_string()),
        alert: None,
        expr,
        for_: None,
        keep_firing_for: None,
        labels: pool_labels(model, pool),
        annotations: None,
        origin: Origin {
            record: Some(kind),
            pool: pool.name.clone(),
            condition: String::new(),
            signal: None,
            threshold: None,
            span: pool.span.clone(),
        },
    }
}

/// The recordings a pool has whatever its policies: utilization and its peak, the wait's
/// mean and quantiles (the dashboard draws them), capacity planning.
fn recording_rules(model: &Model, pool: &Pool, window: &str) -> Vec<Rule> {
    let x = PoolExprs::rules(pool, window);
    let names = conventions::record_names(pool, &model.pool_label, window);
    let recorded = Recorded {
        pool_label: &model.pool_label,
        pool: &pool.name,
    };
    let record =
        |kind: Record, name: &str, expr: String| record_rule(model, pool, kind, name, expr);
    let mut rules = vec![
        record(Record::Utilization, &names.utilization, x.utilization()),
        record(
            Record::PeakUtilization,
            &names.peak_utilization,
            recorded.max_over_time(&names.utilization, window),
        ),
    ];
    if let Some(wait) = &names.wait {
        rules.push(record(Record::WaitMean, &wait.mean, x.mean(Role::WaitTime)));
        // Straight from the histogram's own quantile expression, whatever form it has.
        for (q, name) in &wait.quantiles {
            rules.push(record(
                Record::WaitQuantile(*q),
                name,
                x.quantile(*q, Role::WaitTime),
            ));
        }
    }
    rules.extend(capacity_rules(model, pool, window, &record));
    rules
}

/// Prometheus template text naming the pool instance by its identity and kept labels:
/// ` (job={{ $labels.job }}, instance={{ $labels.instance }})`.
fn scope_text(pool: &Pool) -> String {
    let labels = pool.group_labels();
    if labels.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = labels
        .iter()
        .map(|l| format!("{l}={{{{ $labels.{l} }}}}"))
        .collect();
    format!(" ({})", parts.join(", "))
}

/// What varies between alerts; [`alert`] fills in the rest.
struct Draft<'a> {
    signal: Signal,
    expr: String,
    for_: String,
    /// `keep_firing_for`, when the level sets one.
    keep_firing_for: Option<String>,
    severity: &'a str,
    threshold: Option<f64>,
    span: Option<Span>,
    /// Template variables beyond the common ones (pool, scope, for, severity, metric).
    vars: Vec<(&'static str, Value)>,
}

/// Renders a draft's annotations and makes it a rule.
fn alert(
    model: &Model,
    pool: &Pool,
    env: &Environment<'static>,
    d: Draft<'_>,
) -> Result<Rule, Diagnostic> {
    let mut vars: Vec<(&str, Value)> = vec![
        ("pool", Value::from(pool.title.clone())),
        ("pool_name", Value::from(pool.name.clone())),
        ("scope", safe(scope_text(pool))),
        ("for", Value::from(d.for_.clone())),
        ("severity", Value::from(d.severity)),
        (
            "metric",
            Value::from(pool.roles.get(pool.presence_role()).unwrap_or_default()),
        ),
        (
            "size_setting",
            Value::from(if model.wording.size_setting.is_empty() {
                "the pool size".to_string()
            } else {
                model.wording.size_setting.clone()
            }),
        ),
        (
            "has_size_setting",
            Value::from(!model.wording.size_setting.is_empty()),
        ),
        (
            "has_environments",
            Value::from(!model.environments.is_empty()),
        ),
    ];
    vars.extend(d.vars);
    let mut vars: BTreeMap<String, Value> =
        vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let ctx = Value::from(vars.clone());
    let ann =
        annotations(model, d.signal, env, &ctx).map_err(|e| template_diag(d.signal, pool, &e))?;
    // The same summary without the instance's labels, for the runbook's table.
    vars.insert("scope".to_string(), Value::from(""));
    let unscoped = Value::from(vars);
    let condition = jinja::render_block(env, &template_name(model, d.signal), "summary", &unscoped)
        .map_err(|e| template_diag(d.signal, pool, &e))?;
    let mut labels = pool_labels(model, pool);
    labels.extend(pool.labels.iter().cloned());
    labels.insert("severity".to_string(), d.severity.to_string());
    Ok(Rule {
        record: None,
        alert: Some(d.signal.alert().to_string()),
        expr: d.expr,
        for_: Some(d.for_),
        keep_firing_for: d.keep_firing_for,
        labels,
        annotations: Some(ann),
        origin: Origin {
            record: None,
            pool: pool.name.clone(),
            condition,
            signal: Some(d.signal),
            threshold: d.threshold,
            span: d.span,
        },
    })
}

/// A pool's alerts, and the recordings of the signals they compare (before them in the
/// group).
fn alerting_rules(
    model: &Model,
    pool: &Pool,
    window: &str,
    env: &Environment<'static>,
) -> Result<(Vec<Rule>, Vec<Rule>), Vec<Diagnostic>> {
    let x = PoolExprs::rules(pool, window);
    let top = pool
        .roles
        .query_duration
        .as_ref()
        .and_then(|m| model.catalog.get(m))
        .and_then(|m| m.top_bucket());
    let cx = |for_, targets| ExprCx {
        model,
        top_bucket: top,
        for_,
        targets,
    };
    let mut drafts = Vec::new();
    let mut records = Vec::new();
    for policy in &pool.policies.thresholds {
        let def = signals::def(policy.signal);
        let value_cx = cx(PromDuration::from_secs(0), Targets::default());
        let recordings = (def.recordings)(&x, &value_cx);
        let value = def.value(&x, &recordings, &value_cx);
        let recorded = !recordings.is_empty();
        records.extend(
            recordings
                .into_iter()
                .map(|r| record_rule(model, pool, Record::Signal(policy.signal), &r.name, r.expr)),
        );
        for (level, a) in policy.alert_levels() {
            let mut vars = vec![
                ("threshold", Value::from(number(level.value))),
                (
                    "threshold_percent",
                    Value::from(number(level.value * 100.0)),
                ),
            ];
            if let Some(top) = top {
                vars.push(("top_bucket", Value::from(number(top))));
            }
            drafts.push(Draft {
                signal: policy.signal,
                // A recorded value carries the waiting condition already.
                expr: x.condition(
                    &value,
                    def.info.comparison,
                    level.value,
                    def.while_waiting && !recorded,
                ),
                for_: a.for_.to_string(),
                keep_firing_for: (!a.keep_firing_for.is_zero())
                    .then(|| a.keep_firing_for.to_string()),
                severity: &a.severity,
                threshold: Some(level.value),
                span: level.span.clone(),
                vars,
            });
        }
    }
    for def in signals::ALL {
        match def.info.policy {
            PolicyShape::Levels => {}
            PolicyShape::Presence => {
                if let Some(absence) = &pool.policies.absent {
                    let absent = &absence.policy;
                    drafts.push(Draft {
                        signal: def.signal(),
                        expr: (def.expr)(&x, &cx(absent.for_, absence.targets)),
                        for_: absent.for_.to_string(),
                        keep_firing_for: None,
                        severity: &absent.severity,
                        threshold: None,
                        span: absent.span.clone(),
                        vars: Vec::new(),
                    });
                }
            }
            PolicyShape::Capacity => {
                if let Some(cap) = &model.capacity
                    && let Some(policy) = &cap.undersized
                {
                    drafts.push(Draft {
                        signal: def.signal(),
                        expr: (def.expr)(&x, &cx(policy.for_, Targets::default())),
                        for_: policy.for_.to_string(),
                        keep_firing_for: None,
                        severity: &policy.severity,
                        threshold: None,
                        span: policy.span.clone(),
                        vars: vec![
                            ("headroom", Value::from(number(cap.headroom))),
                            (
                                "quantile",
                                Value::from(conventions::quantile_label(cap.peak_quantile)),
                            ),
                            ("window", Value::from(cap.peak_window.to_string())),
                            ("ceiling", Value::from(cap.memory_ceiling())),
                        ],
                    });
                }
            }
        }
    }
    let mut rules = Vec::new();
    let mut diags = Vec::new();
    for d in drafts {
        match alert(model, pool, env, d) {
            Ok(rule) => rules.push(rule),
            Err(d) => diags.push(d),
        }
    }
    if diags.is_empty() {
        Ok((records, rules))
    } else {
        Err(diags)
    }
}

/// Capacity-planning recording rules: concurrent use, recommended size, memory ceiling.
fn capacity_rules(
    model: &Model,
    pool: &Pool,
    window: &str,
    record: &dyn Fn(Record, &str, String) -> Rule,
) -> Vec<Rule> {
    let Some(cap) = &model.capacity else {
        return Vec::new();
    };
    let x = PoolExprs::rules(pool, window);
    let peak_window = cap.peak_window.to_string();
    let names =
        conventions::capacity_names(pool, &model.pool_label, cap.peak_quantile, &peak_window);
    let recorded = Recorded {
        pool_label: &model.pool_label,
        pool: &pool.name,
    };
    let mut rules = vec![
        record(Record::CapacityActive, &names.active, x.gauge(Role::Active)),
        record(
            Record::Recommended,
            &names.recommended,
            recorded.recommended(cap.headroom, cap.peak_quantile, &names.active, &peak_window),
        ),
    ];
    if let Some(ceiling) = cap.memory_ceiling() {
        rules.push(record(
            Record::MemoryCeiling,
            &names.memory_ceiling,
            constant(ceiling),
        ));
    }
    rules
}

fn annotations(
    model: &Model,
    signal: Signal,
    env: &Environment<'static>,
    ctx: &Value,
) -> Result<Annotations, minijinja::Error> {
    let [summary, description] = jinja::render_blocks(
        env,
        &template_name(model, signal),
        ["summary", "description"],
        ctx,
    )?;
    Ok(Annotations {
        summary,
        description,
        // Prometheus expands every annotation as a template, the URL too.
        runbook_url: jinja::escape_prometheus_template(&conventions::runbook_url(
            &model.runbook_url,
            signal.alert(),
        )),
    })
}

/// The template of a signal's annotations: the spec's own, else the built-in one.
fn template_name(model: &Model, signal: Signal) -> String {
    if model.wording.templates.contains_key(signal.key()) {
        jinja::override_template(signal.key())
    } else {
        signals::def(signal).template_name()
    }
}

fn template_diag(signal: Signal, pool: &Pool, e: &minijinja::Error) -> Diagnostic {
    Diagnostic::error(TEMPLATE, format!("annotation template failed: {e}")).object(format!(
        "template {} for pool {}",
        signals::def(signal).template_name(),
        pool.name
    ))
}
