//! The Alertmanager side of a spec: a suggested route (grouped per pool instance, to the
//! receivers the spec names per severity) and the inhibit rules that make one incident one
//! page. Built from the generated alerts, so every alert and severity the rule file has is
//! covered and nothing else is.

use std::collections::BTreeSet;

use serde::Serialize;

use super::prometheus::{Rule, RuleFile};
use crate::alertmanager::matcher::{MatchOp, Matcher};
use crate::conventions;
use crate::model::{Model, PolicyShape, Pool, Signal};
use crate::signals;

/// The generated file: one route to put under the root route's `routes:`, and the inhibit
/// rules to append to the config's `inhibit_rules:`.
#[derive(Debug, Clone, Serialize)]
pub struct AlertmanagerFile {
    pub route: Route,
    pub inhibit_rules: Vec<InhibitRule>,
}

/// A routing tree node (Alertmanager's `route`).
#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub receiver: String,
    pub matchers: Vec<Matcher>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
}

/// An inhibit rule in Alertmanager ≥ 0.22's syntax.
#[derive(Debug, Clone, Serialize)]
pub struct InhibitRule {
    pub source_matchers: Vec<Matcher>,
    pub target_matchers: Vec<Matcher>,
    pub equal: Vec<String>,
}

/// The route and inhibit rules of a model's alerts.
pub(crate) fn alertmanager_file(model: &Model, rules: &RuleFile) -> AlertmanagerFile {
    let alerts: Vec<&Rule> = rules
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter(|r| r.alert.is_some())
        .collect();
    AlertmanagerFile {
        route: route(model, &alerts),
        inhibit_rules: model
            .pools
            .iter()
            .flat_map(|pool| inhibit_rules(model, pool, &alerts))
            .collect(),
    }
}

/// The labels every alert carries but `severity`: equality matchers where all alerts
/// agree, `=~` over the values where they differ (the pool label of a multi-pool spec).
fn common_matchers(alerts: &[&Rule]) -> Vec<Matcher> {
    let Some(first) = alerts.first() else {
        return Vec::new();
    };
    first
        .labels
        .keys()
        .filter(|k| *k != "severity")
        .filter(|k| alerts.iter().all(|a| a.labels.contains_key(*k)))
        .map(|k| {
            let values: BTreeSet<&str> = alerts.iter().map(|a| a.labels[k].as_str()).collect();
            let values: Vec<&str> = values.into_iter().collect();
            Matcher::any_of(k, &values)
        })
        .collect()
}

fn route(model: &Model, alerts: &[&Rule]) -> Route {
    let receivers = &model.deploy.receivers;
    let receiver = receivers
        .default
        .clone()
        .unwrap_or_else(|| conventions::PLACEHOLDER_RECEIVER.to_string());
    let mut group_by = vec!["alertname".to_string(), model.pool_label.clone()];
    for pool in &model.pools {
        for l in pool.group_labels() {
            if !group_by.iter().any(|g| g == l) {
                group_by.push(l.to_string());
            }
        }
    }
    let routes = receivers
        .by_severity
        .iter()
        .filter(|(_, r)| *r != receiver)
        .map(|(severity, r)| Route {
            receiver: r.clone(),
            matchers: vec![Matcher::equal("severity", severity)],
            group_by: Vec::new(),
            routes: Vec::new(),
        })
        .collect();
    Route {
        receiver,
        matchers: common_matchers(alerts),
        group_by,
        routes,
    }
}

/// One pool's alerts of one signal, with their severities.
struct Alerts<'a> {
    name: &'static str,
    severities: Vec<&'a str>,
}

fn of_signal<'a>(alerts: &[&'a Rule], pool: &Pool, signal: Signal) -> Alerts<'a> {
    let mut severities: Vec<&str> = alerts
        .iter()
        .filter(|a| a.origin.pool == pool.name && a.origin.signal == Some(signal))
        .filter_map(|a| a.labels.get("severity").map(String::as_str))
        .collect();
    let mut seen = BTreeSet::new();
    severities.retain(|s| seen.insert(*s));
    Alerts {
        name: signal.alert(),
        severities,
    }
}

