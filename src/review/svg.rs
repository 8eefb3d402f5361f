//! A picture of a Grafana dashboard, as SVG: the layout Grafana gives its JSON (the
//! 24-column `gridPos` grid, rows, repeated panels shown once with their variable), each
//! panel's title, kind and unit, its thresholds drawn the way Grafana draws them (a gauge's
//! coloured band, a time series' threshold lines or areas), legends, and the template
//! variables bar. A layout preview for review, not a rendering of data: there are no
//! series. Deterministic: the same JSON gives the same bytes.

use std::fmt::Write as _;

use serde_json::Value;

use crate::conventions::number;

/// Pixels per grid column and per grid row unit, with the gap between panels (Grafana:
/// 30 px rows, 8 px margins; columns share the width).
const COL: f64 = 50.0;
const ROW: f64 = 38.0;
const GAP: f64 = 8.0;
const WIDTH: f64 = 24.0 * COL + GAP;
/// Height of the title and of the variables bar above the grid.
const TOP: f64 = 92.0;
/// The width of an average character of 11 px text, to keep labels apart.
const TEXT_W: f64 = 6.8;

const BACKGROUND: &str = "#111217";
const PANEL: &str = "#181b1f";
const BORDER: &str = "#2c3036";
const TEXT: &str = "#ccccdc";
const MUTED: &str = "#8e8e9a";
/// Grafana's classic palette, in the order it gives series their colours.
const PALETTE: [&str; 6] = [
    "#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2",
];

/// A panel placed on the grid (x, y, w, h in grid units).
struct Placed<'a> {
    json: &'a Value,
    grid: [f64; 4],
}

