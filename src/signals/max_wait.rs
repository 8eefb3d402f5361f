//! ConnectionPoolLongWait: how long the oldest client still waiting for a connection has
//! waited, per instance, in seconds (pgbouncer's `maxwait`). Unlike exhaustion (a state that
//! resets its `for` whenever one server frees up for a moment) it measures what the waiting
//! client lives through, and it rises before the client is cut off (pgbouncer's
//! `query_wait_timeout`). The longest wait of an instance is the largest of its series.

use super::{Def, quantile_proof};
use crate::model::{Comparison, Role, Signal, ValueUnit};

pub(crate) const DEF: Def = Def {
    signal: Signal::MaxWait,
    key: "max_wait",
    alert: "ConnectionPoolLongWait",
    role: Some(Role::MaxWait),
    any_of: &[],
    comparison: Comparison::Above,
    unit: ValueUnit::Seconds,
    template: include_str!("../../templates/alerts/max_wait.j2"),
    guide: include_str!("../../templates/runbook/max_wait.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.gauge_max(Role::MaxWait),
    // Twice the threshold, just below, half the lowest level: seconds against seconds.
    proof: quantile_proof,
};
