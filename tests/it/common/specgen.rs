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

/// A pool's `metrics:` mapping naming the metrics of [`CATALOG`], on one line.
pub const METRICS: &str = "{ size: pool_size, active: pool_active, available: pool_idle, \
    wait_time: pool_wait_seconds, acquisition_timeouts: pool_timeouts_total, \
    creation_errors: pool_errors_total, query_duration: query_seconds }";