/// The SVG picture of a dashboard's JSON.
pub(crate) fn dashboard(json: &Value) -> String {
    let (items, bottom) = layout(json);
    let height = TOP + bottom * ROW + GAP;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"Inter, Helvetica, Arial, sans-serif\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"{BACKGROUND}\"/>\n",
        w = number(WIDTH),
        h = number(height)
    );
    let title = str_of(json, "title").unwrap_or("Dashboard");
    text(&mut out, GAP, 26.0, 18.0, TEXT, title, "start");
    text(
        &mut out,
        WIDTH - GAP,
        26.0,
        11.0,
        MUTED,
        "layout preview (poolwatch), not Grafana",
        "end",
    );
    variables(&mut out, json);
    for item in &items {
        if str_of(item.json, "type") == Some("row") {
            row(&mut out, item);
        } else {
            panel(&mut out, item);
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Every row and visible panel with its place, and the grid's height in units. Panels of
/// a collapsed row stay hidden inside it, as in Grafana; old dashboards' `rows[]` are laid
/// out one after another, `span` (of 12) doubled into columns.
fn layout(json: &Value) -> (Vec<Placed<'_>>, f64) {
    let mut items = Vec::new();
    if let Some(panels) = json.get("panels").and_then(Value::as_array) {
        for p in panels {
            items.push(Placed {
                json: p,
                grid: grid(p),
            });
        }
    } else if let Some(rows) = json.get("rows").and_then(Value::as_array) {
        let mut y = 0.0;
        for r in rows {
            items.push(Placed {
                json: r,
                grid: [0.0, y, 24.0, 1.0],
            });
            y += 1.0;
            let mut x = 0.0;
            for p in r
                .get("panels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let w = (num(p, "span").unwrap_or(12.0) * 2.0).clamp(1.0, 24.0);
                if x + w > 24.0 {
                    (x, y) = (0.0, y + 8.0);
                }
                items.push(Placed {
                    json: p,
                    grid: [x, y, w, 8.0],
                });
                x += w;
            }
            y += 8.0;
        }
    }
    let bottom = items
        .iter()
        .map(|i| i.grid[1] + i.grid[3])
        .fold(0.0, f64::max);
    (items, bottom)
}

fn grid(p: &Value) -> [f64; 4] {
    let g = p.get("gridPos");
    let n = |k: &str, d: f64| g.and_then(|g| num(g, k)).unwrap_or(d);
    [n("x", 0.0), n("y", 0.0), n("w", 12.0), n("h", 8.0)]
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A place on the grid in pixels: x, y, width, height.
fn pixels(g: [f64; 4]) -> [f64; 4] {
    [
        GAP + g[0] * COL,
        TOP + g[1] * ROW,
        g[2] * COL - GAP,
        g[3] * ROW - GAP,
    ]
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A coordinate in whole pixels: as sharp on screen, and cheap to print on every emit.
fn px(v: f64) -> i64 {
    v.round() as i64
}

fn text(out: &mut String, x: f64, y: f64, size: f64, fill: &str, s: &str, anchor: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{fill}\" text-anchor=\"{anchor}\">{}</text>",
        px(x),
        px(y),
        px(size),
        escape(s)
    );
}

fn rect(out: &mut String, [x, y, w, h]: [f64; 4], fill: &str, extra: &str) {
    let _ = writeln!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"{extra}/>",
        px(x),
        px(y),
        px(w.max(0.0)),
        px(h.max(0.0))
    );
}

/// The template variables bar: each variable's label and what it selects by default.
fn variables(out: &mut String, json: &Value) {
    let list = json
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut x = GAP;
    for v in list.iter().filter(|v| num(v, "hide") != Some(2.0)) {
        let name = str_of(v, "name").unwrap_or("");
        let label = str_of(v, "label").filter(|l| !l.is_empty()).unwrap_or(name);
        let value = match str_of(v, "type") {
            Some("datasource") => str_of(v, "query").unwrap_or("datasource").to_string(),
            _ if v.get("includeAll") == Some(&Value::Bool(true)) => "All".to_string(),
            _ => format!("${name}"),
        };
        let w = 16.0 + 7.0 * (label.chars().count() + value.chars().count()) as f64 + 24.0;
        rect(
            out,
            [x, 44.0, w, 32.0],
            PANEL,
            &format!(" stroke=\"{BORDER}\" rx=\"2\""),
        );
        text(out, x + 8.0, 64.0, 12.0, MUTED, label, "start");
        let vx = x + 16.0 + 7.0 * label.chars().count() as f64;
        text(
            out,
            vx,
            64.0,
            12.0,
            TEXT,
            &format!("{value} \u{25be}"),
            "start",
        );
        x += w + GAP;
    }
}

fn row(out: &mut String, item: &Placed) {
    let [x, y, w, _] = pixels(item.grid);
    let title = str_of(item.json, "title").unwrap_or("");
    let collapsed = item.json.get("collapsed") == Some(&Value::Bool(true));
    let hidden = item
        .json
        .get("panels")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let label = if collapsed {
        format!("\u{25b8} {title} ({hidden} panels)")
    } else {
        format!("\u{25be} {title}")
    };
    text(out, x, y + 20.0, 15.0, TEXT, &label, "start");
    let _ = writeln!(
        out,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{BORDER}\"/>",
        px(x),
        px(y + 28.0),
        px(x + w),
        px(y + 28.0)
    );
}

/// A threshold step: its colour and the value it starts at (none: the base).
fn steps(p: &Value) -> Vec<(String, Option<f64>)> {
    p.pointer("/fieldConfig/defaults/thresholds/steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            let color = color(str_of(s, "color").unwrap_or("green"));
            (color, s.get("value").and_then(Value::as_f64))
        })
        .collect()
}

/// Grafana's named colours as it draws them; a hex or rgb colour as written.
fn color(name: &str) -> String {
    let base = name
        .trim_start_matches("dark-")
        .trim_start_matches("semi-dark-")
        .trim_start_matches("light-")
        .trim_start_matches("super-light-");
    match base {
        "green" => "#73bf69",
        "yellow" => "#fade2a",
        "orange" => "#ff9830",
        "red" => "#f2495c",
        "blue" => "#5794f2",
        "purple" => "#b877d9",
        "text" => TEXT,
        "transparent" => "none",
        _ if name.starts_with('#') || name.starts_with("rgb") => name,
        _ => MUTED,
    }
    .to_string()
}

/// A value in a panel's unit, as an axis or a gauge labels it.
fn with_unit(v: f64, unit: &str) -> String {
    match unit {
        "percent" => format!("{}%", number(v)),
        "percentunit" => format!("{}%", number(v * 100.0)),
        "s" => format!("{} s", number(v)),
        "ms" => format!("{} ms", number(v)),
        "ops" | "reqps" => format!("{} /s", number(v)),
        "" | "short" | "none" => number(v),
        u => format!("{} {u}", number(v)),
    }
}

fn panel(out: &mut String, item: &Placed) {
    let p = item.json;
    let [x, y, w, h] = pixels(item.grid);
    rect(
        out,
        [x, y, w, h],
        PANEL,
        &format!(" stroke=\"{BORDER}\" rx=\"2\""),
    );
    let title = str_of(p, "title").unwrap_or("");
    let kind = str_of(p, "type").unwrap_or("panel");
    let unit = p
        .pointer("/fieldConfig/defaults/unit")
        .and_then(Value::as_str)
        .or_else(|| str_of(p, "format"))
        .unwrap_or("");
    text(out, x + 8.0, y + 20.0, 13.0, TEXT, title, "start");
    let mut badge = if unit.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} \u{b7} {unit}")
    };
    if let Some(var) = str_of(p, "repeat") {
        badge = format!("repeated per ${var} \u{b7} {badge}");
    }
    // The kind and unit beside the title when both fit, else on a line of their own.
    let fits =
        TEXT_W * (title.chars().count() as f64 * 1.2 + badge.chars().count() as f64) < w - 24.0;
    let top = if fits {
        text(out, x + w - 8.0, y + 20.0, 11.0, MUTED, &badge, "end");
        30.0
    } else {
        text(out, x + 8.0, y + 36.0, 11.0, MUTED, &badge, "start");
        44.0
    };
    let legend = legend_items(p);
    let legend_h = if legend.is_empty() { 0.0 } else { 22.0 };
    let body = [x + 8.0, y + top, w - 16.0, h - top - 8.0 - legend_h];
    match kind {
        "gauge" | "bargauge" => gauge(out, p, body, unit),
        "timeseries" | "graph" => series(out, p, body, unit),
        "heatmap" => heatmap(out, body),
        _ => text(
            out,
            body[0] + body[2] / 2.0,
            body[1] + body[3] / 2.0,
            12.0,
            MUTED,
            kind,
            "middle",
        ),
    }
    let mut lx = x + 8.0;
    for (i, name) in legend.iter().enumerate() {
        let ly = y + h - 12.0;
        let width = 28.0 + TEXT_W * name.chars().count() as f64;
        if lx + width > x + w {
            // Grafana scrolls a long legend; the preview says how many are not shown.
            let more = format!("+{} more", legend.len() - i);
            text(out, lx, ly - 2.0, 11.0, MUTED, &more, "start");
            break;
        }
        rect(
            out,
            [lx, ly - 8.0, 12.0, 4.0],
            PALETTE[i % PALETTE.len()],
            "",
        );
        text(out, lx + 16.0, ly - 2.0, 11.0, TEXT, name, "start");
        lx += width;
    }
}

