//! One panel of a pool's row, before layout: what it shows (its targets and threshold
//! steps), the pieces every panel is built of, and what a signal's panels are given
//! ([`PanelCx`]). The signals' own panels are in their files (`src/signals/`); the pool's
//! other panels in `render/grafana.rs`, which lays them all out.

use serde::Serialize;
use serde_json::{Value, json};

use crate::conventions::{self, number};
use crate::model::{Model, Pool, Signal};
use crate::render::promql::PoolExprs;

/// What a signal's panels are built from.
pub(crate) struct PanelCx<'a> {
    pub(crate) model: &'a Model,
    pub(crate) pool: &'a Pool,
    /// The pool's expressions over Grafana's rate window.
    pub(crate) x: &'a PoolExprs<'a>,
    /// The signal whose panels these are.
    pub(crate) signal: Signal,
}

impl PanelCx<'_> {
    /// The signal's threshold steps, scaled to the panel's unit.
    pub(crate) fn steps(&self, scale: f64) -> Thresholds {
        steps(self.model, self.pool, self.signal, scale)
    }

    /// A legend naming the series' pool instance.
    pub(crate) fn legend(&self, what: &str) -> String {
        legend(self.pool, what)
    }
}

/// A panel and its place in a pool's row: panels are laid out by slot, lowest first. The
/// pool's own panels take the tens between the signals': connections 30, failures 40,
/// waits 60, capacity 100, the wait-time heatmap 110.
pub(crate) struct Placed {
    pub(crate) slot: u8,
    pub(crate) spec: PanelSpec,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct DataSourceRef {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) uid: String,
}

impl DataSourceRef {
    /// The dashboard's `datasource` variable.
    pub(crate) fn variable() -> Self {
        Self {
            kind: "prometheus".into(),
            uid: format!("${{{}}}", conventions::DATASOURCE_VAR),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelTarget {
    pub(crate) datasource: DataSourceRef,
    pub expr: String,
    pub(crate) legend_format: String,
    pub(crate) ref_id: String,
    pub(crate) range: bool,
    pub(crate) format: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Thresholds {
    pub(crate) mode: String,
    pub(crate) steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Step {
    pub(crate) color: String,
    /// `None` is the base step (`null` in JSON): everything below the first threshold.
    #[serde(serialize_with = "opt_num")]
    pub(crate) value: Option<f64>,
}

/// Writes whole numbers without a fraction (`90`, not `90.0`), as Grafana itself does.
pub(crate) fn opt_num<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => s.serialize_i64(*x as i64),
        Some(x) => s.serialize_f64(*x),
    }
}

/// Threshold steps of a signal's policy, scaled to the panel's unit. The base step is null.
pub(crate) fn steps(model: &Model, pool: &Pool, signal: Signal, scale: f64) -> Thresholds {
    let mut steps = vec![Step {
        color: model.dashboard.base_color.clone(),
        value: None,
    }];
    if let Some(p) = pool.policies.get(signal) {
        steps.extend(p.levels.iter().map(|l| Step {
            color: l.color.clone(),
            value: Some(round(l.value * scale)),
        }));
    }
    Thresholds {
        mode: "absolute".into(),
        steps,
    }
}

/// Removes float noise from scaled thresholds (0.9 * 100 is 90, not 90.00000000000001).
pub(crate) fn round(x: f64) -> f64 {
    number(x).parse().unwrap_or(x)
}

pub(crate) fn target(expr: String, legend: &str, ref_id: usize, format: &str) -> PanelTarget {
    PanelTarget {
        datasource: DataSourceRef::variable(),
        expr,
        legend_format: legend.into(),
        ref_id: ref_letter(ref_id),
        range: true,
        format: format.into(),
    }
}

pub(crate) fn ref_letter(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    letters
        .get(i)
        .map_or_else(|| format!("Q{i}"), |b| char::from(*b).to_string())
}

pub(crate) fn timeseries_custom(threshold_lines: bool) -> Value {
    json!({
        "drawStyle": "line",
        "lineWidth": 1,
        "fillOpacity": 10,
        "showPoints": "never",
        "spanNulls": false,
        "axisPlacement": "auto",
        "thresholdsStyle": { "mode": if threshold_lines { "line" } else { "off" } }
    })
}

pub(crate) fn timeseries_options() -> Value {
    json!({
        "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true, "calcs": [] },
        "tooltip": { "mode": "multi", "sort": "desc" }
    })
}

pub(crate) struct PanelSpec {
    pub(crate) kind: &'static str,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) unit: &'static str,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) targets: Vec<PanelTarget>,
    pub(crate) thresholds: Thresholds,
    pub(crate) custom: Value,
    pub(crate) options: Value,
    pub(crate) w: u32,
    pub(crate) h: u32,
    /// Repeated per value of this variable.
    pub(crate) repeat: Option<String>,
}

/// A time series from 0, 8 high and `w` wide, with its threshold steps drawn as lines or
/// not.
pub(crate) fn series_panel(
    title: impl Into<String>,
    description: impl Into<String>,
    unit: &'static str,
    targets: Vec<PanelTarget>,
    (thresholds, threshold_lines): (Thresholds, bool),
    w: u32,
) -> PanelSpec {
    PanelSpec {
        kind: "timeseries",
        title: title.into(),
        description: description.into(),
        unit,
        min: Some(0.0),
        max: None,
        targets,
        thresholds,
        custom: timeseries_custom(threshold_lines),
        options: timeseries_options(),
        w,
        h: 8,
        repeat: None,
    }
}

/// A half-width time series of one target from 0, its threshold steps drawn as lines when
/// it has any.
pub(crate) fn half_width_series(
    title: &str,
    description: String,
    unit: &'static str,
    target: PanelTarget,
    thresholds: Thresholds,
) -> PanelSpec {
    let lines = thresholds.steps.len() > 1;
    series_panel(
        title,
        description,
        unit,
        vec![target],
        (thresholds, lines),
        12,
    )
}

pub(crate) fn no_thresholds(model: &Model) -> Thresholds {
    Thresholds {
        mode: "absolute".into(),
        steps: vec![Step {
            color: model.dashboard.base_color.clone(),
            value: None,
        }],
    }
}

/// A legend naming the series' pool instance: `active {{instance}}`.
pub(crate) fn legend(pool: &Pool, what: &str) -> String {
    let ids: Vec<String> = pool
        .group_labels()
        .iter()
        .filter(|l| **l != "job")
        .map(|l| format!("{{{{{l}}}}}"))
        .collect();
    if ids.is_empty() {
        what.to_string()
    } else if what.is_empty() {
        ids.join(" ")
    } else {
        format!("{what} {}", ids.join(" "))
    }
}

/// The variable a per-instance panel repeats for: the pool's last identity label.
pub(crate) fn repeat_var(pool: &Pool) -> Option<String> {
    pool.identity.last().cloned()
}
