//! The Grafana dashboard: a typed model of Grafana's dashboard JSON (schemaVersion 42).
//!
//! Panel `options` and `fieldConfig.defaults.custom` are free-form in Grafana's dashboard
//! schema; they are built as JSON here and checked against each panel type's own schema in
//! the test suite.

use serde::Serialize;
use serde_json::{Value, json};

use super::promql::{PoolExprs, Recorded, constant};

pub(crate) mod panel;
mod variables;
use crate::conventions::{self, number};
use crate::model::{HistogramStorage, Model, Pool, Role};
use crate::signals;
pub use panel::PanelTarget;
pub(crate) use panel::{DataSourceRef, Thresholds};
use panel::{
    PanelCx, PanelSpec, Placed, half_width_series, legend, no_thresholds, opt_num, repeat_var,
    series_panel, target,
};
use variables::variables;

pub(crate) const SCHEMA_VERSION: u32 = 42;
/// Grafana's per-panel rate window variable.
pub(crate) const RATE_INTERVAL: &str = "$__rate_interval";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub uid: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) tags: Vec<String>,
    pub(crate) timezone: String,
    pub(crate) editable: bool,
    pub(crate) graph_tooltip: u8,
    pub(crate) time: TimeRange,
    pub(crate) refresh: String,
    pub(crate) schema_version: u32,
    pub panels: Vec<PanelItem>,
    pub(crate) templating: List<Variable>,
    pub(crate) annotations: List<Value>,
    pub(crate) links: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TimeRange {
    pub(crate) from: String,
    pub(crate) to: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct List<T> {
    pub(crate) list: Vec<T>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Variable {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) datasource: Option<DataSourceRef>,
    pub(crate) query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) definition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) multi: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) include_all: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sort: Option<u8>,
    pub(crate) hide: u8,
    pub(crate) refresh: u8,
    pub(crate) regex: String,
    pub(crate) skip_url_sync: bool,
}

/// A dashboard panel or a row grouping panels.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum PanelItem {
    Panel(Panel),
    Row(Row),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) id: u32,
    pub(crate) title: String,
    pub(crate) collapsed: bool,
    pub(crate) grid_pos: GridPos,
    pub(crate) panels: Vec<Panel>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) id: u32,
    pub title: String,
    pub(crate) description: String,
    pub(crate) datasource: DataSourceRef,
    pub(crate) grid_pos: GridPos,
    pub targets: Vec<PanelTarget>,
    pub(crate) field_config: FieldConfigSource,
    pub(crate) options: Value,
    /// The variable the panel is repeated for (one gauge or heatmap per pool instance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) repeat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) repeat_direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_per_row: Option<u32>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct GridPos {
    pub(crate) h: u32,
    pub(crate) w: u32,
    pub(crate) x: u32,
    pub(crate) y: u32,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FieldConfigSource {
    pub(crate) defaults: FieldDefaults,
    pub(crate) overrides: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FieldDefaults {
    pub(crate) unit: String,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_num")]
    pub(crate) min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_num")]
    pub(crate) max: Option<f64>,
    pub(crate) thresholds: Thresholds,
    pub(crate) color: Value,
    pub(crate) custom: Value,
}

/// The Connections panel's series: active, free (size minus active) and size, then the idle
/// and waiting gauges where the library exports them (Exhausted reads the waiting clients, so
/// the panel shows what the alert reads).
fn connection_targets(model: &Model, pool: &Pool, x: &PoolExprs) -> Vec<PanelTarget> {
    let mut exprs = vec![
        (x.gauge(Role::Active), "active"),
        (signals::free_connections_drawn(model, pool, x), "free"),
        (x.gauge(Role::Size), "size"),
    ];
    for (role, what) in [(Role::Available, "idle"), (Role::Waiting, "waiting")] {
        if pool.roles.get(role).is_some() {
            exprs.push((x.gauge(role), what));
        }
    }
    exprs
        .into_iter()
        .enumerate()
        .map(|(i, (expr, what))| target(expr, &legend(pool, what), i, "time_series"))
        .collect()
}

fn connections_description(r: &crate::model::Roles) -> &'static str {
    match (r.available.is_some(), r.waiting.is_some()) {
        (true, true) => {
            "Active, free (size minus active), size, idle and waiting clients, per pool instance."
        }
        (true, false) => {
            "Active, free (size minus active), size and idle connections, per pool instance."
        }
        (false, true) => {
            "Active, free (size minus active), size and waiting clients, per pool instance."
        }
        (false, false) => {
            "Active, free (size minus active) and size (configured connections), per pool instance."
        }
    }
}

