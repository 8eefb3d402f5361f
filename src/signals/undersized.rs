//! ConnectionPoolUndersized: the recommended size (peak use times headroom, recorded per
//! instance) above the instance's configured size. Its "threshold" in proofs is the
//! configured size.

use super::{Def, Proof};
use crate::model::{Comparison, Role, Signal, ValueUnit};

pub(crate) const DEF: Def = Def {
    signal: Signal::Undersized,
    key: "undersized",
    alert: "ConnectionPoolUndersized",
    role: None,
    any_of: &[],
    comparison: Comparison::Above,
    unit: ValueUnit::Connections,
    template: include_str!("../../templates/alerts/undersized.j2"),
    guide: include_str!("../../templates/runbook/undersized.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.gauge(Role::Size),
    // Recommended sizes against the configured one: above it; equal to it (`>` does not
    // hold); half of it.
    proof: |cx| Proof {
        firing: 2.0 * cx.threshold,
        silent: cx.threshold,
        healthy: cx.threshold / 2.0,
    },
};
