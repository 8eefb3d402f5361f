//! The spec as written: raw YAML deserialized into serde structs that keep source spans.
//!
//! Nothing here is validated beyond YAML syntax, field names and field types; resolving names,
//! numbers and durations into a typed model is [`crate::model`]'s job.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Sources, Span};

mod groups;
pub(crate) use groups::RawRuleGroups;

/// The spec format version this build reads.
pub(crate) const SPEC_VERSION: u32 = 1;

/// Largest spec accepted, in bytes. A pool spec is a few kilobytes; a fleet of 1,000 pools
/// is about a megabyte.
pub const MAX_SPEC_BYTES: usize = 64 * 1024 * 1024;

pub(crate) const YAML: Code = Code {
    code: "PW001",
    name: "invalid-yaml",
};

/// The K2 spec built into the binary, used when no `--spec` is given.
pub const BUILTIN_K2: &str = include_str!("../../specs/k2.yaml");
/// The name the built-in spec is shown under (its path in the repository).
pub(crate) const BUILTIN_K2_NAME: &str = "specs/k2.yaml";

/// Starter specs for `poolwatch init --preset NAME`: (name, what it is, text).
pub const PRESETS: [(&str, &str, &str); 4] = [
    (
        "k2",
        "K2 query engine (DuckDB pool), the built-in spec",
        BUILTIN_K2,
    ),
    (
        "hikaricp",
        "HikariCP (Java) through Micrometer",
        include_str!("../../specs/presets/hikaricp.yaml"),
    ),
    (
        "pgbouncer",
        "PgBouncer through pgbouncer_exporter",
        include_str!("../../specs/presets/pgbouncer.yaml"),
    ),
    (
        "go-sql",
        "Go database/sql through sqlstats",
        include_str!("../../specs/presets/go-sql.yaml"),
    ),
];

/// A preset's text by name.
pub fn preset(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|p| p.0 == name).map(|p| p.2)
}

/// A value with the place it was written.
pub(crate) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    pub(crate) version: S<u32>,
    pub(crate) name: S<String>,
    #[serde(default)]
    pub(crate) title: Option<S<String>>,
    pub(crate) runbook_url: S<String>,
    #[serde(default)]
    pub(crate) severities: Option<Vec<S<String>>>,
    #[serde(default)]
    pub(crate) rate_window: Option<S<String>>,
    /// The label each pool's alerts and recorded series carry with the pool name.
    #[serde(default)]
    pub(crate) pool_label: Option<S<String>>,
    pub(crate) catalog: Vec<RawMetric>,
    pub(crate) pools: Vec<RawPool>,
    pub(crate) policies: RawPolicies,
    #[serde(default)]
    pub(crate) dashboard: Option<RawDashboard>,
    /// Settings of the deploy targets (prometheus-operator, Mimir, Grafana provisioning).
    #[serde(default)]
    pub(crate) deploy: Option<RawDeploy>,
    /// Capacity planning: recommended pool size, memory ceiling, the undersized alert.
    #[serde(default)]
    pub(crate) capacity: Option<S<RawCapacity>>,
    /// Per-environment overlays, by environment name.
    #[serde(default)]
    pub(crate) environments: BTreeMap<String, S<RawEnvironment>>,
    /// Checks silenced for single generated rules.
    #[serde(default)]
    pub(crate) lint: Option<RawLint>,
    /// Static labels put on every alert of every pool (routing: `team`, `service`).
    #[serde(default)]
    pub(crate) labels: BTreeMap<String, S<String>>,
    /// The words annotation texts use for this library, and template overrides.
    #[serde(default)]
    pub(crate) wording: Option<RawWording>,
    /// The Prometheus release the generated files are for (`"3"`, `"2.53"`; default 3).
    #[serde(default)]
    pub(crate) prometheus: Option<S<String>>,
    /// Options of every generated rule group (`limit`, `query_offset`).
    #[serde(default)]
    pub(crate) rule_groups: Option<S<RawRuleGroups>>,
}

