//! The resolved spec: names checked, metric roles bound to catalog entries, numbers and
//! durations parsed. Every later stage works on this model and can rely on its invariants.
//!
//! Architecture Invariant: a `Model` only exists for a spec with no error-level finding;
//! all names in it are valid Prometheus names and every threshold is a finite number.

mod duration;
mod resolve;
mod target;

use std::collections::BTreeMap;

pub(crate) use duration::PromDuration;
pub(crate) use resolve::{did_you_mean, is_label_name, is_metric_name, resolve};
pub(crate) use target::{Feature, PrometheusVersion};

use crate::source::Span;
pub(crate) use crate::spec::{HistogramStorage, MetricKind, Targets, Unit};

/// The whole resolved spec.
#[derive(Debug, Clone)]
pub struct Model {
    /// Name of the spec file, shown in the generated files' header.
    pub(crate) source_name: String,
    pub(crate) name: String,
    pub(crate) title: String,
    pub(crate) runbook_url: String,
    pub(crate) severities: Vec<String>,
    pub(crate) rate_window: PromDuration,
    pub pool_label: String,
    pub catalog: Catalog,
    pub pools: Vec<Pool>,
    pub(crate) dashboard: DashboardOptions,
    pub(crate) deploy: Deploy,
    /// The environment whose overlay was applied, if any.
    pub environment: Option<String>,
    /// Every environment the spec declares, sorted.
    pub(crate) environments: Vec<String>,
    pub(crate) capacity: Option<Capacity>,
    /// Checks silenced for one generated rule each (`lint: {ignore: [...]}`).
    pub(crate) lint_ignores: Vec<Suppression>,
    /// The library's words in texts, and annotation template overrides.
    pub(crate) wording: Wording,
    /// Options put on every generated rule group.
    pub(crate) rule_groups: RuleGroupOptions,
}

/// A rule group's own options (`rule_groups:`), each only where the target has it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleGroupOptions {
    /// The most alerts or series one rule may produce (None: no limit).
    pub(crate) limit: Option<u64>,
    /// How far into the past the group's rules query (None: not at all).
    pub(crate) query_offset: Option<PromDuration>,
}

/// The library's own words for the generated texts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wording {
    /// The setting that sizes the pool (`maximumPoolSize`); empty: "the pool size".
    pub(crate) size_setting: String,
    /// Annotation templates replacing the built-in ones, by alert key.
    pub(crate) templates: BTreeMap<String, String>,
}

/// Capacity planning settings, with the environment's overlay applied.
#[derive(Debug, Clone)]
pub(crate) struct Capacity {
    pub(crate) memory_per_connection: u64,
    pub(crate) memory_budget: Option<u64>,
    pub(crate) expected_pool_size: Option<u32>,
    pub(crate) headroom: f64,
    pub(crate) peak_quantile: f64,
    pub(crate) peak_window: PromDuration,
    pub(crate) undersized: Option<AbsentPolicy>,
}

impl Capacity {
    /// The largest pool the memory budget allows: budget / memory per connection.
    pub(crate) fn memory_ceiling(&self) -> Option<u64> {
        self.memory_budget
            .map(|b| b / self.memory_per_connection.max(1))
    }
}

/// Settings of the deploy targets.
#[derive(Debug, Clone)]
pub(crate) struct Deploy {
    /// PrometheusRule settings; `None` when the spec does not target prometheus-operator.
    pub(crate) operator: Option<Operator>,
    /// Mimir/Cortex ruler namespace (default: the spec name).
    pub(crate) mimir_namespace: String,
    /// Grafana folder the provisioned dashboard goes in.
    pub(crate) grafana_folder: String,
    /// Folder on the Grafana host the provisioning file points at.
    pub(crate) grafana_path: String,
    /// The receivers the spec's alerts are meant for.
    pub(crate) receivers: Receivers,
}