/// The legend's entries: each target's legend format (its ref id without one), when the
/// panel shows a legend (time series show one unless told not to).
fn legend_items(p: &Value) -> Vec<String> {
    let kind = str_of(p, "type").unwrap_or("");
    let legend = p.pointer("/options/legend");
    let shown = match legend {
        Some(l) => {
            l.get("showLegend") != Some(&Value::Bool(false))
                && str_of(l, "displayMode") != Some("hidden")
                && l.get("show") != Some(&Value::Bool(false))
        }
        None => kind == "timeseries" || kind == "graph",
    };
    if !shown || !(kind == "timeseries" || kind == "graph") {
        return Vec::new();
    }
    p.get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            str_of(t, "legendFormat")
                .filter(|l| !l.is_empty())
                .or_else(|| str_of(t, "refId"))
                .unwrap_or("series")
                .to_string()
        })
        .collect()
}

/// A gauge: its arc from min to max in the colours of the threshold steps, each step's
/// value marked on it, as Grafana's "show threshold markers" draws them.
fn gauge(out: &mut String, p: &Value, [x, y, w, h]: [f64; 4], unit: &str) {
    let steps = steps(p);
    let d = p.pointer("/fieldConfig/defaults");
    let min = d.and_then(|d| num(d, "min")).unwrap_or(0.0);
    let top = steps.iter().filter_map(|s| s.1).fold(min, f64::max);
    let default_max = if unit == "percent" {
        100.0
    } else {
        (top * 1.25).max(min + 1.0)
    };
    let max = d.and_then(|d| num(d, "max")).unwrap_or(default_max);
    let r = (w / 2.0).min(h * 0.8).max(10.0) - 8.0;
    let (cx, cy) = (x + w / 2.0, y + h * 0.85);
    // Angle of a value: 180° at min, 0° at max (a half circle).
    let at = |v: f64| {
        let t = ((v - min) / (max - min)).clamp(0.0, 1.0);
        std::f64::consts::PI * (1.0 - t)
    };
    let point = |a: f64, r: f64| (cx + r * a.cos(), cy - r * a.sin());
    for (i, (c, from)) in steps.iter().enumerate() {
        let from = from.unwrap_or(min);
        let to = steps.get(i + 1).and_then(|s| s.1).unwrap_or(max);
        let ((x1, y1), (x2, y2)) = (point(at(from), r), point(at(to), r));
        let _ = writeln!(
            out,
            "<path d=\"M {} {} A {r} {r} 0 0 1 {} {}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"6\"/>",
            px(x1),
            px(y1),
            px(x2),
            px(y2),
            r = px(r),
        );
        if let Some(v) = steps[i].1 {
            let (tx, ty) = point(at(v), r + 14.0);
            text(out, tx, ty, 10.0, MUTED, &with_unit(v, unit), "middle");
        }
    }
    let (x1, y1) = point(std::f64::consts::PI, r - 14.0);
    let (x2, y2) = point(0.0, r - 14.0);
    let _ = writeln!(
        out,
        "<path d=\"M {} {} A {r} {r} 0 0 1 {} {}\" fill=\"none\" stroke=\"{BORDER}\" stroke-width=\"16\"/>",
        px(x1),
        px(y1),
        px(x2),
        px(y2),
        r = px(r - 14.0),
    );
}

