//! The change in words: two digests of each variant (before and after a change) compared
//! item by item, each difference one sentence a person on call understands ("fires above
//! 85% instead of 90%, for 5m").

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::digest::{AlertFacts, AlertKey, Digest, PanelFacts, PanelKey, RecordKey, VariantKey};

/// What a change does, per spec and environment.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Summary {
    /// What the change is compared with: a git ref.
    pub(crate) base: String,
    pub(crate) variants: Vec<VariantChanges>,
    /// What the summary could not see (a spec new at the base, a spec not in git).
    pub(crate) notes: Vec<String>,
}

impl Summary {
    pub(crate) fn is_empty(&self) -> bool {
        self.variants.iter().all(|v| v.changes.is_empty())
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct VariantChanges {
    pub(crate) spec: String,
    pub(crate) environment: Option<String>,
    pub(crate) status: Status,
    pub(crate) changes: Vec<Change>,
}

impl VariantChanges {
    pub(crate) fn title(&self) -> String {
        VariantKey {
            spec: self.spec.clone(),
            env: self.environment.clone(),
        }
        .to_string()
    }
}

/// Whether a variant is new, gone, or in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Added,
    Removed,
    Changed,
}

/// One difference, in one sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Change {
    pub(crate) subject: Subject,
    /// The alert, recorded series, panel or runbook section.
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) sentence: String,
    /// An expression before and after, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Subject {
    Alert,
    RecordingRule,
    Panel,
    DashboardThresholds,
    RunbookSection,
}

