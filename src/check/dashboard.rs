//! Grafana dashboards under check, as JSON: the one poolwatch generates, or a hand-written
//! file. Panels are found at the top level and inside rows; a panel's diagnostics point at
//! its `"title"` in the file when there is one. Panel queries also go through the PromQL
//! checks, typed against the catalog like rules.

use serde_json::Value;
use serde_saphyr::Spanned;

use super::lint::{Located, NOT_PARSED, RuleUnit, UnitKind, parse_all};
use crate::diag::{Code, Diagnostic, Severity};
use crate::source::{FileId, Sources, Span};

/// A dashboard document and, for a file, where it was read from.
#[derive(Debug, Clone)]
pub struct DashboardDoc {
    pub json: Value,
    file: Option<(FileId, String)>,
    /// Where each panel of [`DashboardDoc::panels`] is written, in the same order.
    places: Vec<PanelPlace>,
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
    panels: Vec<Spanned<RawPanel>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct RawPanel {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    title: Option<Spanned<String>>,
    #[serde(default)]
    panels: Vec<Spanned<RawPanel>>,
    #[serde(default)]
    targets: Vec<RawTarget>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct RawTarget {
    #[serde(default)]
    expr: Option<Spanned<String>>,
}

/// One panel of a dashboard.
#[derive(Debug, Clone, Copy)]
pub struct PanelRef<'a> {
    pub json: &'a Value,
    pub title: &'a str,
    pub id: Option<i64>,
    /// Position in [`DashboardDoc::panels`].
    pub index: usize,
}

impl<'a> PanelRef<'a> {
    /// The panel's targets (queries), as (refId, expr, target).
    pub fn targets(&self) -> Vec<(String, &'a str, &'a Value)> {
        self.json
            .get("targets")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| {
                        let expr = t.get("expr").and_then(Value::as_str)?;
                        let r = t.get("refId").and_then(Value::as_str).unwrap_or("?");
                        Some((r.to_string(), expr, t))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The panel's unit (`fieldConfig.defaults.unit`), empty when it has none.
    pub fn unit(&self) -> &'a str {
        self.json
            .pointer("/fieldConfig/defaults/unit")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn describe(&self) -> String {
        match self.id {
            Some(id) => format!("panel \"{}\" (id {id})", self.title),
            None => format!("panel \"{}\"", self.title),
        }
    }
}

impl DashboardDoc {
    /// A generated dashboard, or a slice of its panels in the dashboard's shell (no
    /// source file).
    pub fn generated(json: Value) -> Self {
        Self {
            json,
            file: None,
            places: Vec::new(),
        }
    }

    /// A dashboard file already added to `sources`.
    pub fn from_file(sources: &Sources, file: FileId) -> Result<Self, Diagnostic> {
        let text = sources.get(file).map_or("", |f| f.text.as_str());
        let json: Value = serde_json::from_str(text).map_err(|e| {
            let at = sources.offset_of(file, e.line(), e.column().max(1));
            Diagnostic::error(crate::spec::YAML, format!("not a JSON dashboard: {e}"))
                .at(at.map(|o| Span::new(file, o..o + 1)))
        })?;
        if !json.is_object() {
            return Err(
                Diagnostic::error(crate::spec::YAML, "a dashboard is a JSON object")
                    .at(Some(Span::new(file, 0..1))),
            );
        }
        Ok(Self {
            json,
            file: Some((file, text.to_string())),
            places: places(sources, file, text),
        })
    }

    /// Every panel, rows' nested panels included (rows themselves excluded).
    pub fn panels(&self) -> Vec<PanelRef<'_>> {
        let mut out: Vec<&Value> = Vec::new();
        if let Some(ps) = self.json.get("panels").and_then(Value::as_array) {
            for p in ps {
                if p.get("type").and_then(Value::as_str) == Some("row") {
                    if let Some(inner) = p.get("panels").and_then(Value::as_array) {
                        out.extend(inner.iter());
                    }
                } else {
                    out.push(p);
                }
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(index, p)| PanelRef {
                json: p,
                title: p.get("title").and_then(Value::as_str).unwrap_or(""),
                id: p.get("id").and_then(Value::as_i64),
                index,
            })
            .collect()
    }

    /// Where `needle` is written in the panel, or the panel's title, in the file.
    pub fn locate(&self, panel: &PanelRef, needle: Option<&str>) -> Option<Span> {
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

    /// Every panel target as a query unit, for the PromQL checks. The expression keeps its
    /// Grafana variables (so places map into the file); it is parsed with them replaced.
    pub fn queries(&self) -> Vec<RuleUnit<'_>> {
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
                    group: title.into(),
                    kind: UnitKind::Query,
                    name: Located::new(ref_id.clone(), span),
                    expr: expr_loc,
                    ast: Err(NOT_PARSED.to_string()),
                    for_: None,
                    keep_firing_for: None,
                    labels: Default::default(),
                    annotations: Default::default(),
                    object: format!("{}, target {ref_id}", p.describe()),
                    ignores: Vec::new(),
                    panel: Some(p.index),
                });
            }
        }
        parse_all(&mut out);
        out
    }

    /// A diagnostic about a panel.
    pub fn diag(
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
    for p in &raw.panels {
        if p.value.kind.as_deref() == Some("row") {
            flat.extend(p.value.panels.iter());
        } else {
            flat.push(p);
        }
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
                    .filter_map(|t| {
                        let e = t.expr.as_ref()?;
                        Some((e.value.clone(), crate::spec::span(sources, file, e)?))
                    })
                    .collect(),
            }
        })
        .collect()
}
