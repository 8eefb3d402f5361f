//! ConnectionPoolAcquisitionTimeouts: acquisitions that gave up, per second and instance,
//! a counter series born at a value counted.

use super::{Def, World, counter_recordings, counter_world, no_panels, rate_proof};
use crate::model::{Comparison, PolicyShape, Reach, Role, SignalInfo, ValueUnit};

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "acquisition_timeouts",
        alert: "ConnectionPoolAcquisitionTimeouts",
        comparison: Comparison::Above,
        unit: ValueUnit::PerSecond,
        policy: PolicyShape::Levels,
        role: Some(Role::AcquisitionTimeouts),
        any_of: &[],
        reach: Reach::Any,
    },
    template: include_str!("../../templates/alerts/acquisition_timeouts.j2"),
    guide: include_str!("../../templates/runbook/acquisition_timeouts.md.j2"),
    while_waiting: false,
    expr: |x, _cx| {
        x.counter_total(
            &x.counter_rate(Role::AcquisitionTimeouts),
            &x.counter_born(Role::AcquisitionTimeouts),
        )
    },
    recordings: |x, cx| counter_recordings(x, cx, Role::AcquisitionTimeouts),
    proof: rate_proof,
    world: |w, value| counter_world(w, Role::AcquisitionTimeouts, value),
    more_worlds: &[World::BornAndRestart],
    panels: no_panels,
    silences: &[],
};
