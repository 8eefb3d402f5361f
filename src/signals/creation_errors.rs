//! ConnectionPoolCreationErrors: failures to open a connection, per second and instance,
//! a counter series born at a value counted.

use super::{Def, World, counter_recordings, counter_world, no_panels, rate_proof};
use crate::model::{Comparison, PolicyShape, Reach, Role, SignalInfo, ValueUnit};

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "creation_errors",
        alert: "ConnectionPoolCreationErrors",
        comparison: Comparison::Above,
        unit: ValueUnit::PerSecond,
        policy: PolicyShape::Levels,
        role: Some(Role::CreationErrors),
        any_of: &[],
        reach: Reach::Any,
    },
    template: include_str!("../../templates/alerts/creation_errors.j2"),
    guide: include_str!("../../templates/runbook/creation_errors.md.j2"),
    while_waiting: false,
    expr: |x, _cx| {
        x.counter_total(
            &x.counter_rate(Role::CreationErrors),
            &x.counter_born(Role::CreationErrors),
        )
    },
    recordings: |x, cx| counter_recordings(x, cx, Role::CreationErrors),
    proof: rate_proof,
    world: |w, value| counter_world(w, Role::CreationErrors, value),
    more_worlds: &[World::BornAndRestart],
    panels: no_panels,
    silences: &[],
};
