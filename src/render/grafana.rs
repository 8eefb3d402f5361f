//! The Grafana dashboard: a typed model of Grafana's dashboard JSON (schemaVersion 42).
//!
//! Panel `options` and `fieldConfig.defaults.custom` are free-form in Grafana's dashboard
//! schema; they are built as JSON here and checked against each panel type's own schema in
//! the test suite.

use serde::Serialize;
use serde_json::{Value, json};

use super::promql::PoolExprs;

mod variables;
use crate::conventions::{self, number};
use crate::model::{Model, Pool, Role, Signal};
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

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct GridPos {
    pub(crate) h: u32,
    pub(crate) w: u32,
    pub(crate) x: u32,
    pub(crate) y: u32,
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
fn opt_num<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => s.serialize_i64(*x as i64),
        Some(x) => s.serialize_f64(*x),
    }
}

/// Threshold steps of a signal's policy, scaled to the panel's unit. The base step is null.
fn steps(model: &Model, pool: &Pool, signal: Signal, scale: f64) -> Thresholds {
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
fn round(x: f64) -> f64 {
    number(x).parse().unwrap_or(x)
}

fn target(expr: String, legend: &str, ref_id: usize, format: &str) -> PanelTarget {
    PanelTarget {
        datasource: DataSourceRef::variable(),
        expr,
        legend_format: legend.into(),
        ref_id: ref_letter(ref_id),
        range: true,
        format: format.into(),
    }
}

fn ref_letter(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    letters
        .get(i)
        .map_or_else(|| format!("Q{i}"), |b| char::from(*b).to_string())
}

fn timeseries_custom(threshold_lines: bool) -> Value {
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

fn timeseries_options() -> Value {
    json!({
        "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true, "calcs": [] },
        "tooltip": { "mode": "multi", "sort": "desc" }
    })
}

struct PanelSpec {
    kind: &'static str,
    title: String,
    description: String,
    unit: &'static str,
    min: Option<f64>,
    max: Option<f64>,
    targets: Vec<PanelTarget>,
    thresholds: Thresholds,
    custom: Value,
    options: Value,
    w: u32,
    h: u32,
    /// Repeated per value of this variable.
    repeat: Option<String>,
}

/// A half-width time series of one target from 0, its threshold steps drawn as lines when
/// it has any.
fn half_width_series(
    title: &str,
    description: String,
    unit: &'static str,
    target: PanelTarget,
    thresholds: Thresholds,
) -> PanelSpec {
    PanelSpec {
        kind: "timeseries",
        title: title.into(),
        description,
        unit,
        min: Some(0.0),
        max: None,
        targets: vec![target],
        custom: timeseries_custom(thresholds.steps.len() > 1),
        thresholds,
        options: timeseries_options(),
        w: 12,
        h: 8,
        repeat: None,
    }
}

fn no_thresholds(model: &Model) -> Thresholds {
    Thresholds {
        mode: "absolute".into(),
        steps: vec![Step {
            color: model.dashboard.base_color.clone(),
            value: None,
        }],
    }
}

/// A legend naming the series' pool instance: `active {{instance}}`.
fn legend(pool: &Pool, what: &str) -> String {
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
fn repeat_var(pool: &Pool) -> Option<String> {
    pool.identity.last().cloned()
}

/// The Connections panel's series: active, free (size minus active) and size, then the idle
/// and waiting gauges where the library exports them (Exhausted reads the waiting clients, so
/// the panel shows what the alert reads).
fn connection_targets(pool: &Pool, x: &PoolExprs) -> Vec<PanelTarget> {
    let mut exprs = vec![
        (x.gauge(Role::Active), "active"),
        (x.free(), "free"),
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

/// The panels of one pool, in reading order.
fn pool_panels(model: &Model, pool: &Pool) -> Vec<PanelSpec> {
    let x = PoolExprs::panels(pool, RATE_INTERVAL);
    let r = &pool.roles;
    let mut out = Vec::new();

    let util_threshold = pool
        .policies
        .get(Signal::Utilization)
        .and_then(|p| p.alert_levels().next())
        .map(|(l, a)| {
            format!(
                " The alert fires above {}% for {}.",
                number(l.value * 100.0),
                a.for_
            )
        });
    out.push(PanelSpec {
        kind: "gauge",
        title: "Connection Pool Utilization".into(),
        description: format!(
            "Active connections as a share of the pool size.{}",
            util_threshold.unwrap_or_default()
        ),
        unit: "percent",
        min: Some(0.0),
        max: Some(100.0),
        targets: vec![target(
            format!("100 * ({})", x.utilization()),
            &legend(pool, ""),
            0,
            "time_series",
        )],
        thresholds: steps(model, pool, Signal::Utilization, 100.0),
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
        repeat: repeat_var(pool),
    });

    if r.wait_time.is_some() {
        out.push(PanelSpec {
            kind: "timeseries",
            title: "Connection Acquisition Wait Time".into(),
            description: "p50, p95 and p99 of the time queries wait to acquire a connection. Threshold lines: the wait-time policy.".into(),
            unit: "s",
            min: Some(0.0),
            max: None,
            targets: conventions::WAIT_QUANTILES
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    target(
                        x.quantile(*q, Role::WaitTime),
                        &legend(pool, &format!("p{}", conventions::quantile_label(*q))),
                        i,
                        "time_series",
                    )
                })
                .collect(),
            thresholds: steps(model, pool, Signal::WaitTimeP99, 1.0),
            custom: timeseries_custom(true),
            options: timeseries_options(),
            w: 18,
            h: 8,
            repeat: None,
        });
    }

    out.push(PanelSpec {
        kind: "timeseries",
        title: "Connections".into(),
        description: connections_description(r).into(),
        unit: "short",
        min: Some(0.0),
        max: None,
        targets: connection_targets(pool, &x),
        thresholds: no_thresholds(model),
        custom: timeseries_custom(false),
        options: timeseries_options(),
        w: 12,
        h: 8,
        repeat: None,
    });

    let failures: Vec<(&str, Role)> = [
        ("acquisition timeouts", Role::AcquisitionTimeouts),
        ("creation errors", Role::CreationErrors),
    ]
    .into_iter()
    .filter(|(_, role)| r.get(*role).is_some())
    .collect();
    if !failures.is_empty() {
        out.push(PanelSpec {
            kind: "timeseries",
            title: "Acquisition Timeouts and Creation Errors".into(),
            description: "Per second. Any sustained value alerts.".into(),
            unit: "ops",
            min: Some(0.0),
            max: None,
            targets: failures
                .iter()
                .enumerate()
                .map(|(i, (what, role))| {
                    target(x.counter_rate(*role), &legend(pool, what), i, "time_series")
                })
                .collect(),
            thresholds: no_thresholds(model),
            custom: timeseries_custom(false),
            options: timeseries_options(),
            w: 12,
            h: 8,
            repeat: None,
        });
    }

    // The mean wait: where a policy watches it, or where the wait counters are the only
    // view of waiting there is (database/sql has no histogram). The expression is the
    // alert's own.
    if r.supports(Signal::WaitTimeMean)
        && (pool.policies.get(Signal::WaitTimeMean).is_some()
            || crate::signals::mean_wait_from_counters(r))
    {
        let cx = crate::render::promql::ExprCx {
            top_bucket: None,
            for_: crate::model::PromDuration::from_secs(0),
            targets: crate::model::Targets::default(),
        };
        let per = if crate::signals::mean_wait_from_counters(r) {
            "per acquisition that had to wait"
        } else {
            "per acquisition"
        };
        out.push(half_width_series(
            "Mean Acquisition Wait",
            format!(
                "Seconds waited for a connection, {per}, averaged over the rate window (no value without acquisitions). Threshold lines: the mean wait-time policy."
            ),
            "s",
            target(
                Signal::WaitTimeMean.expr(&x, &cx),
                &legend(pool, "mean"),
                0,
                "time_series",
            ),
            steps(model, pool, Signal::WaitTimeMean, 1.0),
        ));
    }

    if r.wait_count.is_some() {
        out.push(half_width_series(
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
        ));
    }

    if r.max_wait.is_some() {
        out.push(half_width_series(
            "Longest Client Wait",
            "How long the oldest client still waiting for a connection has waited. Threshold lines: the longest-wait policy.".into(),
            "s",
            target(
                x.gauge_max(Role::MaxWait),
                &legend(pool, "longest wait"),
                0,
                "time_series",
            ),
            steps(model, pool, Signal::MaxWait, 1.0),
        ));
    }

    if r.query_duration.is_some() {
        out.push(PanelSpec {
            kind: "timeseries",
            title: "Query Duration p99".into(),
            description: "p99 query latency. Threshold lines: the query-duration policy.".into(),
            unit: "s",
            min: Some(0.0),
            max: None,
            targets: vec![target(
                x.quantile(0.99, Role::QueryDuration),
                &legend(pool, "p99"),
                0,
                "time_series",
            )],
            thresholds: steps(model, pool, Signal::QueryDurationP99, 1.0),
            custom: timeseries_custom(true),
            options: timeseries_options(),
            w: 12,
            h: 8,
            repeat: None,
        });
    }

    // The share of queries slower than the histogram's largest bucket, which the p99
    // cannot show, with the slow-query policy's steps.
    if pool.policies.get(Signal::SlowQueries).is_some()
        && let Some(top) = r
            .query_duration
            .as_ref()
            .and_then(|m| model.catalog.get(m))
            .and_then(|m| m.top_bucket())
    {
        out.push(PanelSpec {
            kind: "timeseries",
            title: format!("Queries Slower Than {}s", number(top)),
            description: format!(
                "Share of queries slower than {}s, the query-duration histogram's largest bucket. Threshold lines: the slow-query policy.",
                number(top)
            ),
            unit: "percentunit",
            min: Some(0.0),
            max: None,
            targets: vec![target(
                x.share_above(Role::QueryDuration, top),
                &legend(pool, "slower"),
                0,
                "time_series",
            )],
            thresholds: steps(model, pool, Signal::SlowQueries, 1.0),
            custom: timeseries_custom(true),
            options: timeseries_options(),
            w: 12,
            h: 8,
            repeat: None,
        });
    }

    if let Some(cap) = &model.capacity {
        let names = conventions::capacity_names(
            pool,
            &model.pool_label,
            cap.peak_quantile,
            &cap.peak_window.to_string(),
        );
        let pool_sel = super::promql::pool_matcher(&model.pool_label, &pool.name);
        let mut targets = vec![
            target(
                x.gauge(Role::Size),
                &legend(pool, "configured"),
                0,
                "time_series",
            ),
            target(
                format!("{}{}", names.recommended, x.recorded(&model.pool_label)),
                &legend(pool, "recommended"),
                1,
                "time_series",
            ),
        ];
        if cap.memory_budget.is_some() {
            targets.push(target(
                format!("{}{pool_sel}", names.memory_ceiling),
                "memory ceiling",
                targets.len(),
                "time_series",
            ));
        }
        if let Some(expected) = cap.expected_pool_size {
            targets.push(target(
                format!("vector({expected})"),
                "expected",
                targets.len(),
                "time_series",
            ));
        }
        out.push(PanelSpec {
            kind: "timeseries",
            title: "Pool Capacity".into(),
            description: format!(
                "Configured pool size against the recommended size (p{} of concurrent use over {}, times {}), the memory ceiling (budget / memory per connection) and the environment's expected size.",
                conventions::quantile_label(cap.peak_quantile),
                cap.peak_window,
                number(cap.headroom)
            ),
            unit: "short",
            min: Some(0.0),
            max: None,
            targets,
            thresholds: no_thresholds(model),
            custom: timeseries_custom(false),
            options: timeseries_options(),
            w: 12,
            h: 8,
            repeat: None,
        });
    }

    if r.wait_time.is_some() {
        out.push(PanelSpec {
            kind: "heatmap",
            title: "Wait Time Distribution".into(),
            description: "Acquisition wait time buckets per second, one heatmap per pool instance.".into(),
            unit: "s",
            min: None,
            max: None,
            targets: vec![target(x.bucket_rate(Role::WaitTime), "{{le}}", 0, "heatmap")],
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
        });
    }
    out
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