/// A time series' plot area: its y axis from min to a max above the highest threshold,
/// and the thresholds as Grafana's `thresholdsStyle` says: dashed lines, areas, both, or
/// nothing (`off`, Grafana's default).
fn series(out: &mut String, p: &Value, [x, y, w, h]: [f64; 4], unit: &str) {
    let steps = steps(p);
    let d = p.pointer("/fieldConfig/defaults");
    let min = d.and_then(|d| num(d, "min")).unwrap_or(0.0);
    let top = steps.iter().filter_map(|s| s.1).fold(min, f64::max);
    let max =
        d.and_then(|d| num(d, "max"))
            .unwrap_or(if top > min { top * 1.5 } else { min + 1.0 });
    let plot = [x + 44.0, y + 4.0, w - 44.0, h - 8.0];
    let _ = writeln!(
        out,
        "<path d=\"M {x0} {y0} V {y1} H {x1}\" fill=\"none\" stroke=\"{BORDER}\"/>",
        x0 = px(plot[0]),
        y0 = px(plot[1]),
        y1 = px(plot[1] + plot[3]),
        x1 = px(plot[0] + plot[2]),
    );
    let y_of = |v: f64| plot[1] + plot[3] * (1.0 - ((v - min) / (max - min)).clamp(0.0, 1.0));
    text(
        out,
        plot[0] - 4.0,
        y_of(min) + 4.0,
        10.0,
        MUTED,
        &with_unit(min, unit),
        "end",
    );
    text(
        out,
        plot[0] - 4.0,
        y_of(max) + 8.0,
        10.0,
        MUTED,
        &with_unit(max, unit),
        "end",
    );
    let style = p
        .pointer("/fieldConfig/defaults/custom/thresholdsStyle/mode")
        .and_then(Value::as_str)
        .unwrap_or("off");
    let (lines, areas) = match style {
        "line" | "dashed" => (true, false),
        "area" => (false, true),
        "line+area" | "dashed+area" => (true, true),
        _ => (false, false),
    };
    for (i, (c, from)) in steps.iter().enumerate() {
        let to = steps.get(i + 1).and_then(|s| s.1).unwrap_or(max);
        if areas {
            let (top_y, bottom_y) = (y_of(to), y_of(from.unwrap_or(min)));
            rect(
                out,
                [plot[0], top_y, plot[2], bottom_y - top_y],
                c,
                " fill-opacity=\"0.15\"",
            );
        }
        if let (true, Some(v)) = (lines, from) {
            let _ = writeln!(
                out,
                "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{c}\" stroke-dasharray=\"6 4\"/>",
                px(plot[0]),
                px(plot[0] + plot[2]),
                y = px(y_of(*v)),
            );
            text(
                out,
                plot[0] - 4.0,
                y_of(*v) + 4.0,
                10.0,
                c,
                &with_unit(*v, unit),
                "end",
            );
        }
    }
}

