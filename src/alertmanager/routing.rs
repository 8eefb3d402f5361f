//! `check --alertmanager`: every alert the specs generate, routed through a real
//! Alertmanager configuration as Alertmanager routes it. An alert that only the root
//! route's default receiver catches, or that misses the receiver the spec names for its
//! severity (`deploy.alertmanager`), is reported at the route that took it.

use std::collections::BTreeSet;

use super::config::Config;
use super::matcher::Labels;
use crate::diag::{Code, Diagnostic};
use crate::model::Pool;
use crate::pipeline::Generated;

pub(crate) const MISROUTED: Code = Code {
    code: "PW041",
    name: "alert-misrouted",
};

/// One generated alert as Alertmanager receives it: the rule's labels, its name, and the
/// identity labels the pool's selector fixes (e.g. `job="pgbouncer"`). Identity values
/// only known at run time (`instance`) are absent, as they are to a route.
pub(crate) fn alert_labels(pool: &Pool, alert: &str, rule: &Labels) -> Labels {
    let mut labels = rule.clone();
    labels.insert("alertname".into(), alert.to_string());
    for (k, v) in &pool.selector {
        if pool.group_labels().contains(&k.as_str()) {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    labels
}

/// Every generated alert of every variant routed through `config`: the findings, and how
/// many distinct alerts were routed.
pub(crate) fn check(config: &Config, generated: &[Generated]) -> (Vec<Diagnostic>, usize) {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for g in generated {
        let model = &g.model;
        let spec = crate::conventions::source_description(model);
        for rule in g.artifacts.rules.groups.iter().flat_map(|gr| &gr.rules) {
            let Some(alert) = &rule.alert else { continue };
            let Some(pool) = model.pools.iter().find(|p| p.name == rule.origin.pool) else {
                continue;
            };
            let labels = alert_labels(pool, alert, &rule.labels);
            let severity = labels.get("severity").cloned().unwrap_or_default();
            let intended = model.deploy.receivers.intended(&severity);
            if !seen.insert((labels.clone(), intended.map(str::to_string))) {
                continue;
            }
            let routes = config.routes(&labels);
            let receivers: Vec<&str> = routes.iter().map(|r| r.receiver.as_str()).collect();
            let at_root = config.falls_to_root(&labels);
            let shown: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let what = format!(
                "{alert} (pool {}, severity {severity}) of {spec}",
                pool.name
            );
            let problem = match intended {
                Some(want) if !receivers.contains(&want) => Some(format!(
                    "{what} is delivered to {}, not to `{want}`, the receiver the spec names for it",
                    list(&receivers)
                )),
                None if at_root => Some(format!(
                    "{what} reaches no route but the root: only the default receiver `{}` gets it",
                    receivers.first().copied().unwrap_or_default()
                )),
                _ => None,
            };
            if let Some(message) = problem {
                let fix = if at_root {
                    "add a route matching these labels: the generated alertmanager/connection_pool.yml has one"
                } else {
                    "change the route that takes it, or the receiver in the spec's `deploy.alertmanager`"
                };
                out.push(
                    Diagnostic::error(MISROUTED, message)
                        .at(routes.first().and_then(|r| r.span.clone()))
                        .label("the route that takes it")
                        .object(format!("alert {alert}"))
                        .help(format!("its labels: {{{}}}", shown.join(", ")))
                        .help(fix),
                );
            }
        }
    }
    (out, seen.len())
}

fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}
