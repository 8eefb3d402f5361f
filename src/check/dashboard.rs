//! Grafana dashboards under check, as JSON: the one poolwatch generates, or a hand-written
//! file. Panels are found at the top level, inside rows, and in old dashboards' `rows[]`;
//! a panel's diagnostics point at its `"title"` in the file when there is one. Panel
//! queries also go through the PromQL checks, typed like rules; queries of other data
//! sources (Loki, Elasticsearch, ...) are skipped and counted.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_saphyr::Spanned;

use super::lint::{Located, RuleUnit, UnitKind, parse_unit};
use crate::diag::{Code, Diagnostic, Severity};
use crate::source::{FileId, Sources, Span};

/// A dashboard document and, for a file, where it was read from.
#[derive(Debug, Clone)]
pub(crate) struct DashboardDoc {
    pub(crate) json: Value,
    file: Option<(FileId, String)>,
    /// Where each panel of [`DashboardDoc::panels`] is written, in the same order.
    places: Vec<PanelPlace>,
    /// Data source template variables: name → plugin (`prometheus`, `loki`, ...).
    ds_vars: BTreeMap<String, String>,
}

/// Where a panel is written: its byte range (up to the next panel) and its queries.
#[derive(Debug, Clone, Default)]
struct PanelPlace {
    range: std::ops::Range<usize>,
    title: Option<Span>,
    exprs: Vec<(String, Span)>,
}

/// The few fields whose places we need, read from the JSON text as YAML (JSON is YAML's
/// flow style), which keeps every value's place.
#[derive(Debug, Default, serde::Deserialize)]
struct RawDash {
    #[serde(default)]
    panels: Option<Vec<Spanned<RawPanel>>>,
    /// Dashboards before schema version 16 keep their panels in `rows[].panels`.
    #[serde(default)]
    rows: Option<Vec<RawRow>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct RawRow {
    #[serde(default)]
    panels: Option<Vec<Spanned<RawPanel>>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct RawPanel {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    title: Option<Spanned<String>>,
    #[serde(default)]
    panels: Option<Vec<Spanned<RawPanel>>>,
    #[serde(default)]
    targets: Option<Vec<RawTarget>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct RawTarget {
    #[serde(default)]
    expr: Option<Spanned<String>>,
}

/// One panel of a dashboard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PanelRef<'a> {
    pub(crate) json: &'a Value,
    pub(crate) title: &'a str,
    pub(crate) id: Option<i64>,
    /// Position in [`DashboardDoc::panels`].
    pub(crate) index: usize,
    ds_vars: &'a BTreeMap<String, String>,
}

/// The data source plugin a `datasource` field names, when it says: `{"type": ...}`, a
/// variable of type datasource, or a name that gives it away.
fn plugin_of<'a>(ds: &'a Value, vars: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let var = |s: &str| {
        let name = s
            .trim_start_matches('$')
            .trim_start_matches('{')
            .trim_end_matches('}');
        let name = name.split(':').next().unwrap_or(name);
        vars.get(name).map(String::as_str)
    };
    match ds {
        Value::String(s) if s.starts_with('$') => var(s),
        Value::String(s) => {
            let l = s.to_ascii_lowercase();
            [
                "loki",
                "elasticsearch",
                "influx",
                "tempo",
                "cloudwatch",
                "mysql",
                "postgres",
            ]
            .into_iter()
            .find(|p| l.contains(p))
        }
        Value::Object(o) => {
            let uid = o.get("uid").and_then(Value::as_str).unwrap_or("");
            match o.get("type").and_then(Value::as_str) {
                Some("datasource") | None if uid.starts_with('$') => var(uid),
                Some("datasource") | None => None,
                Some(t) => Some(t),
            }
        }
        _ => None,
    }
}

/// True for a LogQL stream query (`{app="x"} |= "error"`), whatever its data source says.
fn looks_like_logql(expr: &str) -> bool {
    let t = expr.trim_start();
    let t = t
        .strip_prefix("sum")
        .or_else(|| t.strip_prefix("count_over_time"))
        .unwrap_or(t);
    [
        "|=",
        "|~",
        "!~ \"",
        "| json",
        "| logfmt",
        "| line_format",
        "| pattern",
        "| unwrap",
    ]
    .iter()
    .any(|p| t.contains(p))
        || t.starts_with('{') && t.contains("} |")
}

impl<'a> PanelRef<'a> {
    /// The panel's PromQL targets, as (refId, expr, target); targets of other data
    /// sources (by the target's or the panel's `datasource`) are left out.
    pub(crate) fn targets(&self) -> Vec<(&'a str, &'a str, &'a Value)> {
        self.all_targets()
            .into_iter()
            .filter(|(_, expr, t)| self.is_promql(expr, t))
            .collect()
    }

