//! ConnectionPoolHighUtilization: active / size per instance, a 0..1 ratio (the size
//! guarded, so "unlimited" 0 gives no value rather than +Inf), and the pool's gauge.

use serde_json::json;

use super::{Def, Recording, rules_window, share_proof};
use crate::conventions;
use crate::conventions::number;
use crate::model::{Comparison, PolicyShape, Reach, Role, SignalInfo, ValueUnit};
use crate::render::grafana::panel::{PanelCx, PanelSpec, Placed, repeat_var, target};
use crate::render::promql::percent;
use crate::render::promtool_tests::arithmetic::ratio;
use crate::render::promtool_tests::inputs::{Inputs, Scenario, Trace};

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "utilization",
        alert: "ConnectionPoolHighUtilization",
        comparison: Comparison::Above,
        unit: ValueUnit::Ratio,
        policy: PolicyShape::Levels,
        role: None,
        any_of: &[],
        reach: Reach::Any,
    },
    template: include_str!("../../templates/alerts/utilization.j2"),
    guide: include_str!("../../templates/runbook/utilization.md.j2"),
    while_waiting: false,
    expr: |x, _cx| x.utilization(),
    recordings: |x, cx| {
        let names = conventions::record_names(x.pool, &cx.model.pool_label, &rules_window(cx));
        vec![Recording {
            name: names.utilization,
            expr: x.utilization(),
        }]
    },
    proof: share_proof,
    world,
    more_worlds: &[],
    panels,
    silences: &[],
};

/// A pool of `size` connections, `active` of them in use.
fn world(w: &Inputs, value: f64) -> Option<Scenario> {
    let (active, size) = ratio(value)?;
    Some(w.scenario_of(
        vec![
            w.series(Role::Size, "", None, w.constant(size)),
            w.series(Role::Active, "", None, w.constant(active)),
        ],
        Some(Trace::Constant {
            from: 0,
            value: active / size,
        }),
    ))
}

/// A gauge per pool instance, in percent, with the policy's steps.
fn panels(cx: &PanelCx) -> Vec<Placed> {
    let util_threshold = cx
        .pool
        .policies
        .get(cx.signal)
        .and_then(|p| p.alert_levels().next())
        .map(|(l, a)| {
            format!(
                " The alert fires above {}% for {}.",
                number(l.value * 100.0),
                a.for_
            )
        });
    vec![Placed {
        slot: 10,
        spec: PanelSpec {
            kind: "gauge",
            title: "Connection Pool Utilization".into(),
            description: format!(
                "Active connections as a share of the pool size.{}",
                util_threshold.unwrap_or_default()
            ),
            unit: "percent",
            min: Some(0.0),
            max: Some(100.0),
            // Recorded whatever the policies: the alert's own series.
            targets: vec![target(
                percent(
                    &cx.x.select_recorded(
                        &conventions::record_names(
                            cx.pool,
                            &cx.model.pool_label,
                            &cx.model.rate_window.to_string(),
                        )
                        .utilization,
                        &cx.model.pool_label,
                    ),
                ),
                &cx.legend(""),
                0,
                "time_series",
            )],
            thresholds: cx.steps(100.0),
            custom: json!({}),
            options: json!({
                "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                "orientation": "auto",
                "showThresholdLabels": false,
                "showThresholdMarkers": true,
                "sizing": "auto",
                "minVizWidth": 75,
                "minVizHeight": 75
            }),
            w: 6,
            h: 8,
            repeat: repeat_var(cx.pool),
        },
    }]
}
