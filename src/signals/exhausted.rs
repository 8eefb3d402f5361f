//! ConnectionPoolExhausted: free connections (size - active) per instance at or below the
//! threshold, never the idle gauge (lazily created pools have none idle while healthy); with
//! a `waiting` role, only while someone waits.

use super::{Def, Proof};
use crate::model::{Comparison, Signal, ValueUnit};

pub(crate) const DEF: Def = Def {
    signal: Signal::Exhausted,
    key: "exhausted",
    alert: "ConnectionPoolExhausted",
    role: None,
    any_of: &[],
    comparison: Comparison::AtOrBelow,
    unit: ValueUnit::Connections,
    template: include_str!("../../templates/alerts/exhausted.j2"),
    guide: include_str!("../../templates/runbook/exhausted.md.j2"),
    while_waiting: true,
    expr: |x, _cx| x.free(),
    proof: |cx| Proof {
        firing: cx.threshold.floor(),
        silent: cx.threshold.floor() + 1.0,
        healthy: cx.highest().floor() + 5.0,
    },
};