impl Subject {
    pub(crate) fn words(self) -> &'static str {
        match self {
            Subject::Alert => "alert",
            Subject::RecordingRule => "recording rule",
            Subject::Panel => "panel",
            Subject::DashboardThresholds => "dashboard thresholds of",
            Subject::RunbookSection => "runbook section",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Added,
    Removed,
    Renamed,
    Changed,
}

/// Compares the variants before and after, in key order; variants without a difference
/// are left out.
pub(crate) fn summarize(
    base: &str,
    old: &BTreeMap<VariantKey, Digest>,
    new: &BTreeMap<VariantKey, Digest>,
    notes: Vec<String>,
) -> Summary {
    let keys: BTreeSet<&VariantKey> = old.keys().chain(new.keys()).collect();
    let empty = Digest::default();
    let variants = keys
        .into_iter()
        .filter_map(|k| {
            let (o, n) = (old.get(k), new.get(k));
            let status = match (o, n) {
                (None, _) => Status::Added,
                (_, None) => Status::Removed,
                _ => Status::Changed,
            };
            let mut changes = compare(o.unwrap_or(&empty), n.unwrap_or(&empty), &k.spec);
            if status != Status::Changed {
                collapse(&mut changes, status);
            }
            (!changes.is_empty()).then(|| VariantChanges {
                spec: k.spec.clone(),
                environment: k.env.clone(),
                status,
                changes,
            })
        })
        .collect();
    Summary {
        base: base.to_string(),
        variants,
        notes,
    }
}

/// A variant added or removed as a whole: its alerts one by one (what on-call gains or
/// loses), the rest counted in one sentence per kind.
fn collapse(changes: &mut Vec<Change>, status: Status) {
    let verb = if status == Status::Added {
        "new"
    } else {
        "gone"
    };
    let mut counts: Vec<(Subject, usize)> = Vec::new();
    changes.retain(|c| {
        if c.subject == Subject::Alert {
            return true;
        }
        match counts.iter_mut().find(|(s, _)| *s == c.subject) {
            Some((_, n)) => *n += 1,
            None => counts.push((c.subject, 1)),
        }
        false
    });
    let kind = if status == Status::Added {
        Kind::Added
    } else {
        Kind::Removed
    };
    for (subject, n) in counts {
        let what = match subject {
            Subject::RecordingRule => "recorded series",
            Subject::Panel | Subject::DashboardThresholds => "panels",
            _ => "runbook sections",
        };
        changes.push(change(
            subject,
            "",
            kind,
            format!("{n} {what} {verb} with it"),
        ));
    }
}

/// Every difference between two digests of one variant.
pub(crate) fn compare(old: &Digest, new: &Digest, spec: &str) -> Vec<Change> {
    let mut out = alerts(&old.alerts, &new.alerts, spec);
    out.extend(records(&old.records, &new.records, spec));
    out.extend(panels(&old.panels, &new.panels));
    out.extend(runbook(&old.runbook, &new.runbook));
    out
}

fn change(subject: Subject, name: &str, kind: Kind, sentence: String) -> Change {
    Change {
        subject,
        name: name.to_string(),
        kind,
        sentence,
        before: None,
        after: None,
    }
}

/// An alert's name as a reviewer reads it: with its pool when the pool is not named
/// after the spec (a spec of several pools).
fn alert_name(k: &AlertKey, spec: &str) -> String {
    pooled(&k.name, &k.pool, spec)
}

/// A rule's name, with its pool when the pool is not named after the spec.
fn pooled(name: &str, pool: &str, spec: &str) -> String {
    if pool == spec || pool.is_empty() {
        name.to_string()
    } else {
        format!("{name} (pool {pool})")
    }
}

/// When an alert fires, in words: "fires above 90% for 5m, severity warning".
fn fires(a: &AlertFacts) -> String {
    let when = a.threshold.map_or_else(
        || "fires on its condition".to_string(),
        |t| format!("fires {}", t.describe()),
    );
    let for_ = a
        .for_
        .as_deref()
        .map_or(String::new(), |f| format!(" for {f}"));
    let severity = a
        .severity
        .as_deref()
        .map_or(String::new(), |s| format!(", severity {s}"));
    format!("{when}{for_}{severity}")
}

fn alerts(
    old: &BTreeMap<AlertKey, AlertFacts>,
    new: &BTreeMap<AlertKey, AlertFacts>,
    spec: &str,
) -> Vec<Change> {
    let mut removed: Vec<&AlertKey> = old.keys().filter(|k| !new.contains_key(*k)).collect();
    let mut added: Vec<&AlertKey> = new.keys().filter(|k| !old.contains_key(*k)).collect();
    let mut out = Vec::new();
    // A rename: the same signal and level of the same pool under a new name, or of a
    // renamed pool under the same name.
    let mut renames = Vec::new();
    removed.retain(|r| {
        let o = &old[*r];
        let partner = added.iter().position(|a| {
            let n = &new[*a];
            o.signal.is_some()
                && o.signal == n.signal
                && r.level == a.level
                && (r.pool == a.pool || r.name == a.name)
        });
        match partner {
            Some(i) => {
                renames.push((*r, added.remove(i)));
                false
            }
            None => true,
        }
    });
    for k in old.keys() {
        if let Some(n) = new.get(k) {
            out.extend(alert_changes(&alert_name(k, spec), &old[k], n));
        } else if let Some((_, to)) = renames.iter().find(|(from, _)| *from == k) {
            let what = if k.pool == to.pool {
                format!("renamed to {}", to.name)
            } else {
                format!("now for pool {} instead of {}", to.pool, k.pool)
            };
            out.push(change(
                Subject::Alert,
                &alert_name(k, spec),
                Kind::Renamed,
                what,
            ));
            out.extend(alert_changes(&alert_name(to, spec), &old[k], &new[*to]));
        } else if removed.contains(&k) {
            out.push(change(
                Subject::Alert,
                &alert_name(k, spec),
                Kind::Removed,
                format!("removed; it {}", fires(&old[k])),
            ));
        }
    }
    for k in added {
        out.push(change(
            Subject::Alert,
            &alert_name(k, spec),
            Kind::Added,
            format!("new alert: {}", fires(&new[k])),
        ));
    }
    out
}

/// The differences of one alert present on both sides, one sentence each.
fn alert_changes(name: &str, o: &AlertFacts, n: &AlertFacts) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |sentence: String| {
        out.push(change(Subject::Alert, name, Kind::Changed, sentence));
    };
    let threshold_moved = o.threshold != n.threshold;
    if threshold_moved || o.for_ != n.for_ {
        let when = match (o.threshold, n.threshold) {
            (Some(a), Some(b)) if threshold_moved && a.comparison == b.comparison => {
                format!("fires {} instead of {}", b.describe(), a.amount())
            }
            (Some(a), Some(b)) if threshold_moved => {
                format!("fires {} instead of {}", b.describe(), a.describe())
            }
            (_, Some(b)) => format!("fires {}", b.describe()),
            (_, None) => "fires on its condition".to_string(),
        };
        let for_ = match (&o.for_, &n.for_) {
            (a, b) if a == b => b.as_deref().map_or(String::new(), |f| format!(", for {f}")),
            (Some(a), Some(b)) => format!(", for {b} instead of {a}"),
            (None, Some(b)) => format!(", for {b} instead of at once"),
            (Some(a), None) => format!(", at once instead of after {a}"),
            (None, None) => String::new(),
        };
        push(format!("{when}{for_}"));
    }
    if o.severity != n.severity {
        let s = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".into());
        push(format!(
            "severity {} instead of {}",
            s(&n.severity),
            s(&o.severity)
        ));
    }
    let labels: BTreeSet<&String> = o.routing.keys().chain(n.routing.keys()).collect();
    for l in labels {
        match (o.routing.get(l), n.routing.get(l)) {
            (Some(a), Some(b)) if a != b => {
                push(format!("routing label {l}={b} instead of {l}={a}"))
            }
            (None, Some(b)) => push(format!("new routing label {l}={b}")),
            (Some(a), None) => push(format!("routing label {l}={a} removed")),
            _ => {}
        }
    }
    if o.value_expr != n.value_expr {
        out.push(Change {
            before: Some(o.value_expr.clone()),
            after: Some(n.value_expr.clone()),
            ..change(
                Subject::Alert,
                name,
                Kind::Changed,
                "watches a new expression".to_string(),
            )
        });
    }
    out
}

