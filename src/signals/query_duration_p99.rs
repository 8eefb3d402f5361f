//! ConnectionPoolSlowQueries, quantile form: p99 query duration per instance (refused when
//! the threshold is at or above the histogram's largest finite bucket: see slow_queries).

use super::{Def, panel_value, quantile_proof, quantile_world, rules_window, single};
use crate::model::{Comparison, PolicyShape, Reach, Role, SignalInfo, ValueUnit};
use crate::render::grafana::panel::{PanelCx, Placed, series_panel, target};

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "query_duration_p99",
        alert: "ConnectionPoolSlowQueries",
        comparison: Comparison::Above,
        unit: ValueUnit::Seconds,
        policy: PolicyShape::Levels,
        role: Some(Role::QueryDuration),
        any_of: &[],
        reach: Reach::BelowTopBucket(Role::QueryDuration),
    },
    template: include_str!("../../templates/alerts/query_duration_p99.j2"),
    guide: include_str!("../../templates/runbook/query_duration_p99.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.quantile(0.99, Role::QueryDuration),
    recordings: |x, cx| {
        let w = rules_window(cx);
        let metric = x.pool.roles.get(Role::QueryDuration).unwrap_or_default();
        single(x, cx, &DEF, metric, &format!("p99_rate{w}"))
    },
    proof: quantile_proof,
    world: |w, value| quantile_world(w, Role::QueryDuration, value),
    more_worlds: &[],
    panels,
    silences: &[],
};

/// The p99 with the policy's steps.
fn panels(cx: &PanelCx) -> Vec<Placed> {
    vec![Placed {
        slot: 80,
        spec: series_panel(
            "Query Duration p99",
            "p99 query latency. Threshold lines: the query-duration policy.",
            "s",
            vec![target(
                panel_value(cx, &DEF),
                &cx.legend("p99"),
                0,
                "time_series",
            )],
            (cx.steps(1.0), true),
            12,
        ),
    }]
}