/// The Alertmanager receivers a spec names for its alerts (`deploy.alertmanager`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Receivers {
    /// Receiver of alerts whose severity has none of its own.
    pub(crate) default: Option<String>,
    /// Receiver per severity, in the spec's severity order.
    pub(crate) by_severity: Vec<(String, String)>,
}

impl Receivers {
    /// The receiver an alert of `severity` is meant for, when the spec names one.
    pub(crate) fn intended(&self, severity: &str) -> Option<&str> {
        self.by_severity
            .iter()
            .find(|(s, _)| s == severity)
            .map(|(_, r)| r.as_str())
            .or(self.default.as_deref())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Operator {
    pub(crate) name: String,
    pub(crate) namespace: String,
    /// Labels the Prometheus (or ThanosRuler) `ruleSelector` matches, sorted by name.
    pub(crate) labels: Vec<(String, String)>,
}

/// A check silenced for one rule, with the reason.
#[derive(Debug, Clone)]
pub(crate) struct Suppression {
    /// The alert or recording rule name.
    pub(crate) rule: String,
    pub(crate) code: String,
    pub(crate) reason: String,
    pub(crate) span: Option<Span>,
}

/// The metric catalog, in spec order, indexed by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub(crate) metrics: Vec<Metric>,
    index: BTreeMap<String, usize>,
}

impl Catalog {
    pub(crate) fn insert(&mut self, metric: Metric) -> bool {
        if self.index.contains_key(&metric.name) {
            return false;
        }
        self.index.insert(metric.name.clone(), self.metrics.len());
        self.metrics.push(metric);
        true
    }

