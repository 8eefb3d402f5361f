//! Pieces of generated specs shared by tests that build specs in code.

/// A catalog with one metric for every role, as YAML lines under `catalog:`.
pub const CATALOG: &str = "  - { name: pool_size, type: gauge, unit: connections, help: Size. }
  - { name: pool_active, type: gauge, unit: connections, help: Active. }
  - { name: pool_idle, type: gauge, unit: connections, help: Idle. }
  - { name: pool_wait_seconds, type: histogram, unit: seconds, help: Wait. }
  - { name: pool_timeouts_total, type: counter, unit: events, help: Timeouts. }
  - { name: pool_errors_total, type: counter, unit: events, help: Errors. }
  - { name: query_seconds, type: histogram, unit: seconds, help: Queries. }
";

/// [`CATALOG`] with `labels` declared on every metric: the labels a spec's selectors read
/// (a selector label no metric carries is refused, PW016).
pub fn catalog(labels: &[&str]) -> String {
    CATALOG.replace(
        ", help:",
        &format!(", labels: [{}], help:", labels.join(", ")),
    )
}

/// A pool's `metrics:` mapping naming the metrics of [`CATALOG`], on one line.
pub const METRICS: &str = "{ size: pool_size, active: pool_active, available: pool_idle, \
    wait_time: pool_wait_seconds, acquisition_timeouts: pool_timeouts_total, \
    creation_errors: pool_errors_total, query_duration: query_seconds }";
