//! ConnectionPoolHighUtilization: active / size per instance, a 0..1 ratio (the size
//! guarded, so "unlimited" 0 gives no value rather than +Inf).

use super::{Def, share_proof};
use crate::model::{Comparison, Signal, ValueUnit};

pub(crate) const DEF: Def = Def {
    signal: Signal::Utilization,
    key: "utilization",
    alert: "ConnectionPoolHighUtilization",
    role: None,
    any_of: &[],
    comparison: Comparison::Above,
    unit: ValueUnit::Ratio,
    template: include_str!("../../templates/alerts/utilization.j2"),
    guide: include_str!("../../templates/runbook/utilization.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.utilization(),
    proof: share_proof,
};
