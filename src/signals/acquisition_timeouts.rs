//! ConnectionPoolAcquisitionTimeouts: acquisitions that gave up, per second and instance,
//! a counter series born at a value counted.

use super::{Def, rate_proof};
use crate::model::{Comparison, Role, Signal, ValueUnit};

pub(crate) const DEF: Def = Def {
    signal: Signal::AcquisitionTimeouts,
    key: "acquisition_timeouts",
    alert: "ConnectionPoolAcquisitionTimeouts",
    role: Some(Role::AcquisitionTimeouts),
    any_of: &[],
    comparison: Comparison::Above,
    unit: ValueUnit::PerSecond,
    template: include_str!("../../templates/alerts/acquisition_timeouts.j2"),
    guide: include_str!("../../templates/runbook/acquisition_timeouts.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.counter_signal(Role::AcquisitionTimeouts),
    proof: rate_proof,
};