fn records(
    old: &BTreeMap<RecordKey, String>,
    new: &BTreeMap<RecordKey, String>,
    spec: &str,
) -> Vec<Change> {
    let changed = |name: String, o: &String, n: &String| Change {
        before: Some(o.clone()),
        after: Some(n.clone()),
        ..change(
            Subject::RecordingRule,
            &name,
            Kind::Changed,
            "records a new expression".into(),
        )
    };
    keyed(
        (old, new),
        |k| pooled(&k.name, &k.pool, spec),
        Subject::RecordingRule,
        [
            "removed: nothing records this series any more",
            "new recorded series",
        ],
        changed,
    )
}

/// Items found by key on both sides: those removed (`words[0]`), changed (`changed`
/// says how) and added (`words[1]`), in key order.
fn keyed<K: Ord, V: PartialEq>(
    (old, new): (&BTreeMap<K, V>, &BTreeMap<K, V>),
    name: impl Fn(&K) -> String,
    subject: Subject,
    words: [&str; 2],
    changed: impl Fn(String, &V, &V) -> Change,
) -> Vec<Change> {
    let mut out = Vec::new();
    for (k, o) in old {
        match new.get(k) {
            None => out.push(change(subject, &name(k), Kind::Removed, words[0].into())),
            Some(n) if n != o => out.push(changed(name(k), o, n)),
            Some(_) => {}
        }
    }
    for k in new.keys().filter(|k| !old.contains_key(*k)) {
        out.push(change(subject, &name(k), Kind::Added, words[1].into()));
    }
    out
}

/// A panel as a reviewer finds it: by title, and row when it is in one.
fn panel_name(k: &PanelKey, p: &PanelFacts) -> String {
    if p.row.is_empty() {
        format!("\"{}\"", k.title)
    } else {
        format!("\"{}\" (row {})", k.title, p.row)
    }
}

fn place(p: &PanelFacts) -> String {
    let [x, y, w, h] = p.grid;
    format!("column {x}, {y} rows into its row, {w}x{h}")
}

/// The threshold steps above the base colour: "yellow 70, red 90".
fn steps(p: &PanelFacts) -> String {
    let s: Vec<String> = p
        .steps
        .iter()
        .filter_map(|(color, v)| v.map(|v| format!("{color} {}", crate::conventions::number(v))))
        .collect();
    if s.is_empty() {
        "no steps".to_string()
    } else {
        format!("steps {}", s.join(", "))
    }
}

fn panels(
    old: &BTreeMap<PanelKey, PanelFacts>,
    new: &BTreeMap<PanelKey, PanelFacts>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for (k, o) in old {
        let name = panel_name(k, o);
        let Some(n) = new.get(k) else {
            out.push(change(
                Subject::Panel,
                &name,
                Kind::Removed,
                "removed".into(),
            ));
            continue;
        };
        let mut push =
            |subject, sentence| out.push(change(subject, &name, Kind::Changed, sentence));
        if o.row != n.row {
            let row = |r: &str| {
                if r.is_empty() {
                    "no row".to_string()
                } else {
                    format!("row {r}")
                }
            };
            push(
                Subject::Panel,
                format!("now in {} instead of {}", row(&n.row), row(&o.row)),
            );
        }
        if o.grid != n.grid {
            push(
                Subject::Panel,
                format!("moved to {} from {}", place(n), place(o)),
            );
        }
        if o.kind != n.kind {
            push(
                Subject::Panel,
                format!("a {} instead of a {}", n.kind, o.kind),
            );
        }
        if o.unit != n.unit {
            push(
                Subject::Panel,
                format!("unit {} instead of {}", n.unit, o.unit),
            );
        }
        if o.repeat != n.repeat {
            let r = |r: &Option<String>| {
                r.as_ref().map_or_else(
                    || "shown once".to_string(),
                    |v| format!("repeated per ${v}"),
                )
            };
            push(
                Subject::Panel,
                format!("{} instead of {}", r(&n.repeat), r(&o.repeat)),
            );
        }
        if o.steps != n.steps {
            push(
                Subject::DashboardThresholds,
                format!("{} instead of {}", steps(n), steps(o)),
            );
        }
        if o.exprs != n.exprs {
            out.push(Change {
                before: Some(o.exprs.join("\n")),
                after: Some(n.exprs.join("\n")),
                ..change(
                    Subject::Panel,
                    &name,
                    Kind::Changed,
                    "queries changed".into(),
                )
            });
        }
    }
    for (k, n) in new.iter().filter(|(k, _)| !old.contains_key(*k)) {
        out.push(change(
            Subject::Panel,
            &panel_name(k, n),
            Kind::Added,
            format!("new {} panel ({}), at {}", n.kind, n.unit, place(n)),
        ));
    }
    out
}

fn runbook(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<Change> {
    let subject = Subject::RunbookSection;
    keyed(
        (old, new),
        String::clone,
        subject,
        ["removed", "new section"],
        |name, _, _| change(subject, &name, Kind::Changed, "text changed".into()),
    )
}
