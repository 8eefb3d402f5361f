//! ConnectionPoolLongWait: how long the oldest client still waiting for a connection has
//! waited, per instance, in seconds (pgbouncer's `maxwait`). Unlike exhaustion (a state that
//! resets its `for` whenever one server frees up for a moment) it measures what the waiting
//! client lives through, and it rises before the client is cut off (pgbouncer's
//! `query_wait_timeout`). The longest wait of an instance is the largest of its series.

use super::{Def, panel_value, quantile_proof, single};
use crate::model::{Comparison, PolicyShape, Reach, Role, SignalInfo, ValueUnit};
use crate::render::grafana::panel::{PanelCx, Placed, half_width_series, target};
use crate::render::promtool_tests::inputs::Trace;

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "max_wait",
        alert: "ConnectionPoolLongWait",
        comparison: Comparison::Above,
        unit: ValueUnit::Seconds,
        policy: PolicyShape::Levels,
        role: Some(Role::MaxWait),
        any_of: &[],
        reach: Reach::Any,
    },
    template: include_str!("../../templates/alerts/max_wait.j2"),
    guide: include_str!("../../templates/runbook/max_wait.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.gauge_max(Role::MaxWait),
    // Twice the threshold, just below, half the lowest level: seconds against seconds.
    recordings: |x, cx| {
        single(
            x,
            cx,
            &DEF,
            x.pool.roles.get(Role::MaxWait).unwrap_or_default(),
            "max",
        )
    },
    proof: quantile_proof,
    world: |w, value| {
        Some(w.scenario_of(
            vec![w.series(Role::MaxWait, "", None, w.constant(value))],
            Some(Trace::Constant { from: 0, value }),
        ))
    },
    more_worlds: &[],
    panels,
    silences: &[],
};

fn panels(cx: &PanelCx) -> Vec<Placed> {
    vec![Placed {
        slot: 70,
        spec: half_width_series(
            "Longest Client Wait",
            "How long the oldest client still waiting for a connection has waited. Threshold lines: the longest-wait policy.".into(),
            "s",
            target(
                panel_value(cx, &DEF),
                &cx.legend("longest wait"),
                0,
                "time_series",
            ),
            cx.steps(1.0),
        ),
    }]
}
