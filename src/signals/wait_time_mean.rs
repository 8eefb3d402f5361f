//! ConnectionPoolSlowAcquisitionMean: the mean time to acquire a connection, per instance,
//! in seconds. Where the library counts waits and the seconds waited (Go's database/sql:
//! `wait_count`, `wait_duration`) it is seconds waited / waits; else the wait-time
//! histogram's `_sum` / `_count`, which exist with or without buckets (HikariCP without
//! Micrometer's percentiles-histogram exports only those: a p99 alert is dead there).
//! No acquisition in the window (a zero denominator) gives no value, never NaN or +Inf.

use super::{Def, quantile_proof};
use crate::model::{Comparison, Role, Roles, Signal, ValueUnit};

/// Whether the mean comes from the wait counters rather than the histogram: they are the
/// library's own totals, where the histogram may be absent.
pub(crate) fn from_counters(roles: &Roles) -> bool {
    roles.wait_count.is_some() && roles.wait_duration.is_some()
}

pub(crate) const DEF: Def = Def {
    signal: Signal::WaitTimeMean,
    key: "wait_time_mean",
    alert: "ConnectionPoolSlowAcquisitionMean",
    role: None,
    any_of: &[&[Role::WaitDuration, Role::WaitCount], &[Role::WaitTime]],
    comparison: Comparison::Above,
    unit: ValueUnit::Seconds,
    template: include_str!("../../templates/alerts/wait_time_mean.j2"),
    guide: include_str!("../../templates/runbook/wait_time_mean.md.j2"),
    while_waiting: false,
    expr: |x, _cx| {
        if from_counters(&x.pool.roles) {
            x.ratio_of_rates(Role::WaitDuration, Role::WaitCount)
        } else {
            x.mean(Role::WaitTime)
        }
    },
    // Twice the threshold, just below, half the lowest level: a mean behaves as a quantile
    // does against a threshold in seconds.
    proof: quantile_proof,
};