/// The library's own words: the setting that sizes the pool, and annotation templates that
/// replace the built-in ones, by alert key (`utilization`, `exhausted`, ...).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWording {
    /// The setting that sizes the pool: `maximumPoolSize`, `default_pool_size`, ...
    #[serde(default)]
    pub(crate) size_setting: Option<S<String>>,
    /// minijinja text per alert key, with `summary` and `description` blocks.
    #[serde(default)]
    pub(crate) templates: BTreeMap<String, S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCapacity {
    /// Memory one connection may use, e.g. `50MB`.
    pub(crate) memory_per_connection: S<String>,
    /// Memory the pool may use in all, e.g. `4GB`; with `memory_per_connection` it gives the
    /// largest pool that fits.
    #[serde(default)]
    pub(crate) memory_budget: Option<S<String>>,
    /// The pool size this deployment is meant to run with.
    #[serde(default)]
    pub(crate) expected_pool_size: Option<S<u32>>,
    /// Factor over the peak (1.2 is the runbook's 20% buffer).
    #[serde(default)]
    pub(crate) headroom: Option<S<f64>>,
    /// Quantile of concurrent use taken as the peak (0.99).
    #[serde(default)]
    pub(crate) peak_quantile: Option<S<f64>>,
    /// Window the peak is taken over (1d).
    #[serde(default)]
    pub(crate) peak_window: Option<S<String>>,
    /// Alert when the recommended size stays above the configured one.
    #[serde(default)]
    pub(crate) undersized: Option<S<RawAbsent>>,
}

/// An environment's overlay: its sizing and any policies that differ.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEnvironment {
    #[serde(default)]
    pub(crate) expected_pool_size: Option<S<u32>>,
    #[serde(default)]
    pub(crate) memory_budget: Option<S<String>>,
    #[serde(default)]
    pub(crate) policies: Option<RawPolicies>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeploy {
    #[serde(default)]
    pub(crate) operator: Option<S<RawOperator>>,
    #[serde(default)]
    pub(crate) mimir: Option<RawMimir>,
    #[serde(default)]
    pub(crate) grafana: Option<RawGrafana>,
    #[serde(default)]
    pub(crate) alertmanager: Option<RawAlertmanager>,
}

/// The Alertmanager receivers the spec's alerts are meant for: the suggested route's
/// receiver, and one per severity (`check --alertmanager` holds a real config to them).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlertmanager {
    /// Receiver of every alert whose severity has none of its own.
    #[serde(default)]
    pub(crate) receiver: Option<S<String>>,
    /// Receiver per severity, e.g. `{critical: db-pager}`.
    #[serde(default)]
    pub(crate) receivers: BTreeMap<String, S<String>>,
}

/// prometheus-operator's PrometheusRule: where it lives and the labels its Prometheus's
/// `ruleSelector` matches.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperator {
    pub(crate) namespace: S<String>,
    #[serde(default)]
    pub(crate) name: Option<S<String>>,
    #[serde(default)]
    pub(crate) labels: BTreeMap<String, S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMimir {
    pub(crate) namespace: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGrafana {
    #[serde(default)]
    pub(crate) folder: Option<S<String>>,
    #[serde(default)]
    pub(crate) path: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLint {
    #[serde(default)]
    pub(crate) ignore: Vec<RawIgnore>,
}

/// `{rule: ConnectionPoolHighUtilization, code: PW205, reason: ...}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIgnore {
    pub(crate) rule: S<String>,
    pub(crate) code: S<String>,
    pub(crate) reason: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetric {
    pub(crate) name: S<String>,
    #[serde(rename = "type")]
    pub(crate) kind: S<MetricKind>,
    pub(crate) unit: S<Unit>,
    /// What the metric measures; the runbook's metrics table prints it.
    pub(crate) help: S<String>,
    /// Labels the metric itself carries, besides the scrape target's `job` and `instance`.
    #[serde(default)]
    pub(crate) labels: Vec<S<String>>,
    /// A histogram's finite bucket bounds (`le`), ascending.
    #[serde(default)]
    pub(crate) buckets: Option<S<Vec<S<f64>>>>,
    /// How Prometheus stores a histogram: classic series, native histograms, or both.
    #[serde(default)]
    pub(crate) storage: Option<S<HistogramStorage>>,
}

/// How a histogram reaches Prometheus's storage, which decides the PromQL that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum HistogramStorage {
    /// `_bucket` (with `le`), `_sum` and `_count` float series.
    #[default]
    Classic,
    /// One native-histogram series per label set: exponential buckets, or classic ones
    /// converted to custom buckets (NHCB, `convert_classic_histograms_to_nhcb`).
    Native,
    /// A migration: some series native, some classic, or both kept
    /// (`always_scrape_classic_histograms`); native is read where present.
    Both,
}

impl HistogramStorage {
    /// Whether native-histogram series may hold the data.
    pub(crate) fn has_native(self) -> bool {
        self != HistogramStorage::Classic
    }
}

/// As the spec spells it (`native`), for messages.
impl std::fmt::Display for HistogramStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HistogramStorage::Classic => "classic",
            HistogramStorage::Native => "native",
            HistogramStorage::Both => "both",
        })
    }
}

