//! ConnectionPoolSlowQueries, quantile form: p99 query duration per instance (refused when
//! the threshold is at or above the histogram's largest finite bucket: see slow_queries).

use super::{Def, quantile_proof};
use crate::model::{Comparison, Role, Signal, ValueUnit};

pub(crate) const DEF: Def = Def {
    signal: Signal::QueryDurationP99,
    key: "query_duration_p99",
    alert: "ConnectionPoolSlowQueries",
    role: Some(Role::QueryDuration),
    any_of: &[],
    comparison: Comparison::Above,
    unit: ValueUnit::Seconds,
    template: include_str!("../../templates/alerts/query_duration_p99.j2"),
    guide: include_str!("../../templates/runbook/query_duration_p99.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.quantile(0.99, Role::QueryDuration),
    proof: quantile_proof,
};
