//! ConnectionPoolSlowQueries: the share of queries slower than the query-duration
//! histogram's largest finite bucket, per instance (what a p99 can never show).

use super::{Def, share_proof};
use crate::model::{Comparison, Role, Signal, ValueUnit};

pub(crate) const DEF: Def = Def {
    signal: Signal::SlowQueries,
    key: "slow_queries",
    alert: "ConnectionPoolSlowQueries",
    role: Some(Role::QueryDuration),
    any_of: &[],
    comparison: Comparison::Above,
    unit: ValueUnit::Ratio,
    template: include_str!("../../templates/alerts/slow_queries.j2"),
    guide: include_str!("../../templates/runbook/slow_queries.md.j2"),
    while_waiting: false,
    expr: |x, cx| x.share_above(Role::QueryDuration, cx.top_bucket.unwrap_or(f64::INFINITY)),
    proof: share_proof,
};