/// Prometheus metric types the catalog knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MetricKind {
    Gauge,
    Counter,
    Histogram,
}

/// Units a catalog metric is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Unit {
    /// Time, in seconds.
    Seconds,
    /// Size, in bytes.
    Bytes,
    /// A 0..1 ratio.
    Ratio,
    /// A 0..100 percentage.
    Percent,
    /// A number of connections.
    Connections,
    /// A count of events (errors, timeouts); its rate is events per second.
    Events,
}

/// As the spec spells it (`gauge`), for messages.
impl std::fmt::Display for MetricKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
            MetricKind::Histogram => "histogram",
        })
    }
}

/// As the spec spells it (`seconds`), for messages.
impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unit::Seconds => "seconds",
            Unit::Bytes => "bytes",
            Unit::Ratio => "ratio",
            Unit::Percent => "percent",
            Unit::Connections => "connections",
            Unit::Events => "events",
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPool {
    pub(crate) name: S<String>,
    #[serde(default)]
    pub(crate) title: Option<S<String>>,
    #[serde(default)]
    pub(crate) selector: BTreeMap<String, S<String>>,
    #[serde(default)]
    pub(crate) keep_labels: Vec<S<String>>,
    /// Labels that identify one instance of the pool (default `[job, instance]`).
    #[serde(default)]
    pub(crate) identity: Option<S<Vec<S<String>>>>,
    /// Static labels put on every alert of this pool, over the spec's.
    #[serde(default)]
    pub(crate) labels: BTreeMap<String, S<String>>,
    pub(crate) metrics: RawRoles,
    /// Per-pool overrides of the spec's policies, signal by signal.
    #[serde(default)]
    pub(crate) policies: Option<RawPolicies>,
}

/// Which catalog metric plays which role for a pool. `size` and `active` are required;
/// a pool library that lacks a metric leaves its role out, and the alerts and panels that
/// need it are not generated for that pool.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoles {
    pub(crate) size: S<RawBinding>,
    pub(crate) active: S<RawBinding>,
    /// Idle connections (informational: lazily created pools have none idle when healthy).
    #[serde(default)]
    pub(crate) available: Option<S<RawBinding>>,
    #[serde(default)]
    pub(crate) wait_time: Option<S<RawBinding>>,
    #[serde(default)]
    pub(crate) acquisition_timeouts: Option<S<RawBinding>>,
    #[serde(default)]
    pub(crate) creation_errors: Option<S<RawBinding>>,
    #[serde(default)]
    pub(crate) query_duration: Option<S<RawBinding>>,
    /// Clients or threads waiting for a connection (gauge).
    #[serde(default)]
    pub(crate) waiting: Option<S<RawBinding>>,
    /// Waits for a connection (counter).
    #[serde(default)]
    pub(crate) wait_count: Option<S<RawBinding>>,
    /// Seconds waited for a connection (counter).
    #[serde(default)]
    pub(crate) wait_duration: Option<S<RawBinding>>,
    /// The longest current wait, seconds (gauge).
    #[serde(default)]
    pub(crate) max_wait: Option<S<RawBinding>>,
}

/// A role's metric: its name, or `{metric: NAME, match: {identity_label: metric_label}}`
/// when the metric names an identity label differently (pgbouncer's per-database
/// `pool_size` has the database in `name`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawBinding {
    pub(crate) metric: String,
    /// (identity label, the metric's label holding its value), sorted.
    pub(crate) matches: Vec<(String, String)>,
}

