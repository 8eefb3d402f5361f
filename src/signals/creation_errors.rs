//! ConnectionPoolCreationErrors: failures to open a connection, per second and instance,
//! a counter series born at a value counted.

use super::{Def, rate_proof};
use crate::model::{Comparison, Role, Signal, ValueUnit};

pub(crate) const DEF: Def = Def {
    signal: Signal::CreationErrors,
    key: "creation_errors",
    alert: "ConnectionPoolCreationErrors",
    role: Some(Role::CreationErrors),
    any_of: &[],
    comparison: Comparison::Above,
    unit: ValueUnit::PerSecond,
    template: include_str!("../../templates/alerts/creation_errors.j2"),
    guide: include_str!("../../templates/runbook/creation_errors.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.counter_signal(Role::CreationErrors),
    proof: rate_proof,
};
