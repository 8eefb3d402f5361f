//! Grafana dashboards under check, as JSON: the one poolwatch generates, or a hand-written
//! file. Panels are found at the top level and inside rows; a panel's diagnostics point at
//! its `"title"` in the file when there is one. Panel queries also go through the PromQL
//! checks, typed against the catalog like rules.

use serde_json::Value;

use super::lint::{Located, RuleUnit, UnitKind, parse_expr};
use super::promql_syntax::substitute_grafana_vars;
use crate::diag::{Code, Diagnostic, Severity};
use crate::source::{FileId, Sources, Span};

/// A dashboard document and, for a file, where it was read from.
#[derive(Debug, Clone)]
pub struct DashboardDoc {
    pub json: Value,
    file: Option<(FileId, String)>,
}

/// One panel of a dashboard.
#[derive(Debug, Clone, Copy)]
pub struct PanelRef<'a> {
    pub json: &'a Value,
    pub title: &'a str,
    pub id: Option<i64>,
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

    pub fn describe(&self) -> String {
        match self.id {
            Some(id) => format!("panel \"{}\" (id {id})", self.title),
            None => format!("panel \"{}\"", self.title),
        }
    }
}

impl DashboardDoc {
    /// The generated dashboard (no source file).
    pub fn generated(d: &crate::render::grafana::Dashboard) -> Self {
        Self {
            json: serde_json::to_value(d).unwrap_or(Value::Null),
            file: None,
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
            .map(|p| PanelRef {
                json: p,
                title: p.get("title").and_then(Value::as_str).unwrap_or(""),
                id: p.get("id").and_then(Value::as_i64),
            })
            .collect()
    }

    /// Where `needle` is written in the file, searching from the panel's title onwards.
    pub fn locate(&self, panel: &PanelRef, needle: Option<&str>) -> Option<Span> {
        let (file, text) = self.file.as_ref()?;
        let title = serde_json::to_string(panel.title).ok()?;
        let at = text
            .find(&format!("\"title\": {title}"))
            .or_else(|| text.find(&title))?;
        if let Some(n) = needle
            && let Some(i) = text[at..].find(n)
        {
            return Some(Span::new(*file, at + i..at + i + n.len()));
        }
        Some(Span::new(*file, at..at + title.len() + 9))
    }

    /// Every panel target as a query unit, for the PromQL checks. The expression keeps its
    /// Grafana variables (so places map into the file); it is parsed with them replaced.
    pub fn queries(&self) -> Vec<RuleUnit> {
        let title = self.json.get("title").and_then(Value::as_str).unwrap_or("");
        let mut out = Vec::new();
        for p in self.panels() {
            for (ref_id, expr, _) in p.targets() {
                let escaped = serde_json::to_string(expr).unwrap_or_default();
                let inner = escaped
                    .get(1..escaped.len().saturating_sub(1))
                    .unwrap_or("");
                let span = self.locate(&p, Some(inner)).filter(|_| self.file.is_some());
                let text = self.file.as_ref().map_or("", |(_, t)| t.as_str());
                let expr_loc = Located::from_yaml(expr, span.clone(), text);
                out.push(RuleUnit {
                    group: title.to_string(),
                    kind: UnitKind::Query,
                    name: Located::new(ref_id.clone(), span),
                    expr: expr_loc,
                    ast: parse_expr(&substitute_grafana_vars(expr)),
                    for_: None,
                    keep_firing_for: None,
                    labels: Default::default(),
                    annotations: Default::default(),
                    object: format!("{}, target {ref_id}", p.describe()),
                    ignores: Vec::new(),
                });
            }
        }
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