/// The heatmap's cell opacities, printed once.
const OPACITY: [&str; 10] = [
    " fill-opacity=\"0.1\"",
    " fill-opacity=\"0.15\"",
    " fill-opacity=\"0.2\"",
    " fill-opacity=\"0.25\"",
    " fill-opacity=\"0.3\"",
    " fill-opacity=\"0.35\"",
    " fill-opacity=\"0.4\"",
    " fill-opacity=\"0.45\"",
    " fill-opacity=\"0.5\"",
    " fill-opacity=\"0.55\"",
];

/// A heatmap's body: a fixed pattern of cells (there is no data in a preview).
fn heatmap(out: &mut String, [x, y, w, h]: [f64; 4]) {
    let (cols, rows) = (16, 5);
    let (cw, ch) = (w / cols as f64, h / rows as f64);
    for c in 0..cols {
        for r in 0..rows {
            rect(
                out,
                [x + c as f64 * cw, y + r as f64 * ch, cw - 1.0, ch - 1.0],
                "#5794f2",
                OPACITY[(c * 7 + r * 5) % 10],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_sit_on_the_24_column_grid() {
        let json = serde_json::json!({
            "title": "T",
            "panels": [
                {"type": "row", "title": "R", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
                {"type": "gauge", "title": "G", "gridPos": {"x": 12, "y": 1, "w": 12, "h": 8},
                 "repeat": "instance",
                 "fieldConfig": {"defaults": {"unit": "percent", "min": 0, "max": 100,
                   "thresholds": {"steps": [{"color": "green", "value": null}, {"color": "red", "value": 90}]}}}}
            ],
            "templating": {"list": [{"type": "query", "name": "instance", "includeAll": true}]}
        });
        let svg = dashboard(&json);
        // Column 12 of 24 starts halfway across; grid row 1 is one row unit down.
        assert!(
            svg.contains("<rect x=\"608\" y=\"130\" width=\"592\" height=\"296\""),
            "{svg}"
        );
        assert!(svg.contains(">G</text>"), "{svg}");
        assert!(
            svg.contains("repeated per $instance \u{b7} gauge \u{b7} percent"),
            "{svg}"
        );
        assert!(
            svg.contains("stroke=\"#f2495c\""),
            "the red step is drawn: {svg}"
        );
        assert!(svg.contains(">90%</text>"), "{svg}");
        assert!(svg.contains(">instance</text>"), "the variables bar: {svg}");
        assert_eq!(svg, dashboard(&json), "deterministic");
    }

    #[test]
    fn time_series_thresholds_follow_their_style() {
        let panel = |mode: &str| {
            serde_json::json!({"panels": [{"type": "timeseries", "title": "S",
              "fieldConfig": {"defaults": {"unit": "s",
                "custom": {"thresholdsStyle": {"mode": mode}},
                "thresholds": {"steps": [{"color": "green", "value": null}, {"color": "red", "value": 5}]}}},
              "targets": [{"legendFormat": "p99 {{instance}}", "refId": "A"}]}]})
        };
        let off = dashboard(&panel("off"));
        assert!(!off.contains("stroke-dasharray"), "{off}");
        assert!(
            off.contains(">p99 {{instance}}</text>"),
            "the legend: {off}"
        );
        let line = dashboard(&panel("line"));
        assert!(
            line.contains("stroke=\"#f2495c\" stroke-dasharray"),
            "{line}"
        );
        assert!(line.contains(">5 s</text>"), "{line}");
        let area = dashboard(&panel("area"));
        assert!(area.contains("fill=\"#f2495c\" fill-opacity"), "{area}");
    }
}
