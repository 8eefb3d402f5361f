//! ConnectionPoolSlowAcquisitionMean: the mean time to acquire a connection, per instance,
//! in seconds. Where the library counts waits and the seconds waited (Go's database/sql:
//! `wait_count`, `wait_duration`) it is seconds waited / waits; else the wait-time
//! histogram's `_sum` / `_count`, which exist with or without buckets (HikariCP without
//! Micrometer's percentiles-histogram exports only those: a p99 alert is dead there).
//! No acquisition in the window (a zero denominator) gives no value, never NaN or +Inf.

use super::{Def, World, panel_value, quantile_proof, rules_window, single};
use crate::conventions;
use crate::model::{Comparison, PolicyShape, Reach, Role, Roles, SignalInfo, ValueUnit};
use crate::render::grafana::panel::{PanelCx, Placed, half_width_series, target};
use crate::render::promql::PoolExprs;
use crate::render::promtool_tests::arithmetic::as_printed;
use crate::render::promtool_tests::inputs::{Inputs, Scenario, Trace, WAITS};

/// Whether the mean comes from the wait counters rather than the histogram: they are the
/// library's own totals, where the histogram may be absent.
pub(crate) fn from_counters(roles: &Roles) -> bool {
    roles.wait_count.is_some() && roles.wait_duration.is_some()
}

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "wait_time_mean",
        alert: "ConnectionPoolSlowAcquisitionMean",
        comparison: Comparison::Above,
        unit: ValueUnit::Seconds,
        policy: PolicyShape::Levels,
        role: None,
        any_of: &[&[Role::WaitDuration, Role::WaitCount], &[Role::WaitTime]],
        reach: Reach::Any,
    },
    template: include_str!("../../templates/alerts/wait_time_mean.j2"),
    guide: include_str!("../../templates/runbook/wait_time_mean.md.j2"),
    while_waiting: false,
    expr: |x, _cx| mean(x),
    // Twice the threshold, just below, half the lowest level: a mean behaves as a quantile
    // does against a threshold in seconds.
    recordings: |x, cx| {
        let w = rules_window(cx);
        let role = if from_counters(&x.pool.roles) {
            Role::WaitDuration
        } else {
            Role::WaitTime
        };
        let metric = conventions::counter_stem(x.pool.roles.get(role).unwrap_or_default());
        single(x, cx, &DEF, metric, &format!("mean{w}"))
    },
    proof: quantile_proof,
    world,
    more_worlds: &[World::NoEvents],
    panels,
    silences: &[],
};

fn mean(x: &PoolExprs) -> String {
    if from_counters(&x.pool.roles) {
        x.ratio_of_rates(Role::WaitDuration, Role::WaitCount)
    } else {
        x.mean(Role::WaitTime)
    }
}

/// WAITS acquisitions a step, waiting `value` seconds each on average: through the wait
/// counters where the pool has both, else the histogram's _sum and _count alone (what a
/// histogram without buckets still exports).
fn world(w: &Inputs, value: f64) -> Option<Scenario> {
    let num = as_printed(value * WAITS);
    let (sum, count) = if from_counters(&w.pool.roles) {
        (
            w.series(Role::WaitDuration, "", None, w.rising(num)),
            w.series(Role::WaitCount, "", None, w.rising(WAITS)),
        )
    } else {
        (
            w.series(Role::WaitTime, "_sum", None, w.rising(num)),
            w.series(Role::WaitTime, "_count", None, w.rising(WAITS)),
        )
    };
    Some(w.scenario_of(vec![sum, count], Some(Trace::RateRatio { num, den: WAITS })))
}

/// The mean wait: where a policy watches it, or where the wait counters are the only view
/// of waiting there is (database/sql has no histogram). The expression is the alert's own.
fn panels(cx: &PanelCx) -> Vec<Placed> {
    let counters = from_counters(&cx.pool.roles);
    if cx.pool.policies.get(cx.signal).is_none() && !counters {
        return Vec::new();
    }
    let per = if counters {
        "per acquisition that had to wait"
    } else {
        "per acquisition"
    };
    vec![Placed {
        slot: 50,
        spec: half_width_series(
            "Mean Acquisition Wait",
            format!(
                "Seconds waited for a connection, {per}, averaged over the rate window (no value without acquisitions). Threshold lines: the mean wait-time policy."
            ),
            "s",
            target(panel_value(cx, &DEF), &cx.legend("mean"), 0, "time_series"),
            cx.steps(1.0),
        ),
    }]
}