    pub fn get(&self, name: &str) -> Option<&Metric> {
        self.index.get(name).map(|&i| &self.metrics[i])
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.metrics.iter().map(|m| m.name.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Metric {
    pub(crate) name: String,
    pub(crate) kind: MetricKind,
    pub(crate) unit: Unit,
    /// What it measures, in the spec's words.
    pub(crate) help: String,
    /// Labels the metric carries besides the target's `job` and `instance`.
    pub labels: Vec<String>,
    /// A histogram's finite bucket bounds, ascending (None: not declared).
    pub(crate) buckets: Option<Vec<f64>>,
    /// How a histogram is stored (classic for other types, which it does not concern).
    pub(crate) storage: HistogramStorage,
}

impl Metric {
    /// Whether a series of this metric has `label` (from itself or from its target).
    pub(crate) fn carries(&self, label: &str) -> bool {
        TARGET_LABELS.contains(&label) || self.labels.iter().any(|l| l == label)
    }

    /// The largest finite bucket bound of a histogram, when declared.
    pub(crate) fn top_bucket(&self) -> Option<f64> {
        self.buckets.as_ref().and_then(|b| b.last().copied())
    }
}

/// Labels every scraped series gets from its target.
pub(crate) const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// What a pool's metrics mean. Each role requires a metric type and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Size,
    Active,
    Available,
    WaitTime,
    AcquisitionTimeouts,
    CreationErrors,
    QueryDuration,
    Waiting,
    WaitCount,
    WaitDuration,
    MaxWait,
}

impl Role {
    pub(crate) const ALL: [Role; 11] = [
        Role::Size,
        Role::Active,
        Role::Available,
        Role::WaitTime,
        Role::AcquisitionTimeouts,
        Role::CreationErrors,
        Role::QueryDuration,
        Role::Waiting,
        Role::WaitCount,
        Role::WaitDuration,
        Role::MaxWait,
    ];

    pub(crate) fn key(self) -> &'static str {
        match self {
            Role::Size => "size",
            Role::Active => "active",
            Role::Available => "available",
            Role::WaitTime => "wait_time",
            Role::AcquisitionTimeouts => "acquisition_timeouts",
            Role::CreationErrors => "creation_errors",
            Role::QueryDuration => "query_duration",
            Role::Waiting => "waiting",
            Role::WaitCount => "wait_count",
            Role::WaitDuration => "wait_duration",
            Role::MaxWait => "max_wait",
        }
    }

    pub(crate) fn kind(self) -> MetricKind {
        match self {
            Role::Size | Role::Active | Role::Available | Role::Waiting | Role::MaxWait => {
                MetricKind::Gauge
            }
            Role::WaitTime | Role::QueryDuration => MetricKind::Histogram,
            Role::AcquisitionTimeouts
            | Role::CreationErrors
            | Role::WaitCount
            | Role::WaitDuration => MetricKind::Counter,
        }
    }

    pub(crate) fn unit(self) -> Unit {
        match self {
            Role::Size | Role::Active | Role::Available | Role::Waiting => Unit::Connections,
            Role::WaitTime | Role::QueryDuration | Role::WaitDuration | Role::MaxWait => {
                Unit::Seconds
            }
            Role::AcquisitionTimeouts | Role::CreationErrors | Role::WaitCount => Unit::Events,
        }
    }
}

/// The catalog metric bound to each role, by name. `size` and `active` always exist; the
/// others are `None` when the pool library has no such metric.
#[derive(Debug, Clone)]
pub struct Roles {
    pub(crate) size: String,
    pub(crate) active: String,
    pub(crate) available: Option<String>,
    pub(crate) wait_time: Option<String>,
    pub(crate) acquisition_timeouts: Option<String>,
    pub(crate) creation_errors: Option<String>,
    pub(crate) query_duration: Option<String>,
    pub(crate) waiting: Option<String>,
    pub(crate) wait_count: Option<String>,
    pub(crate) wait_duration: Option<String>,
    pub(crate) max_wait: Option<String>,
    /// Long-form bindings: per role, (identity label, the metric's label holding it).
    pub(crate) matches: Vec<(Role, Vec<(String, String)>)>,
    /// Histogram roles stored otherwise than as classic series (catalog `storage:`).
    pub(crate) storage: Vec<(Role, HistogramStorage)>,
}

impl Roles {
    /// The roles `metric` binds (size and active always; `None` leaves the others out).
    pub(crate) fn from_fn(
        metric: impl Fn(Role) -> Option<String>,
        matches: Vec<(Role, Vec<(String, String)>)>,
    ) -> Self {
        Roles {
            size: metric(Role::Size).unwrap_or_default(),
            active: metric(Role::Active).unwrap_or_default(),
            available: metric(Role::Available),
            wait_time: metric(Role::WaitTime),
            acquisition_timeouts: metric(Role::AcquisitionTimeouts),
            creation_errors: metric(Role::CreationErrors),
            query_duration: metric(Role::QueryDuration),
            waiting: metric(Role::Waiting),
            wait_count: metric(Role::WaitCount),
            wait_duration: metric(Role::WaitDuration),
            max_wait: metric(Role::MaxWait),
            matches,
            storage: Vec::new(),
        }
    }

    /// How a histogram role's metric is stored (classic unless the catalog says otherwise).
    pub(crate) fn storage(&self, role: Role) -> HistogramStorage {
        self.storage
            .iter()
            .find(|(r, _)| *r == role)
            .map_or(HistogramStorage::Classic, |(_, s)| *s)
    }

    /// Whether the pool has every metric a signal needs.
    pub(crate) fn supports(&self, signal: Signal) -> bool {
        let info = signal.info();
        info.role.is_none_or(|r| self.get(r).is_some())
            && (info.any_of.is_empty() || self.bound_set(signal).is_some())
    }

    /// The first of a signal's alternative sets of roles ([`SignalInfo::any_of`]) the pool
    /// binds whole: the one its expression reads.
    pub(crate) fn bound_set(&self, signal: Signal) -> Option<&'static [Role]> {
        signal
            .info()
            .any_of
            .iter()
            .copied()
            .find(|set| set.iter().all(|r| self.get(*r).is_some()))
    }