/// The panels of one pool, in reading order: the signals' own (`Def::panels`) and the
/// pool's, by slot.
fn pool_panels(model: &Model, pool: &Pool) -> Vec<PanelSpec> {
    let x = PoolExprs::panels(pool, RATE_INTERVAL);
    let mut placed = own_panels(model, pool, &x);
    for def in signals::ALL {
        let signal = def.signal();
        if pool.roles.supports(signal) {
            placed.extend((def.panels)(&PanelCx {
                model,
                pool,
                x: &x,
                signal,
            }));
        }
    }
    placed.sort_by_key(|p| p.slot);
    placed.into_iter().map(|p| p.spec).collect()
}

/// The pool's panels that belong to no one signal: its connections, failures, waits,
/// capacity and the wait-time heatmap.
fn own_panels(model: &Model, pool: &Pool, x: &PoolExprs) -> Vec<Placed> {
    let r = &pool.roles;
    let mut out = vec![Placed {
        slot: 30,
        spec: series_panel(
            "Connections",
            connections_description(r),
            "short",
            connection_targets(model, pool, x),
            (no_thresholds(model), false),
            12,
        ),
    }];
    if let Some(spec) = failures_panel(model, pool, x) {
        out.push(Placed { slot: 40, spec });
    }
    if r.wait_count.is_some() {
        out.push(Placed {
            slot: 60,
            spec: half_width_series(
                "Waits per Second",
                "Acquisitions that found no free connection and had to wait, per second.".into(),
                "ops",
                target(
                    x.counter_rate(Role::WaitCount),
                    &legend(pool, "waits"),
                    0,
                    "time_series",
                ),
                no_thresholds(model),
            ),
        });
    }
    if let Some(spec) = capacity_panel(model, pool, x) {
        out.push(Placed { slot: 100, spec });
    }
    if let Some(spec) = heatmap_panel(model, pool, x) {
        out.push(Placed { slot: 110, spec });
    }
    out
}

/// Acquisition timeouts and creation errors per second, where the library counts either.
fn failures_panel(model: &Model, pool: &Pool, x: &PoolExprs) -> Option<PanelSpec> {
    let failures: Vec<(&str, Role)> = [
        ("acquisition timeouts", Role::AcquisitionTimeouts),
        ("creation errors", Role::CreationErrors),
    ]
    .into_iter()
    .filter(|(_, role)| pool.roles.get(*role).is_some())
    .collect();
    if failures.is_empty() {
        return None;
    }
    Some(series_panel(
        "Acquisition Timeouts and Creation Errors",
        "Per second. Any sustained value alerts.",
        "ops",
        failures
            .iter()
            .enumerate()
            .map(|(i, (what, role))| {
                let rate = signals::counter_panel_rate(model, pool, x, *role);
                target(rate, &legend(pool, what), i, "time_series")
            })
            .collect(),
        (no_thresholds(model), false),
        12,
    ))
}

