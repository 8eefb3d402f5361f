//! Every generated name, path and printed number comes from here, so that they follow one
//! convention and a rename is a one-line change.

use crate::model::{Model, Pool};

/// Stem of the rule groups' names: one group per pool, `connection_pool_<pool>`.
pub const GROUP_STEM: &str = "connection_pool";
/// Stem of the rule, test and dashboard file names.
pub(crate) const FILE_STEM: &str = "connection_pool";
/// Name of the dashboard's data source variable.
pub(crate) const DATASOURCE_VAR: &str = "datasource";

/// Folder of an environment's files, relative to the output folder, with a trailing `/`.
/// Environment names are validated slugs, so this stays inside the output folder.
pub(crate) fn environment_dir(env: &str) -> String {
    format!("env/{env}/")
}

/// The spec a generated file comes from, as its header names it:
/// `specs/k2.yaml`, or `specs/k2.yaml (environment demo)`.
pub(crate) fn source_description(model: &Model) -> String {
    match &model.environment {
        None => model.source_name.clone(),
        Some(env) => format!("{} (environment {env})", model.source_name),
    }
}

/// Rule file path, relative to the output folder. `rules/` holds rule files only, so that
/// `rule_files: [<out>/rules/*.yml]` (or `*.yaml`) loads them and nothing else.
pub fn rule_file_path() -> String {
    format!("rules/{FILE_STEM}.yml")
}

/// promtool unit-test file path, relative to the output folder: in `tests/`, out of the
/// rules glob, since Prometheus refuses a unit-test file as a rule file.
pub fn test_file_path() -> String {
    format!("tests/{FILE_STEM}.test.yml")
}

/// The unit tests' `rule_files:` entry for the plain Prometheus target: the rule file,
/// relative to the test file's folder as promtool reads it.
pub(crate) fn test_rule_files_entry() -> String {
    format!("../{}", rule_file_path())
}

/// Path of the plain rule groups the unit tests load for the targets that wrap them
/// (PrometheusRule, Mimir namespace): beside the tests, out of the rules glob, so a
/// Prometheus never loads them beside the manifest.
pub fn tested_rules_path() -> String {
    format!("tests/{FILE_STEM}.rules.yml")
}

/// The unit tests' `rule_files:` entry for the wrapping targets: [`tested_rules_path`],
/// relative to the test file's folder.
pub(crate) fn tested_rules_entry() -> String {
    format!("{FILE_STEM}.rules.yml")
}

/// Value of a grouping label for the `n`th pool instance of a generated test world:
/// `instance-1` is the hot instance, `instance-2` the idle one.
pub(crate) fn test_label_value_of(label: &str, n: u32) -> String {
    format!("{label}-{n}")
}

/// Alertmanager route and inhibit rules path, relative to the output folder.
pub fn alertmanager_file_path() -> String {
    format!("alertmanager/{FILE_STEM}.yml")
}

/// Receiver of the suggested route when the spec names none (`deploy.alertmanager`): a
/// name to replace with the team's receiver, or to declare in `receivers:`.
pub const PLACEHOLDER_RECEIVER: &str = "connection-pool-oncall";

/// prometheus-operator manifest path, relative to the output folder: out of `rules/`,
/// which a Prometheus may load by glob and which would refuse a manifest.
pub fn operator_file_path() -> String {
    format!("operator/{FILE_STEM}.prometheusrule.yaml")
}

/// Mimir/Cortex ruler namespace file path, relative to the output folder (out of
/// `rules/`, as the manifest).
pub fn mimir_file_path() -> String {
    format!("mimir/{FILE_STEM}.mimir.yaml")
}

/// Generated runbook path, relative to the output folder.
pub(crate) fn runbook_file_path() -> String {
    format!("docs/{FILE_STEM}.md")
}

/// The name of one variant of a spec (the base, or one environment) where Grafana keeps
/// them side by side: `k2`, `k2-demo`. Every spec and environment gets its own provider,
/// provisioning file and dashboard folder, so one Grafana can load them all.
pub(crate) fn variant_slug(spec_name: &str, env: Option<&str>) -> String {
    match env {
        None => spec_name.to_string(),
        Some(env) => format!("{spec_name}-{env}"),
    }
}

/// Grafana dashboard provisioning file path, relative to the output folder: named after
/// the variant, since Grafana reads every provisioning file from one folder.
pub(crate) fn provisioning_file_path(spec_name: &str, env: Option<&str>) -> String {
    format!("dashboards/poolwatch-{}.yaml", variant_slug(spec_name, env))
}

/// Name of the variant's Grafana dashboard provider.
pub(crate) fn grafana_provider_name(spec_name: &str, env: Option<&str>) -> String {
    format!("poolwatch-{}", variant_slug(spec_name, env))
}

