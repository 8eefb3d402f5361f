//! ConnectionPoolSlowQueries: the share of queries slower than the query-duration
//! histogram's largest finite bucket, per instance (what a p99 can never show), and its
//! panel.

use super::{Def, panel_value, rules_window, share_proof, single};
use crate::conventions::number;
use crate::model::{Comparison, PolicyShape, Reach, Role, SignalInfo, ValueUnit};
use crate::render::grafana::panel::{PanelCx, Placed, series_panel, target};
use crate::render::promtool_tests::arithmetic::as_printed;
use crate::render::promtool_tests::inputs::{Inputs, SHARE_OF, Scenario, Series, Trace};

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "slow_queries",
        alert: "ConnectionPoolSlowQueries",
        comparison: Comparison::Above,
        unit: ValueUnit::Ratio,
        policy: PolicyShape::Levels,
        role: Some(Role::QueryDuration),
        any_of: &[],
        reach: Reach::NeedsBuckets(Role::QueryDuration),
    },
    template: include_str!("../../templates/alerts/slow_queries.j2"),
    guide: include_str!("../../templates/runbook/slow_queries.md.j2"),
    while_waiting: false,
    expr: |x, cx| x.share_above(Role::QueryDuration, cx.top_bucket.unwrap_or(f64::INFINITY)),
    recordings: |x, cx| {
        let w = rules_window(cx);
        let metric = x.pool.roles.get(Role::QueryDuration).unwrap_or_default();
        single(x, cx, &DEF, metric, &format!("slow_ratio_rate{w}"))
    },
    proof: share_proof,
    world,
    more_worlds: &[],
    panels,
    silences: &[],
};

/// SHARE_OF observations a step, `value` of them slower than the top bucket.
fn world(w: &Inputs, value: f64) -> Option<Scenario> {
    let buckets = w.buckets(Role::QueryDuration)?;
    let top = *buckets.last()?;
    let n = SHARE_OF;
    let above = (value * n).floor();
    let below = n - above;
    let mut series: Vec<Series> = buckets
        .iter()
        .map(|&le| w.series(Role::QueryDuration, "_bucket", Some(le), w.rising(below)))
        .collect();
    series.push(w.series(
        Role::QueryDuration,
        "_bucket",
        Some(f64::INFINITY),
        w.rising(n),
    ));
    let sum = as_printed(below * top / 2.0 + above * 2.0 * top);
    series.push(w.series(Role::QueryDuration, "_sum", None, w.rising(sum)));
    series.push(w.series(Role::QueryDuration, "_count", None, w.rising(n)));
    let t = w.timing;
    let at = t.window_steps;
    let (count, bucket) = (t.rate(n, at), t.rate(below, at));
    Some(w.scenario_of(
        series,
        Some(Trace::Constant {
            from: 1,
            value: (count - bucket) / count,
        }),
    ))
}

/// The share of queries slower than the histogram's largest bucket, which the p99 cannot
/// show, with the policy's steps; only where a policy watches it.
fn panels(cx: &PanelCx) -> Vec<Placed> {
    let top = cx
        .pool
        .roles
        .query_duration
        .as_ref()
        .and_then(|m| cx.model.catalog.get(m))
        .and_then(|m| m.top_bucket());
    let Some(top) = top.filter(|_| cx.pool.policies.get(cx.signal).is_some()) else {
        return Vec::new();
    };
    vec![Placed {
        slot: 90,
        spec: series_panel(
            format!("Queries Slower Than {}s", number(top)),
            format!(
                "Share of queries slower than {}s, the query-duration histogram's largest bucket. Threshold lines: the slow-query policy.",
                number(top)
            ),
            "percentunit",
            vec![target(
                panel_value(cx, &DEF),
                &cx.legend("slower"),
                0,
                "time_series",
            )],
            (cx.steps(1.0), true),
            12,
        ),
    }]
}