impl<'de> Deserialize<'de> for RawBinding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawBinding;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a metric name or {metric, match}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawBinding, E> {
                Ok(RawBinding {
                    metric: v.to_string(),
                    matches: Vec::new(),
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawBinding, A::Error> {
                let mut metric = None;
                let mut matches: Option<BTreeMap<String, String>> = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "metric" if metric.is_none() => metric = Some(map.next_value()?),
                        "match" if matches.is_none() => matches = Some(map.next_value()?),
                        "metric" | "match" => {
                            return Err(serde::de::Error::duplicate_field("metric or match"));
                        }
                        other => {
                            return Err(serde::de::Error::unknown_field(
                                other,
                                &["metric", "match"],
                            ));
                        }
                    }
                }
                Ok(RawBinding {
                    metric: metric.ok_or_else(|| serde::de::Error::missing_field("metric"))?,
                    matches: matches.unwrap_or_default().into_iter().collect(),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// The policies, by signal key (`utilization`, `exhausted`, `absent`, ...). Which keys exist
/// is the list of signals (`src/signals/`): the model checks them when it resolves the spec.
pub(crate) type RawPolicies = BTreeMap<String, S<RawPolicy>>;

/// One signal's policy: `levels` for a thresholded signal; `severity`, `for` and `targets`
/// for the pool's presence (`absent`). Which of them a key takes is checked on resolution.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    #[serde(default)]
    pub(crate) levels: Option<Vec<S<RawLevel>>>,
    #[serde(default)]
    pub(crate) severity: Option<S<String>>,
    #[serde(default, rename = "for")]
    pub(crate) for_: Option<S<String>>,
    #[serde(default)]
    pub(crate) targets: Option<S<Targets>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLevel {
    pub(crate) value: S<f64>,
    pub(crate) color: S<String>,
    #[serde(default)]
    pub(crate) severity: Option<S<String>>,
    #[serde(default, rename = "for")]
    pub(crate) for_: Option<S<String>>,
    /// How long the alert stays firing once its condition stops holding.
    #[serde(default)]
    pub(crate) keep_firing_for: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAbsent {
    pub(crate) severity: S<String>,
    #[serde(rename = "for")]
    pub(crate) for_: S<String>,
}

/// What the absence alert knows of the scrape targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub(crate) enum Targets {
    /// The scrape's own `up` series, joined on `(job, instance)`: an instance whose target
    /// left service discovery (its `up` ended) is no incident; a target that answers but
    /// stopped exporting, or that is down, is.
    #[default]
    #[serde(rename = "up")]
    Up,
    /// No `up` where the rules are evaluated: every instance that stopped exporting within
    /// the lookback pages, a replaced one too.
    #[serde(rename = "none")]
    Unchecked,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDashboard {
    #[serde(default)]
    pub(crate) base_color: Option<S<String>>,
    #[serde(default)]
    pub(crate) refresh: Option<S<String>>,
    #[serde(default)]
    pub(crate) time_from: Option<S<String>>,
}

/// A spec's text with its name, as read by the `write`-free edge of the program.
#[derive(Debug, Clone)]
pub struct SpecSource {
    pub name: String,
    pub text: String,
}

impl SpecSource {
    pub fn builtin() -> Self {
        Self {
            name: BUILTIN_K2_NAME.to_string(),
            text: BUILTIN_K2.to_string(),
        }
    }
}

/// Converts a serde-saphyr location into a span in `file`.
pub(crate) fn span_of(
    sources: &Sources,
    file: FileId,
    loc: &serde_saphyr::Location,
) -> Option<Span> {
    if loc.line() == 0 {
        return None;
    }
    let span = loc.span();
    let start = match span.byte_offset() {
        Some(b) => usize::try_from(b).ok()?,
        None => sources.offset_of(file, loc.line() as usize, loc.column() as usize)?,
    };
    let len = span
        .byte_len()
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(1)
        .max(1);
    let text_len = sources.get(file)?.text.len();
    let start = start.min(text_len);
    Some(Span::new(file, start..(start + len).min(text_len)))
}

/// Span of a spanned spec value.
pub(crate) fn span<T>(sources: &Sources, file: FileId, v: &S<T>) -> Option<Span> {
    span_of(sources, file, &v.referenced)
}

/// Options for every YAML document poolwatch reads: duplicate keys are errors, alias
/// expansion and nesting are bounded (serde-saphyr's defaults guard against alias bombs).
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.with_snippet = false;
    options
}

/// Deserializes any YAML document into `T`, mapping a failure to a located diagnostic.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    sources: &Sources,
    file: FileId,
) -> Result<T, Diagnostic> {
    let text = sources.get(file).map_or("", |f| f.text.as_str());
    serde_saphyr::from_str_with_options::<T>(text, yaml_options())
        .map_err(|e| yaml_diagnostic(&e, sources, file))
}

/// Turns a serde-saphyr error into a diagnostic: a plain-words message, the caret on the
/// offending text, and help where there is something to suggest.
pub(crate) fn yaml_diagnostic(
    e: &serde_saphyr::Error,
    sources: &Sources,
    file: FileId,
) -> Diagnostic {
    use serde_saphyr::Error as E;
    let text = sources.get(file).map_or("", |f| f.text.as_str());
    let mut span = e.location().and_then(|l| span_of(sources, file, &l));
    let mut help: Vec<String> = Vec::new();
    let mut e = e.without_snippet();
    let mut via_alias = false;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = e {
        via_alias |= matches!(e, E::AliasError { .. });
        e = error;
    }
    if via_alias {
        help.push("the value comes from expanding an alias (`*name`)".to_string());
    }
    let found = span.as_ref().map(|s| found_at(text, s.range.start));
    let (message, label) = match e {
        E::Unexpected { expected, .. } => {
            let expected = match *expected {
                "string scalar" | "scalar" => "a single value (text or a number)",
                "sequence start" => "a list",
                "mapping start" => "a mapping of `key: value` pairs",
                other => other,
            };
            let found = found.unwrap_or("something else");
            (
                format!("expected {expected}, found {found}"),
                format!("this is {found}"),
            )
        }
        E::InvalidScalar { ty, .. } => {
            let what = match *ty {
                "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, like `1`",
                "f32" | "f64" | "floating point" => "a number, like `0.9` or `5`",
                "bool" | "boolean" => "`true` or `false`",
                other => other,
            };
            (
                format!("expected {what}"),
                "not a valid value here".to_string(),
            )
        }
        E::DuplicateMappingKey { key, .. } => {
            help.push("YAML keeps only one of the two; remove or rename one".to_string());
            let key = key.as_deref().unwrap_or("?");
            (
                format!("key `{key}` appears twice in the same mapping"),
                "second occurrence".to_string(),
            )
        }
        E::SerdeUnknownField {
            field, expected, ..
        } => unknown_name("field", field, expected, &mut help),
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => unknown_name("value", variant, expected, &mut help),
        E::SerdeMissingField { field, .. } => (
            format!("missing field `{field}`"),
            format!("this mapping has no `{field}`"),
        ),
        E::Eof { .. } => (
            "the spec ends in the middle of a value".to_string(),
            "ends here".to_string(),
        ),
        E::Budget { breach, .. } => {
            help.push(NESTING_HELP.to_string());
            (
                budget_message(breach, via_alias),
                "limit exceeded".to_string(),
            )
        }
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. } => {
            help.push("write values out instead of repeating them through aliases".to_string());
            (
                "YAML aliases (`*name`) expand to too much data".to_string(),
                "limit exceeded".to_string(),
            )
        }
        other => {
            let message = clean_yaml_message(&other.to_string());
            if message.contains("recursion limit") {
                help.push(NESTING_HELP.to_string());
                (
                    format!(
                        "the YAML is nested more than {} levels deep",
                        serde_saphyr::Budget::default().flow_nesting_limit
                    ),
                    "limit exceeded".to_string(),
                )
            } else if message.contains("found a tab") {
                (
                    "a tab character where YAML allows only spaces".to_string(),
                    "tab".to_string(),
                )
            } else {
                if message.contains("mapping values are not allowed") {
                    help.push(
                        "check the indentation: a `key:` cannot follow a value on the same \
                         level, nor be indented under a key that already has a value"
                            .to_string(),
                    );
                }
                (message, "here".to_string())
            }
        }
    };
    // The scanner reports a tab at the start of the token it was reading; point at the tab.
    if label == "tab"
        && let Some(s) = &span
        && let Some(i) = text.get(s.range.start..).and_then(|t| t.find('\t'))
    {
        let at = s.range.start + i;
        span = Some(Span::new(file, at..at + 1));
    }
    let mut d = Diagnostic::error(YAML, message).at(span).label(label);
    for h in help {
        d = d.help(h);
    }
    d
}

/// "unknown field `x`" with a did-you-mean and the names allowed here.
fn unknown_name(
    what: &str,
    name: &str,
    expected: &[&'static str],
    help: &mut Vec<String>,
) -> (String, String) {
    if let Some(m) = crate::diag::did_you_mean(name, expected.iter().copied()) {
        help.push(format!("did you mean `{m}`?"));
    }
    help.push(format!("expected one of: {}", expected.join(", ")));
    (
        format!("unknown {what} `{name}`"),
        format!("unknown {what}"),
    )
}

const NESTING_HELP: &str = "a spec is a plain document of a few kilobytes; \
     write values out instead of nesting or aliasing them";

/// What the YAML text at `offset` starts with, in words.
fn found_at(text: &str, offset: usize) -> &'static str {
    let rest = text.get(offset..).unwrap_or("");
    match rest.chars().next() {
        Some('[') => "a list",
        Some('-') if rest.starts_with("- ") || rest.starts_with("-\n") => "a list",
        Some('{') => "a mapping",
        Some('&') => "an anchored value",
        Some('*') => "an alias",
        None | Some('\n') => "nothing",
        _ => {
            let line = rest.lines().next().unwrap_or("");
            if line.contains(": ") || line.trim_end().ends_with(':') {
                "a mapping"
            } else {
                "a single value"
            }
        }
    }
}

/// A budget breach in words.
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach, via_alias: bool) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let b = serde_saphyr::Budget::default();
    match breach {
        B::Depth { .. } => format!("the YAML is nested more than {} levels deep", b.max_depth),
        B::Aliases { .. } | B::AliasAnchorRatio { .. } => {
            "the YAML uses too many aliases (`*name`): this looks like an alias bomb".to_string()
        }
        B::RecordedAnchorEvents { .. } | B::RecordedAnchorBytes { .. } => {
            "the YAML's anchors (`&name`) hold too much data".to_string()
        }
        B::Anchors { .. } => format!("the YAML defines more than {} anchors", b.max_anchors),
        B::Events { .. } | B::Nodes { .. } if via_alias => {
            "the YAML's aliases (`*name`) expand to too many values: this looks like an alias bomb"
                .to_string()
        }
        B::Events { .. } | B::Nodes { .. } => format!(
            "the YAML has too many values (more than {} nodes)",
            b.max_nodes.min(b.max_events)
        ),
        B::ScalarBytes { .. } | B::InputBytes { .. } => {
            "the YAML's values are too large in total".to_string()
        }
        other => format!("the YAML exceeds a parser limit ({other:?})"),
    }
}
/// serde-saphyr appends " at line L, column C" to its messages; the diagnostic shows the
/// place itself, so keep the message alone.
pub(crate) fn clean_yaml_message(msg: &str) -> String {
    let msg = msg.trim();
    let cut = msg
        .rfind(" at line ")
        .filter(|i| msg[*i..].contains("column"))
        .map_or(msg, |i| &msg[..i]);
    cut.trim_end_matches(':').trim().to_string()
}