/// Folder on the Grafana host the variant's provider reads its dashboard from: a folder of
/// its own under the spec's `deploy.grafana.path`, since a provider reads every dashboard
/// below its folder.
pub(crate) fn grafana_provider_path(base: &str, spec_name: &str, env: Option<&str>) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        variant_slug(spec_name, env)
    )
}

/// Dashboard file path, relative to the output folder.
pub fn dashboard_file_path() -> String {
    format!("dashboards/{FILE_STEM}.json")
}

/// The dashboard's picture (a layout preview for review), beside its JSON.
pub fn dashboard_svg_path() -> String {
    svg_beside(&dashboard_file_path())
}

/// Where the picture of a dashboard file goes: the same path with `.svg` for its
/// extension.
pub(crate) fn svg_beside(dashboard: &str) -> String {
    let stem = dashboard.strip_suffix(".json").unwrap_or(dashboard);
    format!("{stem}.svg")
}

/// Anchor of the runbook section each alert links to: the alert's name in lower case, as
/// GitHub anchors the generated runbook's `## AlertName` headings.
fn runbook_anchor(alert: &str) -> String {
    alert.to_lowercase()
}

/// The runbook's anchor of a recorded series: its name with `:` as `-` (a fragment GitHub
/// keeps as written).
pub(crate) fn recording_anchor(record: &str) -> String {
    format!("record-{}", record.replace(':', "-").to_lowercase())
}

/// `runbook_url` of an alert: the spec's runbook URL and the section's anchor.
pub(crate) fn runbook_url(base: &str, alert: &str) -> String {
    let base = base.split('#').next().unwrap_or(base);
    format!("{base}#{}", runbook_anchor(alert))
}

/// The rule group of one pool: its recording rules, then the alerts that read them.
pub fn rule_group(pool: &str) -> String {
    format!("{GROUP_STEM}_{pool}")
}

/// A recording rule name, `level:metric:operations`, with the pool's identity in the level
/// (`pool_job_instance:k2_connection_pool_acquisition_timeouts:rate5m`).
pub(crate) fn record_name(pool: &Pool, pool_label: &str, metric: &str, operations: &str) -> String {
    format!(
        "{}:{}:{operations}",
        level(pool, pool_label, &[]),
        classic(metric)
    )
}

/// A counter's name without its `_total`, for the names of what is recorded from it (the
/// convention drops the suffix once the series is no longer a counter).
pub(crate) fn counter_stem(metric: &str) -> &str {
    metric.strip_suffix("_total").unwrap_or(metric)
}

/// The `level` part of a recording rule name (`level:metric:operations`): the labels the
/// recorded series keeps, the pool label first.
pub(crate) fn level(pool: &Pool, pool_label: &str, extra: &[&str]) -> String {
    let mut parts: Vec<&str> = vec![pool_label];
    parts.extend(pool.group_labels());
    parts.extend_from_slice(extra);
    parts.join("_")
}