/// The severities of `of` no louder than `severity`.
fn at_most<'a>(
    of: &Alerts<'a>,
    severity: &str,
    rank: &dyn Fn(&str) -> Option<usize>,
) -> Vec<&'a str> {
    of.severities
        .iter()
        .copied()
        .filter(|t| rank(t) <= rank(severity))
        .collect()
}

/// A pool's inhibit rules: exhaustion silences its high utilization, a signal's louder
/// level its quieter ones, absence every other alert of the pool instance. A source never
/// silences a louder target (a warning never hides a page), except absence, after which
/// the instance's other alerts read no data. Every rule is `equal` on the pool label, the
/// instance's labels and the static labels, so one pool instance never silences another.
fn inhibit_rules(model: &Model, pool: &Pool, alerts: &[&Rule]) -> Vec<InhibitRule> {
    let own: Vec<&Rule> = alerts
        .iter()
        .copied()
        .filter(|a| a.origin.pool == pool.name)
        .collect();
    let base: Vec<Matcher> = common_matchers(&own)
        .into_iter()
        .filter(|m| m.name != "alertname")
        .collect();
    let statics: Vec<&str> = base
        .iter()
        .map(|m| m.name.as_str())
        .filter(|n| *n != model.pool_label)
        .collect();
    let equal = |instance: Vec<&str>| -> Vec<String> {
        let mut out = vec![model.pool_label.clone()];
        for l in instance.into_iter().chain(statics.iter().copied()) {
            if !out.iter().any(|o| o == l) {
                out.push(l.to_string());
            }
        }
        out
    };
    let rank = |s: &str| model.severities.iter().position(|x| x == s);
    let select = |alert: &str, op: MatchOp, severities: Option<Vec<&str>>| {
        let mut m = vec![Matcher::new("alertname", op, alert).expect("an equality matcher")];
        m.extend(base.iter().cloned());
        if let Some(s) = severities {
            m.push(Matcher::any_of("severity", &s));
        }
        m
    };
    let mut out = Vec::new();
    // `source` at severity `s` silences `target` at `severities`, for the same instance.
    let louder_silences =
        |source: &str, s: &str, target: &str, severities: Vec<&str>| InhibitRule {
            source_matchers: select(source, MatchOp::Equal, Some(vec![s])),
            target_matchers: select(target, MatchOp::Equal, Some(severities)),
            equal: equal(pool.group_labels()),
        };
    // A signal's alerts silence the alerts of the signals it names, at no louder severity.
    for def in signals::ALL {
        let source = of_signal(&own, pool, def.signal());
        for key in def.silences {
            let Some(target) = signals::ALL.iter().find(|d| d.info.key == *key) else {
                continue;
            };
            let target = of_signal(&own, pool, target.signal());
            for s in &source.severities {
                let targets = at_most(&target, s, &rank);
                if !targets.is_empty() {
                    out.push(louder_silences(source.name, s, target.name, targets));
                }
            }
        }
    }
    for def in signals::ALL
        .iter()
        .filter(|d| d.info.policy == PolicyShape::Levels)
    {
        let levels = of_signal(&own, pool, def.signal());
        for s in &levels.severities {
            let quieter: Vec<&str> = at_most(&levels, s, &rank)
                .into_iter()
                .filter(|t| rank(t) < rank(s))
                .collect();
            if !quieter.is_empty() {
                out.push(louder_silences(levels.name, s, levels.name, quieter));
            }
        }
    }
    // Absence silences every other alert of the pool instance, which read no data after it.
    for def in signals::ALL
        .iter()
        .filter(|d| d.info.policy == PolicyShape::Presence)
    {
        let absent = of_signal(&own, pool, def.signal());
        if !absent.severities.is_empty() && own.len() > absent.severities.len() {
            out.push(InhibitRule {
                source_matchers: select(absent.name, MatchOp::Equal, None),
                target_matchers: select(absent.name, MatchOp::NotEqual, None),
                equal: equal(pool.covered(pool.presence_role())),
            });
        }
    }
    out
}
