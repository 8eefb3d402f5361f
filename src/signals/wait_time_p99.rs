//! ConnectionPoolSlowAcquisition: p99 of the time to acquire a connection, per instance,
//! and the pool's wait-time quantiles panel.

use super::{Def, quantile_proof, quantile_world, rules_window, single};
use crate::conventions;
use crate::model::{Comparison, PolicyShape, Reach, Role, SignalInfo, ValueUnit};
use crate::render::grafana::panel::{PanelCx, Placed, series_panel, target};

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "wait_time_p99",
        alert: "ConnectionPoolSlowAcquisition",
        comparison: Comparison::Above,
        unit: ValueUnit::Seconds,
        policy: PolicyShape::Levels,
        role: Some(Role::WaitTime),
        any_of: &[],
        reach: Reach::BelowTopBucket(Role::WaitTime),
    },
    template: include_str!("../../templates/alerts/wait_time_p99.j2"),
    guide: include_str!("../../templates/runbook/wait_time_p99.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.quantile(0.99, Role::WaitTime),
    recordings: |x, cx| {
        let w = rules_window(cx);
        let metric = x.pool.roles.get(Role::WaitTime).unwrap_or_default();
        single(x, cx, &DEF, metric, &format!("p99_rate{w}"))
    },
    proof: quantile_proof,
    world: |w, value| quantile_world(w, Role::WaitTime, value),
    more_worlds: &[],
    panels,
    silences: &[],
};

/// p50, p95 and p99 of the wait, with the policy's steps: the recorded quantiles (recorded
/// whatever the policies), the alert's p99 among them.
fn panels(cx: &PanelCx) -> Vec<Placed> {
    let names = conventions::record_names(
        cx.pool,
        &cx.model.pool_label,
        &cx.model.rate_window.to_string(),
    );
    let quantiles = names.wait.map(|w| w.quantiles).unwrap_or_default();
    vec![Placed {
        slot: 20,
        spec: series_panel(
            "Connection Acquisition Wait Time",
            "p50, p95 and p99 of the time queries wait to acquire a connection. Threshold lines: the wait-time policy.",
            "s",
            quantiles
                .iter()
                .enumerate()
                .map(|(i, (q, name))| {
                    target(
                        cx.x.select_recorded(name, &cx.model.pool_label),
                        &cx.legend(&format!("p{}", conventions::quantile_label(*q))),
                        i,
                        "time_series",
                    )
                })
                .collect(),
            (cx.steps(1.0), true),
            18,
        ),
    }]
}