    /// The (identity label, metric label) pairs of a role bound in long form.
    pub(crate) fn matches(&self, role: Role) -> &[(String, String)] {
        self.matches
            .iter()
            .find(|(r, _)| *r == role)
            .map_or(&[], |(_, m)| m.as_slice())
    }

    pub fn get(&self, role: Role) -> Option<&str> {
        match role {
            Role::Size => Some(&self.size),
            Role::Active => Some(&self.active),
            Role::Available => self.available.as_deref(),
            Role::WaitTime => self.wait_time.as_deref(),
            Role::AcquisitionTimeouts => self.acquisition_timeouts.as_deref(),
            Role::CreationErrors => self.creation_errors.as_deref(),
            Role::QueryDuration => self.query_duration.as_deref(),
            Role::Waiting => self.waiting.as_deref(),
            Role::WaitCount => self.wait_count.as_deref(),
            Role::WaitDuration => self.wait_duration.as_deref(),
            Role::MaxWait => self.max_wait.as_deref(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub name: String,
    pub(crate) title: String,
    /// Equality matchers, sorted by label name.
    pub selector: Vec<(String, String)>,
    pub(crate) keep_labels: Vec<String>,
    /// Labels identifying one instance of the pool: every rule aggregates by them.
    pub identity: Vec<String>,
    /// Static labels on every alert of the pool (the spec's, then the pool's), sorted.
    pub(crate) labels: Vec<(String, String)>,
    /// Per role, the identity and kept labels its metric's series carry (after `match`).
    pub(crate) coverage: Vec<(Role, Vec<String>)>,
    pub roles: Roles,
    pub(crate) policies: Policies,
    pub(crate) span: Option<Span>,
}

impl Pool {
    /// The labels every rule of the pool aggregates by: the identity, then the kept labels.
    pub fn group_labels(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.identity.iter().map(String::as_str).collect();
        for k in &self.keep_labels {
            if !out.contains(&k.as_str()) {
                out.push(k);
            }
        }
        out
    }

    /// The role whose series say a pool instance exists: the size, unless it is shared by
    /// several instances (bound with `match` to fewer labels), then the active connections.
    pub(crate) fn presence_role(&self) -> Role {
        if self.covered(Role::Size).len() == self.group_labels().len() {
            Role::Size
        } else {
            Role::Active
        }
    }

    /// The grouping labels a role's series carry (all of them unless bound with `match`
    /// to a metric that lacks some, such as a per-database size in a per-user pool).
    pub(crate) fn covered(&self, role: Role) -> Vec<&str> {
        match self.coverage.iter().find(|(r, _)| *r == role) {
            Some((_, c)) => c.iter().map(String::as_str).collect(),
            None => self.group_labels(),
        }
    }
}

/// What the model knows of a signal (what one alert watches): its key, alert, comparison,
/// unit, where the spec sets its policy and which roles it needs. The values are defined by
/// the signal modules (`src/signals/`, one each); the model holds them through [`Signal`].
#[derive(Debug)]
pub struct SignalInfo {
    /// Policy key, template file stem and runbook key.
    pub(crate) key: &'static str,
    /// The alert it raises.
    pub(crate) alert: &'static str,
    pub(crate) comparison: Comparison,
    /// The unit of the compared value.
    pub(crate) unit: ValueUnit,
    pub(crate) policy: PolicyShape,
    /// The optional role it cannot do without (size and active always exist).
    pub(crate) role: Option<Role>,
    /// Where several sources give the value: the role sets of which one must be bound in
    /// full (empty: `role` alone decides).
    pub(crate) any_of: &'static [&'static [Role]],
    /// What its thresholds need of a histogram to be reachable.
    pub(crate) reach: Reach,
}

/// Where the spec sets a signal's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PolicyShape {
    /// `policies.<key>: {levels: [...]}`, thresholded levels.
    Levels,
    /// `policies.<key>: {severity, for, targets}`, the pool's presence.
    Presence,
    /// `capacity.<key>: {severity, for}`, from capacity planning.
    Capacity,
}

/// What a threshold needs of a histogram role to be reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Any finite threshold.
    Any,
    /// A quantile of the role's histogram: below its largest finite bucket.
    BelowTopBucket(Role),
    /// A share above the role's largest finite bucket: the buckets must be declared.
    NeedsBuckets(Role),
}

/// A signal, by handle: equal when its key is.
#[derive(Clone, Copy)]
pub struct Signal(&'static SignalInfo);

impl Signal {
    pub(crate) const fn new(info: &'static SignalInfo) -> Self {
        Signal(info)
    }

    /// Policy key, template file stem and runbook key.
    pub fn key(self) -> &'static str {
        self.0.key
    }

    /// The alert it raises.
    pub fn alert(self) -> &'static str {
        self.0.alert
    }