/// Configured against recommended size, memory ceiling and expected size.
fn capacity_panel(model: &Model, pool: &Pool, x: &PoolExprs) -> Option<PanelSpec> {
    let cap = model.capacity.as_ref()?;
    let names = conventions::capacity_names(
        pool,
        &model.pool_label,
        cap.peak_quantile,
        &cap.peak_window.to_string(),
    );
    let recorded = Recorded {
        pool_label: &model.pool_label,
        pool: &pool.name,
    };
    let mut targets = vec![
        target(
            x.gauge(Role::Size),
            &legend(pool, "configured"),
            0,
            "time_series",
        ),
        target(
            x.select_recorded(&names.recommended, &model.pool_label),
            &legend(pool, "recommended"),
            1,
            "time_series",
        ),
    ];
    if cap.memory_budget.is_some() {
        targets.push(target(
            recorded.select(&names.memory_ceiling),
            "memory ceiling",
            targets.len(),
            "time_series",
        ));
    }
    if let Some(expected) = cap.expected_pool_size {
        targets.push(target(
            constant(expected),
            "expected",
            targets.len(),
            "time_series",
        ));
    }
    Some(series_panel(
        "Pool Capacity",
        format!(
            "Configured pool size against the recommended size (p{} of concurrent use over {}, times {}), the memory ceiling (budget / memory per connection) and the environment's expected size.",
            conventions::quantile_label(cap.peak_quantile),
            cap.peak_window,
            number(cap.headroom)
        ),
        "short",
        targets,
        (no_thresholds(model), false),
        12,
    ))
}

/// The wait-time buckets as a heatmap per pool instance. Classic buckets go in Grafana's
/// `heatmap` format, by `le`; a native histogram's rate is a histogram per sample, which the
/// heatmap panel reads from a plain time-series query (Grafana Mimir docs, "Visualize
/// native histograms", Create Grafana dashboards:
/// https://grafana.com/docs/mimir/latest/visualize/native-histograms/). While both forms
/// exist, the classic format: its rows are the classic instances' `le` buckets.
fn heatmap_panel(model: &Model, pool: &Pool, x: &PoolExprs) -> Option<PanelSpec> {
    pool.roles.wait_time.as_ref()?;
    let (legend, format) = match pool.roles.storage(Role::WaitTime) {
        HistogramStorage::Native => ("", "time_series"),
        HistogramStorage::Classic | HistogramStorage::Both => ("{{le}}", "heatmap"),
    };
    Some(PanelSpec {
        kind: "heatmap",
        title: "Wait Time Distribution".into(),
        description: "Acquisition wait time buckets per second, one heatmap per pool instance."
            .into(),
        unit: "s",
        min: None,
        max: None,
        targets: vec![target(x.bucket_rate(Role::WaitTime), legend, 0, format)],
        thresholds: no_thresholds(model),
        custom: json!({ "scaleDistribution": { "type": "linear" }, "hideFrom": { "legend": false, "tooltip": false, "viz": false } }),
        options: json!({
            "calculate": false,
            "cellGap": 1,
            "color": { "mode": "scheme", "scheme": "Oranges", "fill": "dark-orange", "scale": "exponential", "exponent": 0.5, "steps": 64, "reverse": false },
            "exemplars": { "color": "rgba(255,0,255,0.7)" },
            "filterValues": { "le": 1e-9 },
            "legend": { "show": true },
            "rowsFrame": { "layout": "auto" },
            "showValue": "auto",
            "tooltip": { "mode": "single", "yHistogram": false, "showColorScale": false },
            "yAxis": { "axisPlacement": "left", "reverse": false, "unit": "s" }
        }),
        w: 12,
        h: 8,
        repeat: repeat_var(pool),
    })
}

