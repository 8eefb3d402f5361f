//! ConnectionPoolExhausted: free connections (size - active) per instance at or below the
//! threshold, never the idle gauge (lazily created pools have none idle while healthy); with
//! a `waiting` role, only while someone waits. It silences the pool instance's high
//! utilization (a full pool is also a busy one). Its value is on the pool's Connections panel.

use super::{Def, Proof, World, no_panels, panel_value, recording};
use crate::conventions;
use crate::model::{Comparison, Model, PolicyShape, Pool, Reach, Role, SignalInfo, ValueUnit};
use crate::render::grafana::panel::PanelCx;
use crate::render::promql::PoolExprs;
use crate::render::promtool_tests::inputs::{Inputs, Scenario, Trace};

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "exhausted",
        alert: "ConnectionPoolExhausted",
        comparison: Comparison::AtOrBelow,
        unit: ValueUnit::Connections,
        policy: PolicyShape::Levels,
        role: None,
        any_of: &[],
        reach: Reach::Any,
    },
    template: include_str!("../../templates/alerts/exhausted.j2"),
    guide: include_str!("../../templates/runbook/exhausted.md.j2"),
    while_waiting: true,
    expr: |x, _cx| x.free(),
    // Where the library counts waiting clients, the free connections are recorded only
    // while someone waits: the alert is then a plain comparison, and the grouping that
    // matches the two is in one expression, where a lost label changes the recorded series.
    recordings: |x, cx| {
        let metric = format!(
            "{}_free_connections",
            conventions::pool_metric_prefix(x.pool)
        );
        let (op, expr) = if x.pool.roles.waiting.is_some() {
            (
                "size_minus_active_while_waiting",
                x.while_waiting(&x.free()),
            )
        } else {
            ("size_minus_active", x.free())
        };
        vec![recording(x, cx, &metric, op, expr)]
    },
    proof: |cx| Proof {
        firing: cx.threshold.floor(),
        silent: cx.threshold.floor() + 1.0,
        healthy: cx.highest().floor() + 5.0,
    },
    world,
    more_worlds: &[World::NobodyWaits],
    panels: no_panels,
    silences: &["utilization"],
};

/// Free connections are size - active: ten connections busy, `value` more in the pool;
/// where the library counts waiting clients, some wait.
fn world(w: &Inputs, value: f64) -> Option<Scenario> {
    let mut series = vec![
        w.series(Role::Size, "", None, w.constant(value + 10.0)),
        w.series(Role::Active, "", None, w.constant(10.0)),
    ];
    if w.pool.roles.waiting.is_some() {
        series.push(w.series(Role::Waiting, "", None, w.constant(3.0)));
    }
    Some(w.scenario_of(series, Some(Trace::Constant { from: 0, value })))
}

/// The free connections the pool's Connections panel draws: the series the alert compares
/// where it is recorded at all times (no waiting clients counted), so the line and the alert
/// agree; size minus active where the recording holds only while clients wait.
pub(crate) fn drawn(model: &Model, pool: &Pool, x: &PoolExprs) -> String {
    if pool.roles.waiting.is_some() {
        return x.free();
    }
    let cx = PanelCx {
        model,
        pool,
        x,
        signal: DEF.signal(),
    };
    panel_value(&cx, &DEF)
}