    pub(crate) fn info(self) -> &'static SignalInfo {
        self.0
    }

    pub(crate) fn comparison(self) -> Comparison {
        self.0.comparison
    }

    pub(crate) fn unit(self) -> ValueUnit {
        self.0.unit
    }
}

impl PartialEq for Signal {
    fn eq(&self, other: &Self) -> bool {
        self.0.key == other.0.key
    }
}

impl Eq for Signal {}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signal({})", self.0.key)
    }
}

/// How a signal's value is compared with a level's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    /// Fires when the value is above the threshold.
    Above,
    /// Fires when the value is at or below the threshold.
    AtOrBelow,
}

impl Comparison {
    pub(crate) fn operator(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtOrBelow => "<=",
        }
    }
}

/// Unit of a signal's value, which decides how thresholds print and are bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueUnit {
    Ratio,
    PerSecond,
    Seconds,
    Connections,
    None,
}

/// A threshold level: a dashboard step, and an alert when it has a severity.
#[derive(Debug, Clone)]
pub(crate) struct Level {
    pub(crate) value: f64,
    pub(crate) color: String,
    pub(crate) alert: Option<AlertLevel>,
    pub(crate) span: Option<Span>,
}

#[derive(Debug, Clone)]
pub(crate) struct AlertLevel {
    pub(crate) severity: String,
    pub(crate) for_: PromDuration,
    /// How long the alert stays firing after its condition stops holding (zero: not at
    /// all), so a value flapping around the threshold keeps one page open.
    pub(crate) keep_firing_for: PromDuration,
}

/// A thresholded signal's levels, least severe first.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) signal: Signal,
    pub(crate) levels: Vec<Level>,
    pub(crate) span: Option<Span>,
}

impl Policy {
    /// The levels that raise an alert, least severe first.
    pub(crate) fn alert_levels(&self) -> impl Iterator<Item = (&Level, &AlertLevel)> {
        self.levels
            .iter()
            .filter_map(|l| l.alert.as_ref().map(|a| (l, a)))
    }
}

/// A policy without a threshold (metrics absent, pool undersized): a severity and a `for`.
#[derive(Debug, Clone)]
pub(crate) struct AbsentPolicy {
    pub(crate) severity: String,
    pub(crate) for_: PromDuration,
    pub(crate) span: Option<Span>,
}

/// The absence alert's policy, and what it knows of the scrape targets.
#[derive(Debug, Clone)]
pub(crate) struct Absence {
    pub(crate) policy: AbsentPolicy,
    pub(crate) targets: Targets,
}

/// A pool's effective policies (the spec's, with the pool's overrides applied).
#[derive(Debug, Clone, Default)]
pub(crate) struct Policies {
    pub(crate) thresholds: Vec<Policy>,
    pub(crate) absent: Option<Absence>,
}

impl Policies {
    pub(crate) fn get(&self, signal: Signal) -> Option<&Policy> {
        self.thresholds.iter().find(|p| p.signal == signal)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct DashboardOptions {
    pub(crate) base_color: String,
    pub(crate) refresh: String,
    pub(crate) time_from: String,
}