/// Lays panels out left to right, wrapping at Grafana's 24 columns, starting at row `y`.
/// Returns the panels and the next free row.
fn layout(specs: Vec<PanelSpec>, next_id: &mut u32, mut y: u32) -> (Vec<Panel>, u32) {
    let mut x = 0;
    let mut row_h = 0;
    let mut panels = Vec::new();
    for s in specs {
        if x + s.w > 24 {
            y += row_h;
            x = 0;
            row_h = 0;
        }
        let id = *next_id;
        *next_id += 1;
        panels.push(Panel {
            kind: s.kind.into(),
            id,
            title: s.title,
            description: s.description,
            datasource: DataSourceRef::variable(),
            grid_pos: GridPos { h: s.h, w: s.w, x, y },
            targets: s.targets,
            field_config: FieldConfigSource {
                defaults: FieldDefaults {
                    unit: s.unit.into(),
                    min: s.min,
                    max: s.max,
                    thresholds: s.thresholds,
                    color: json!({ "mode": if s.kind == "gauge" { "thresholds" } else { "palette-classic" } }),
                    custom: s.custom,
                },
                overrides: Vec::new(),
            },
            options: s.options,
            repeat_direction: s.repeat.as_ref().map(|_| "h".to_string()),
            max_per_row: s.repeat.as_ref().map(|_| 4),
            repeat: s.repeat,
        });
        x += s.w;
        row_h = row_h.max(s.h);
    }
    (panels, y + row_h)
}

/// Builds the dashboard: one set of panels per pool, each pool in its own row when the
/// spec has more than one.
pub(crate) fn dashboard(model: &Model) -> Dashboard {
    let mut next_id = 1;
    let mut y = 0;
    let mut items = Vec::new();
    let rows = model.pools.len() > 1;
    // Each pool's panels are built on every core, then laid out in order.
    let specs: Vec<Vec<PanelSpec>> = model
        .pools
        .iter()
        .map(|pool| pool_panels(model, pool))
        .collect();
    for (pool, specs) in model.pools.iter().zip(specs) {
        if rows {
            let id = next_id;
            next_id += 1;
            let row_y = y;
            y += 1;
            let (panels, next_y) = layout(specs, &mut next_id, y);
            y = next_y;
            items.push(PanelItem::Row(Row {
                kind: "row".into(),
                id,
                title: format!("{} ({})", pool.title, pool.name),
                collapsed: false,
                grid_pos: GridPos {
                    h: 1,
                    w: 24,
                    x: 0,
                    y: row_y,
                },
                panels: Vec::new(),
            }));
            items.extend(panels.into_iter().map(PanelItem::Panel));
        } else {
            let (panels, next_y) = layout(specs, &mut next_id, y);
            y = next_y;
            items.extend(panels.into_iter().map(PanelItem::Panel));
        }
    }
    Dashboard {
        uid: conventions::dashboard_uid(&model.name, model.environment.as_deref()),
        title: match &model.environment {
            None => format!("Connection Pool / {}", model.title),
            Some(env) => format!("Connection Pool / {} ({env})", model.title),
        },
        description: format!(
            "Generated by poolwatch from {}. Do not edit: change the spec and run `poolwatch emit`.",
            conventions::source_description(model)
        ),
        tags: vec!["poolwatch".into(), "connection-pool".into()],
        timezone: "browser".into(),
        editable: false,
        graph_tooltip: 1,
        time: TimeRange {
            from: format!("now-{}", model.dashboard.time_from),
            to: "now".into(),
        },
        refresh: model.dashboard.refresh.clone(),
        schema_version: SCHEMA_VERSION,
        panels: items,
        templating: List {
            list: variables(model),
        },
        annotations: List { list: Vec::new() },
        links: Vec::new(),
    }
}

/// Every panel of the dashboard, rows' nested panels included.
pub fn all_panels(d: &Dashboard) -> Vec<&Panel> {
    let mut out = Vec::new();
    for item in &d.panels {
        match item {
            PanelItem::Panel(p) => out.push(p),
            PanelItem::Row(r) => out.extend(r.panels.iter()),
        }
    }
    out
}

/// The dashboard as a JSON value, which the dashboard checks read as they read a
/// hand-written one.
pub(crate) fn to_value(model: &Model, d: &Dashboard) -> Result<Value, crate::diag::Diagnostic> {
    serde_json::to_value(d).map_err(|e| super::serialize_error(model, "JSON", e))
}