/// Loads a spec's text into a raw spec. The caller has added the text to `sources`.
pub(crate) fn load(sources: &Sources, file: FileId) -> Result<RawSpec, Diagnostic> {
    let text = sources.get(file).map_or("", |f| f.text.as_str());
    let blank = text
        .lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---" || l == "...");
    if blank {
        return Err(Diagnostic::error(YAML, "the spec is empty")
            .help("start from specs/k2.yaml: `poolwatch emit --spec specs/k2.yaml`"));
    }
    parse_yaml(sources, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_any(text: &str) -> Result<serde::de::IgnoredAny, Diagnostic> {
        let mut sources = Sources::default();
        let file = sources.add("t.yaml", text);
        parse_yaml::<serde::de::IgnoredAny>(&sources, file)
    }

    /// Our structs reject a bomb at its first alias; these tests check the parser's own
    /// budgets, with a target type that accepts anything.
    #[test]
    fn alias_bombs_hit_the_budget() {
        let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (p, n) in ('a'..='h').zip('b'..='i') {
            let refs = vec![format!("*{p}"); 9].join(", ");
            text.push_str(&format!("{n}: &{n} [{refs}]\n"));
        }
        let d = parse_any(&text).unwrap_err();
        assert!(d.message.contains("alias"), "{}", d.message);
        assert!(!d.help.is_empty());
    }

    #[test]
    fn deep_nesting_hits_the_budget() {
        for text in [
            format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
            (0..200)
                .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
                .collect(),
        ] {
            let d = parse_any(&text).unwrap_err();
            assert!(d.message.contains("nested more than"), "{}", d.message);
        }
    }

    #[test]
    fn location_suffix_is_cut_from_messages() {
        assert_eq!(
            clean_yaml_message("invalid thing at line 3, column 7"),
            "invalid thing"
        );
        assert_eq!(clean_yaml_message("plain"), "plain");
    }

    #[test]
    fn comment_only_specs_are_empty() {
        let mut sources = Sources::default();
        let file = sources.add("t.yaml", "# nothing\n---\n\n");
        let d = load(&sources, file).unwrap_err();
        assert_eq!(d.message, "the spec is empty");
    }
}
