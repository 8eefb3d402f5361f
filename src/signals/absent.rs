//! ConnectionPoolMetricsAbsent: a pool instance that stopped exporting its size, or every
//! instance gone (absent()). Proven by which series exist, not by a value
//! (`render/promtool_tests/absence.rs`); its alerts silence every other alert of the pool
//! instance, which read no data after it.

use super::{Def, Proof, no_panels};
use crate::model::{Comparison, PolicyShape, PromDuration, Reach, SignalInfo, ValueUnit};

/// How long a pool instance that stopped exporting is remembered: an hour, or twice the
/// alert's `for` when that is longer (it must outlast the `for`).
pub(crate) fn lookback(for_: PromDuration) -> PromDuration {
    let twice = PromDuration::from_millis(for_.millis().saturating_mul(2));
    twice.max(PromDuration::from_secs(3600))
}

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "absent",
        alert: "ConnectionPoolMetricsAbsent",
        comparison: Comparison::Above,
        unit: ValueUnit::None,
        policy: PolicyShape::Presence,
        role: None,
        any_of: &[],
        reach: Reach::Any,
    },
    template: include_str!("../../templates/alerts/absent.j2"),
    guide: include_str!("../../templates/runbook/absent.md.j2"),
    while_waiting: false,
    expr: |x, cx| x.absent(lookback(cx.for_), cx.targets),
    recordings: |_, _| Vec::new(),
    proof: |_| Proof {
        firing: 1.0,
        silent: 0.0,
        healthy: 0.0,
    },
    world: |_, _| None,
    more_worlds: &[],
    panels: no_panels,
    silences: &[],
};
