//! ConnectionPoolSlowAcquisition: p99 of the time to acquire a connection, per instance.

use super::{Def, quantile_proof};
use crate::model::{Comparison, Role, Signal, ValueUnit};

pub(crate) const DEF: Def = Def {
    signal: Signal::WaitTimeP99,
    key: "wait_time_p99",
    alert: "ConnectionPoolSlowAcquisition",
    role: Some(Role::WaitTime),
    any_of: &[],
    comparison: Comparison::Above,
    unit: ValueUnit::Seconds,
    template: include_str!("../../templates/alerts/wait_time_p99.j2"),
    guide: include_str!("../../templates/runbook/wait_time_p99.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.quantile(0.99, Role::WaitTime),
    proof: quantile_proof,
};