    /// How many targets with an `expr` are not PromQL (Loki and the like).
    pub(crate) fn skipped_targets(&self) -> usize {
        self.all_targets()
            .into_iter()
            .filter(|(_, expr, t)| !self.is_promql(expr, t))
            .count()
    }

    fn all_targets(&self) -> Vec<(&'a str, &'a str, &'a Value)> {
        self.json
            .get("targets")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| {
                        // An empty query is never run; a hidden one still is.
                        let expr = t
                            .get("expr")
                            .and_then(Value::as_str)
                            .filter(|e| !e.trim().is_empty())?;
                        let r = t.get("refId").and_then(Value::as_str).unwrap_or("?");
                        Some((r, expr, t))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn is_promql(&self, expr: &str, target: &Value) -> bool {
        let plugin = target
            .get("datasource")
            .and_then(|d| plugin_of(d, self.ds_vars))
            .or_else(|| {
                self.json
                    .get("datasource")
                    .and_then(|d| plugin_of(d, self.ds_vars))
            });
        match plugin {
            Some("prometheus") => true,
            Some(_) => false,
            None => !looks_like_logql(expr),
        }
    }

    /// The panel's unit: `fieldConfig.defaults.unit`, or where older panels keep it
    /// (the first y axis's `format`, a singlestat's `format`, a table's `styles[].unit`),
    /// or a field override's unit. Empty when it has none.
    pub(crate) fn unit(&self) -> &'a str {
        let s = |v: Option<&'a Value>| v.and_then(Value::as_str).filter(|u| !u.is_empty());
        s(self.json.pointer("/fieldConfig/defaults/unit"))
            .or_else(|| s(self.json.pointer("/yaxes/0/format")))
            .or_else(|| s(self.json.get("format")))
            .or_else(|| {
                self.json
                    .get("styles")
                    .and_then(Value::as_array)
                    .and_then(|st| st.iter().find_map(|x| s(x.get("unit"))))
            })
            .or_else(|| {
                self.json
                    .pointer("/fieldConfig/overrides")
                    .and_then(Value::as_array)?
                    .iter()
                    .filter_map(|o| o.get("properties").and_then(Value::as_array))
                    .flatten()
                    .find(|p| p.get("id").and_then(Value::as_str) == Some("unit"))
                    .and_then(|p| s(p.get("value")))
            })
            .unwrap_or("")
    }

    pub(crate) fn describe(&self) -> String {
        match self.id {
            Some(id) => format!("panel \"{}\" (id {id})", self.title),
            None => format!("panel \"{}\"", self.title),
        }
    }
}

impl DashboardDoc {
    /// A generated dashboard, or a slice of its panels in the dashboard's shell (no
    /// source file).
    pub(crate) fn generated(json: Value) -> Self {
        let ds_vars = datasource_variables(&json);
        Self {
            json,
            file: None,
            places: Vec::new(),
            ds_vars,
        }
    }

    /// A dashboard file already added to `sources`.
    pub(crate) fn from_file(sources: &Sources, file: FileId) -> Result<Self, Diagnostic> {
        let text = sources.get(file).map_or("", |f| f.text.as_str());
        let json: Value = serde_json::from_str(text).map_err(|e| {
            let at = sources.offset_of(file, e.line(), e.column().max(1));
            // serde_json's text names its own internals ("at line 1 column 2"): say what
            // is wrong in the file's terms; the caret gives the place.
            let what = match e.classify() {
                serde_json::error::Category::Eof => "the file ends before the JSON does",
                serde_json::error::Category::Syntax => "this is not valid JSON",
                serde_json::error::Category::Data => "a value has the wrong type",
                serde_json::error::Category::Io => "the file could not be read",
            };
            Diagnostic::error(crate::spec::YAML, format!("not a JSON dashboard: {what}"))
                .at(at.map(|o| Span::new(file, o..o + 1)))
                .label("here")
        })?;
        if !json.is_object() {
            return Err(
                Diagnostic::error(crate::spec::YAML, "a dashboard is a JSON object")
                    .at(Some(Span::new(file, 0..1))),
            );
        }
        Ok(Self {
            ds_vars: datasource_variables(&json),
            json,
            file: Some((file, text.to_string())),
            places: places(sources, file, text),
        })
    }

