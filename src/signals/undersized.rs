//! ConnectionPoolUndersized: the recommended size (peak use times headroom, recorded per
//! instance) above the instance's configured size. Its "threshold" in proofs is the
//! configured size. Its series are on the pool's capacity panel.

use super::{Def, Proof, no_panels};
use crate::conventions;
use crate::model::{Comparison, PolicyShape, Reach, Role, SignalInfo, ValueUnit};
use crate::render::promql::{ExprCx, PoolExprs, Recorded};
use crate::render::promtool_tests::inputs::{Inputs, Scenario, Trace, UNDERSIZED_SIZE};

pub(crate) const DEF: Def = Def {
    info: SignalInfo {
        key: "undersized",
        alert: "ConnectionPoolUndersized",
        comparison: Comparison::Above,
        unit: ValueUnit::Connections,
        policy: PolicyShape::Capacity,
        role: None,
        any_of: &[],
        reach: Reach::Any,
    },
    template: include_str!("../../templates/alerts/undersized.j2"),
    guide: include_str!("../../templates/runbook/undersized.md.j2"),
    while_waiting: false,
    expr,
    // Recommended sizes against the configured one: above it; equal to it (`>` does not
    // hold); half of it.
    recordings: |_, _| Vec::new(),
    proof: |cx| Proof {
        firing: 2.0 * cx.threshold,
        silent: cx.threshold,
        healthy: cx.threshold / 2.0,
    },
    world,
    more_worlds: &[],
    panels: no_panels,
    silences: &[],
};

/// The recommendation (per instance, with the pool label) against the configured size (per
/// instance, or per fewer labels when the size is bound with `match`).
fn expr(x: &PoolExprs, cx: &ExprCx) -> String {
    let Some(cap) = &cx.model.capacity else {
        return x.gauge(Role::Size);
    };
    let pool = x.pool;
    let pool_label = &cx.model.pool_label;
    let names = conventions::capacity_names(
        pool,
        pool_label,
        cap.peak_quantile,
        &cap.peak_window.to_string(),
    );
    let recorded = Recorded {
        pool_label,
        pool: &pool.name,
    };
    let size = pool.covered(Role::Size);
    let op = recorded.above((size.len() != pool.group_labels().len()).then_some(size.as_slice()));
    x.binary(
        &recorded.select(&names.recommended),
        &op,
        &x.gauge(Role::Size),
    )
}

/// The largest steady use whose recommended size, ceil(headroom * use), is at most
/// `value`. The pool's recordings run before its alerts in its group, so the alert
/// sees the recommendation from step 0.
fn world(w: &Inputs, value: f64) -> Option<Scenario> {
    let active = (value / w.headroom).floor();
    let recommended = (w.headroom * active).ceil();
    if active < 1.0 || recommended > value {
        return None;
    }
    Some(w.scenario_of(
        vec![
            w.series(Role::Size, "", None, w.constant(UNDERSIZED_SIZE)),
            w.series(Role::Active, "", None, w.constant(active)),
        ],
        Some(Trace::Constant {
            from: 0,
            value: recommended,
        }),
    ))
}