/// Prefix shared by a pool's gauge metric names, used to name derived series:
/// `k2_connection_pool_size` and `k2_connection_pool_active_connections` give
/// `k2_connection_pool`.
pub(crate) fn pool_metric_prefix(pool: &Pool) -> String {
    let names = [classic(&pool.roles.size), classic(&pool.roles.active)];
    let first: Vec<&str> = names[0].split('_').collect();
    let mut common = first.len();
    for name in &names[1..] {
        let parts: Vec<&str> = name.split('_').collect();
        common = common.min(
            first
                .iter()
                .zip(parts.iter())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    if common == 0 {
        names[1].clone()
    } else {
        first[..common].join("_")
    }
}

/// A metric name in the classic character set, for the names poolwatch makes from it (its
/// recorded series): a name Prometheus 3 would need quoted (`my.metric`) gets `_` for each
/// character outside `[a-zA-Z0-9_:]`, as Prometheus's own underscore escaping does.
fn classic(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Recording rule names for one pool.
#[derive(Debug, Clone)]
pub(crate) struct RecordNames {
    pub(crate) utilization: String,
    pub(crate) peak_utilization: String,
    /// Wait-time series, when the pool has a wait-time histogram.
    pub(crate) wait: Option<WaitNames>,
}

#[derive(Debug, Clone)]
pub(crate) struct WaitNames {
    pub(crate) mean: String,
    pub(crate) quantiles: Vec<(f64, String)>,
}

/// The quantiles recorded and drawn for the wait time.
pub(crate) const WAIT_QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

pub(crate) fn record_names(pool: &Pool, pool_label: &str, window: &str) -> RecordNames {
    let lvl = level(pool, pool_label, &[]);
    let prefix = pool_metric_prefix(pool);
    let w = window;
    let wait = pool.roles.wait_time.as_deref().map(classic);
    RecordNames {
        utilization: format!("{lvl}:{prefix}_utilization:ratio"),
        peak_utilization: format!("{lvl}:{prefix}_utilization:max_over_time{w}"),
        wait: wait.map(|wait| WaitNames {
            mean: format!("{lvl}:{wait}:mean{w}"),
            quantiles: WAIT_QUANTILES
                .iter()
                .map(|q| (*q, format!("{lvl}:{wait}:p{}_rate{w}", quantile_label(*q))))
                .collect(),
        }),
    }
}

/// Capacity-planning recording rule names for one pool.
#[derive(Debug, Clone)]
pub(crate) struct CapacityNames {
    /// Concurrent use: active connections summed to the kept labels.
    pub(crate) active: String,
    /// Recommended size: the peak quantile of concurrent use over the window, times headroom.
    pub(crate) recommended: String,
    /// The largest pool the memory budget allows.
    pub(crate) memory_ceiling: String,
}

pub(crate) fn capacity_names(
    pool: &Pool,
    pool_label: &str,
    quantile: f64,
    window: &str,
) -> CapacityNames {
    let lvl = level(pool, pool_label, &[]);
    let size = classic(&pool.roles.size);
    CapacityNames {
        active: format!("{lvl}:{}:sum", classic(&pool.roles.active)),
        recommended: format!(
            "{lvl}:{size}:recommended_p{}_{window}",
            quantile_label(quantile)
        ),
        memory_ceiling: format!("{lvl}:{size}:memory_ceiling"),
    }
}

/// `0.99` gives `99`, `0.5` gives `50`, `0.999` gives `999`.
pub(crate) fn quantile_label(q: f64) -> String {
    let s = number(q * 100.0);
    s.replace('.', "")
}

/// Dashboard uid derived from the spec name: stable across runs and machines, at most
/// 40 characters as Grafana requires.
pub(crate) fn dashboard_uid(spec_name: &str, env: Option<&str>) -> String {
    let uid = match env {
        None => format!("poolwatch-{spec_name}"),
        Some(env) => format!("poolwatch-{spec_name}-{env}"),
    };
    if uid.len() <= 40 {
        return uid;
    }
    // Keep it unique when truncating: FNV-1a of the full name.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in uid.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let hash = format!("{h:016x}");
    format!("{}-{}", &uid[..23], &hash)
}

/// Prints a number the shortest way that reads back to the same value, with float noise
/// from arithmetic rounded away: `0.9` stays `0.9`, `0.9 * 100` prints `90`, `0` prints `0`.
pub(crate) fn number(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Whole numbers (most test inputs, counts, percentages) print as integers directly:
    // the same text as below, without formatting nine decimals to trim them.
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return (x as i64).to_string();
    }
    let rounded = format!("{x:.9}");
    let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
    let out = if trimmed == "-0" { "0" } else { trimmed };
    if out == "0" && x != 0.0 {
        // Smaller than the fixed precision: fall back to the exact shortest form.
        return format!("{x}");
    }
    out.to_string()
}

/// The one `le` matcher of a bucket bound, holding for every way the bound is written:
/// Prometheus 2 keeps the exporter's text (`5` from client_golang, `5.0` from Python's
/// prometheus_client), Prometheus 3 writes whole bounds as `5.0` (CHANGELOG 3.0.0:
/// "Scraping: normalize "le" and "quantile" label values upon ingestion. #15164"). A bound
/// with a fraction (`0.5`) is written alike by all of them.
pub(crate) fn le_matcher(bound: f64) -> String {
    let text = number(bound);
    if text.contains(['.', 'e']) {
        format!("le=\"{text}\"")
    } else {
        format!("le=~\"{text}(\\\\.0)?\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_without_float_noise() {
        assert_eq!(number(0.9), "0.9");
        assert_eq!(number(0.9 * 100.0), "90");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(10.0), "10");
        assert_eq!(number(0.07 * 100.0), "7");
        assert_eq!(number(1e-12), "0.000000000001");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(123_456_789_012_345.0), "123456789012345");
        assert_eq!(number(1e15), "1000000000000000");
        assert_eq!(number(1e300), format!("{:.0}", 1e300));
    }

    #[test]
    fn quantile_labels() {
        assert_eq!(quantile_label(0.99), "99");
        assert_eq!(quantile_label(0.5), "50");
        assert_eq!(quantile_label(0.999), "999");
    }

    #[test]
    fn uids_are_bounded_and_stable() {
        assert_eq!(dashboard_uid("k2", None), "poolwatch-k2");
        assert_eq!(dashboard_uid("k2", Some("demo")), "poolwatch-k2-demo");
        let long = dashboard_uid(&"x".repeat(100), None);
        assert_eq!(long.len(), 40);
        assert_eq!(long, dashboard_uid(&"x".repeat(100), None));
        assert_ne!(long, dashboard_uid(&"x".repeat(101), None));
    }
}