    /// How many panel queries are not PromQL and were not checked.
    pub(crate) fn skipped_queries(&self) -> usize {
        self.panels().iter().map(PanelRef::skipped_targets).sum()
    }

    /// Every panel, rows' nested panels and old dashboards' `rows[].panels` included (rows
    /// themselves excluded), in the order [`places`] finds them.
    pub(crate) fn panels(&self) -> Vec<PanelRef<'_>> {
        let mut out: Vec<&Value> = Vec::new();
        fn arr<'v>(v: &'v Value, k: &str) -> Vec<&'v Value> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        }
        for p in arr(&self.json, "panels") {
            if p.get("type").and_then(Value::as_str) == Some("row") {
                out.extend(arr(p, "panels"));
            } else {
                out.push(p);
            }
        }
        for row in arr(&self.json, "rows") {
            out.extend(arr(row, "panels"));
        }
        out.into_iter()
            .enumerate()
            .map(|(index, p)| PanelRef {
                json: p,
                title: p.get("title").and_then(Value::as_str).unwrap_or(""),
                id: p.get("id").and_then(Value::as_i64),
                index,
                ds_vars: &self.ds_vars,
            })
            .collect()
    }

    /// Where `needle` is written in the panel, or the panel's title, in the file.
    pub(crate) fn locate(&self, panel: &PanelRef, needle: Option<&str>) -> Option<Span> {
        let (file, text) = self.file.as_ref()?;
        let place = self.places.get(panel.index)?;
        if let Some(n) = needle
            && let Some(i) = text.get(place.range.clone()).and_then(|t| t.find(n))
        {
            let start = place.range.start + i;
            return Some(Span::new(*file, start..start + n.len()));
        }
        place
            .title
            .clone()
            .or_else(|| Some(Span::new(*file, place.range.start..place.range.start + 1)))
    }

    /// Where `needle` is written inside the panel's query `expr` (the first such query), or
    /// where [`DashboardDoc::locate`] would point: a finding about one target is shown on
    /// that target's line, not on the first line of the panel that holds the same text.
    pub(crate) fn locate_in_query(
        &self,
        panel: &PanelRef,
        expr: &str,
        needle: &str,
    ) -> Option<Span> {
        let found = (|| {
            let (file, text) = self.file.as_ref()?;
            let place = self.places.get(panel.index)?;
            let (_, at) = place.exprs.iter().find(|(e, _)| e == expr)?;
            let from = at.range.start;
            let to = place.range.end.max(from);
            let i = text.get(from..to)?.find(needle)?;
            Some(Span::new(*file, from + i..from + i + needle.len()))
        })();
        found.or_else(|| self.locate(panel, Some(needle)))
    }

    /// Where `needle` is first written anywhere in the file (a templating entry's text).
    pub(crate) fn locate_anywhere(&self, needle: &str) -> Option<Span> {
        let (file, text) = self.file.as_ref()?;
        let i = text.find(needle)?;
        Some(Span::new(*file, i..i + needle.len()))
    }

    /// Where the variable `name` is defined: its `"name": "..."` in `templating`.
    pub(crate) fn locate_variable(&self, name: &str) -> Option<Span> {
        let (file, text) = self.file.as_ref()?;
        let from = text.find("\"templating\"")?;
        let quoted = serde_json::to_string(name).ok()?;
        let mut at = from;
        while let Some(i) = text[at..].find("\"name\"") {
            let key = at + i;
            let rest = text[key + 6..].trim_start();
            if let Some(value) = rest.strip_prefix(':').map(str::trim_start)
                && value.starts_with(&quoted)
            {
                let start = text.len() - value.len();
                return Some(Span::new(*file, start..start + quoted.len()));
            }
            at = key + 6;
        }
        None
    }

    /// The data source plugin a `datasource` field names (`prometheus`, `loki`, ...),
    /// through the dashboard's data source variables, when it says.
    pub(crate) fn plugin<'v>(&'v self, ds: &'v Value) -> Option<&'v str> {
        plugin_of(ds, &self.ds_vars)
    }

    /// True for a dashboard read from a file (hand-written), false for a generated one.
    pub(crate) fn is_file(&self) -> bool {
        self.file.is_some()
    }

    /// The dashboard's template variables (`templating.list[]`).
    pub(crate) fn variables(&self) -> &[Value] {
        self.json
            .pointer("/templating/list")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// Every panel target as a query unit, for the PromQL checks. The expression keeps its
    /// Grafana variables (so places map into the file); it is parsed with them replaced.
    pub(crate) fn queries(&self) -> Vec<RuleUnit> {
        let title = self.json.get("title").and_then(Value::as_str).unwrap_or("");
        let mut out = Vec::new();
        for p in self.panels() {
            for (ref_id, expr, _) in p.targets() {
                let span = self
                    .places
                    .get(p.index)
                    .and_then(|pl| pl.exprs.iter().find(|(e, _)| e == expr))
                    .map(|(_, s)| s.clone());
                let text = self.file.as_ref().map_or("", |(_, t)| t.as_str());
                let expr_loc = Located::from_yaml(expr, span.clone(), text);
                out.push(RuleUnit {
                    group: title.to_string(),
                    kind: UnitKind::Query,
                    name: Located::new(ref_id, span),
                    ast: parse_unit(UnitKind::Query, expr),
                    expr: expr_loc,
                    for_: None,
                    keep_firing_for: None,
                    labels: Default::default(),
                    annotations: Default::default(),
                    object: format!("{}, target {ref_id}", p.describe()),
                    ignores: Vec::new(),
                    panel: Some(p.index),
                    ty: Default::default(),
                    scans: Default::default(),
                });
            }
        }
        out
    }

    /// A diagnostic about a panel.
    pub(crate) fn diag(
        &self,
        code: Code,
        severity: Severity,
        panel: &PanelRef,
        message: String,
        needle: Option<&str>,
    ) -> Diagnostic {
        Diagnostic::new(code, severity, message)
            .at(self.locate(panel, needle))
            .object(panel.describe())
    }
}

/// The places of a dashboard file's panels, in [`DashboardDoc::panels`] order. Empty when
/// the text cannot be read that way (the checks then point at nothing finer than the file).
fn places(sources: &Sources, file: FileId, text: &str) -> Vec<PanelPlace> {
    let Ok(raw) = serde_saphyr::from_str_with_options::<RawDash>(text, crate::spec::yaml_options())
    else {
        return Vec::new();
    };
    let mut flat: Vec<&Spanned<RawPanel>> = Vec::new();
    for p in raw.panels.iter().flatten() {
        if p.value.kind.as_deref() == Some("row") {
            flat.extend(p.value.panels.iter().flatten());
        } else {
            flat.push(p);
        }
    }
    for row in raw.rows.iter().flatten() {
        flat.extend(row.panels.iter().flatten());
    }
    let starts: Vec<usize> = flat
        .iter()
        .map(|p| crate::spec::span(sources, file, p).map_or(0, |s| s.range.start))
        .collect();
    flat.iter()
        .enumerate()
        .map(|(i, p)| {
            let start = starts[i];
            // A panel runs to the next panel that starts after it (or the end).
            let end = starts
                .iter()
                .skip(i + 1)
                .copied()
                .find(|&s| s > start)
                .unwrap_or(text.len());
            PanelPlace {
                range: start..end,
                title: p
                    .value
                    .title
                    .as_ref()
                    .and_then(|t| crate::spec::span(sources, file, t)),
                exprs: p
                    .value
                    .targets
                    .iter()
                    .flatten()
                    .filter_map(|t| {
                        let e = t.expr.as_ref()?;
                        Some((e.value.clone(), crate::spec::span(sources, file, e)?))
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A dashboard's data source variables (`templating.list[]` of type `datasource`): name →
/// the plugin it selects (its `query`, e.g. `prometheus` or `loki`).
fn datasource_variables(json: &Value) -> BTreeMap<String, String> {
    json.pointer("/templating/list")
        .and_then(Value::as_array)
        .map(|vars| {
            vars.iter()
                .filter(|v| v.get("type").and_then(Value::as_str) == Some("datasource"))
                .filter_map(|v| {
                    let name = v.get("name").and_then(Value::as_str)?;
                    let plugin = v.get("query").and_then(Value::as_str)?;
                    Some((name.to_string(), plugin.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}
