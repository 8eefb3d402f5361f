//! Hand-written Prometheus rule files, read with every value's place kept so each finding
//! points at file:line:col; and the rules poolwatch generates, located at the spec entries
//! they come from. Both become [`RuleUnit`]s for the same checks.
//!
//! Suppressions in rule files are YAML comments on the lines right above a rule:
//! `# poolwatch: ignore PW205 the dashboard shows percent, this text is for Slack`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::invalid_suppression::{self, MARKER, parse_directive};
use super::lint::{GroupDurations, Ignore, Located, RuleUnit, UnitKind, parse_unit};
use super::registry;
use crate::diag::Diagnostic;
use crate::model::Suppression;
use crate::render::prometheus::RuleFile;
use crate::source::{FileId, Sources};
use crate::spec::{self, S};

/// One YAML document of a rule file: a Prometheus rule file (`groups:`), a Mimir/Cortex
/// ruler namespace file (`namespace:` and `groups:`), or a prometheus-operator
/// `PrometheusRule` manifest (`spec.groups`). Every part may be empty or `null`, as
/// Prometheus allows.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Option<Vec<RawGroup>>,
    /// A prometheus-operator `PrometheusRule` manifest keeps its groups under `spec`.
    #[serde(default)]
    spec: Option<RawCrdSpec>,
    #[serde(default, rename = "apiVersion")]
    _api_version: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "kind")]
    _kind: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "metadata")]
    _metadata: Option<serde::de::IgnoredAny>,
    /// A Mimir/Cortex namespace file names its namespace beside the groups.
    #[serde(default, rename = "namespace")]
    _namespace: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCrdSpec {
    #[serde(default)]
    groups: Option<Vec<RawGroup>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: S<String>,
    #[serde(default)]
    interval: Option<S<String>>,
    #[serde(default)]
    query_offset: Option<S<String>>,
    #[serde(default)]
    #[serde(rename = "limit")]
    _limit: Option<S<u64>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, S<String>>>,
    #[serde(default)]
    rules: Option<Vec<RawRule>>,
    /// Mimir/Cortex ruler and Thanos group settings: not Prometheus's, read and ignored.
    #[serde(default, rename = "source_tenants")]
    _source_tenants: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "evaluation_delay")]
    _evaluation_delay: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "align_evaluation_time_on_interval")]
    _align: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "partial_response_strategy")]
    _partial_response: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    alert: Option<S<String>>,
    #[serde(default)]
    record: Option<S<String>>,
    expr: S<String>,
    #[serde(default, rename = "for")]
    for_: Option<S<String>>,
    #[serde(default)]
    keep_firing_for: Option<S<String>>,
    #[serde(default)]
    labels: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    annotations: BTreeMap<String, Spanned<String>>,
}

/// A parsed rule file: its rules and its groups' own durations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parsed {
    pub(crate) rules: Vec<RuleUnit>,
    pub(crate) groups: Vec<GroupDurations>,
    /// Findings about the file itself (malformed suppressions).
    pub(crate) diags: Vec<Diagnostic>,
}

/// Reads a rule file already added to `sources`: every YAML document in it (empty and
/// `null` documents, and documents without groups, hold no rules). A file that is not a
/// rule file is an error (unusable input).
pub(crate) fn parse(sources: &Sources, file: FileId) -> Result<Parsed, Diagnostic> {
    let text = sources.get(file).map_or("", |f| f.text.as_str());
    let docs: Vec<RawFile> =
        serde_saphyr::from_multiple_with_options::<RawFile>(text, spec::yaml_options())
            .map_err(|e| spec::yaml_diagnostic(&e, sources, file))?;
    // The values are moved out of what was read, not copied.
    let loc = |v: Spanned<String>| {
        let span = spec::span(sources, file, &v);
        Located::from_yaml(v.value, span, text)
    };
    let mut out = Parsed::default();
    let groups = docs.into_iter().flat_map(|raw| {
        raw.groups.into_iter().flatten().chain(
            raw.spec
                .into_iter()
                .flat_map(|s| s.groups.into_iter().flatten()),
        )
    });
    for g in groups {
        let mut durations = Vec::new();
        if let Some(i) = g.interval {
            durations.push(("interval", loc(i)));
        }
        if let Some(q) = g.query_offset {
            durations.push(("query_offset", loc(q)));
        }
        out.groups.push(GroupDurations {
            object: format!("group {}", g.name.value),
            durations,
        });
        let group_labels = g.labels.unwrap_or_default();
        for r in g.rules.into_iter().flatten() {
            let (kind, name) = match (r.alert, r.record) {
                (Some(a), _) => (UnitKind::Alert, a),
                (None, Some(rec)) => (UnitKind::Record, rec),
                (None, None) => {
                    return Err(Diagnostic::error(
                        spec::YAML,
                        "a rule needs `alert:` or `record:`",
                    )
                    .at(spec::span(sources, file, &r.expr))
                    .label("this rule has neither"));
                }
            };
            let name = loc(name);
            let word = if kind == UnitKind::Alert {
                "alert"
            } else {
                "recording rule"
            };
            let object = format!("{word} {} in group {}", name.text, g.name.value);
            let expr = loc(r.expr);
            // The rule starts at its first key, whichever comes first.
            let start = [&name.span, &expr.span]
                .into_iter()
                .flatten()
                .map(|s| s.range.start)
                .min();
            let ignores = match start {
                Some(at) => comment_ignores(text, file, at, &object, &mut out.diags),
                None => Vec::new(),
            };
            out.rules.push(RuleUnit {
                group: g.name.value.clone(),
                kind,
                ast: parse_unit(kind, &expr.text),
                name,
                expr,
                for_: r.for_.map(loc),
                keep_firing_for: r.keep_firing_for.map(loc),
                // A group's labels apply to each of its rules; the rule's own win.
                labels: group_labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .chain(r.labels)
                    .map(|(k, v)| (k, loc(v)))
                    .collect(),
                annotations: r
                    .annotations
                    .into_iter()
                    .map(|(k, v)| (k, loc(v)))
                    .collect(),
                object,
                ignores,
                panel: None,
                ty: Default::default(),
                scans: Default::default(),
            });
        }
    }
    Ok(out)
}

/// Whether a suppression's code names a registered check.
fn is_check(code: &str) -> bool {
    registry::find(code).is_some()
}

/// Suppressions in the comment lines right above the line holding byte `at`. Walks back
/// from `at` only, so reading every rule's suppressions stays linear in the file size.
fn comment_ignores(
    text: &str,
    file: FileId,
    at: usize,
    object: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Ignore> {
    let at = crate::source::floor_char_boundary(text, at.min(text.len()));
    let mut out = Vec::new();
    let mut line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    while line_start > 0 {
        let prev_end = line_start - 1;
        let prev_start = text[..prev_end].rfind('\n').map_or(0, |i| i + 1);
        line_start = prev_start;
        let l = text[prev_start..prev_end].trim_end_matches('\r');
        let trimmed = l.trim_start();
        if !trimmed.starts_with('#') {
            break;
        }
        let from = prev_start + (l.len() - trimmed.len());
        let span = Some(crate::source::Span::new(file, from..prev_start + l.len()));
        if let Some(rest) = trimmed.trim_start_matches('#').trim().strip_prefix(MARKER) {
            match parse_directive(rest, is_check) {
                Ok((code, reason)) => out.push(Ignore { code, reason, span }),
                Err(msg) => diags.push(
                    Diagnostic::warning(invalid_suppression::CODE, msg)
                        .at(span)
                        .object(object.to_string())
                        .help(
                            "write `# poolwatch: ignore PW205 why this rule may break the check`",
                        ),
                ),
            }
        }
    }
    out.reverse();
    out
}

/// The rules poolwatch generates, as rule units located at their spec entries, with the
/// spec's suppressions attached; malformed suppressions are reported.
pub(crate) fn from_generated(
    file: &RuleFile,
    suppressions: &[Suppression],
) -> (Vec<RuleUnit>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut ignores: Vec<(String, Ignore)> = Vec::new();
    for s in suppressions {
        let bad = |msg: String| {
            Diagnostic::warning(invalid_suppression::CODE, msg)
                .at(s.span.clone())
                .object(format!("lint.ignore of rule {}", s.rule))
        };
        if !file
            .groups
            .iter()
            .flat_map(|g| &g.rules)
            .any(|r| r.name() == s.rule)
        {
            diags.push(bad(format!(
                "`{}` is not a rule this spec generates; the suppression is ignored",
                s.rule
            )));
            continue;
        }
        match parse_directive(&format!("{} {}", s.code, s.reason), is_check) {
            Ok((code, reason)) => ignores.push((
                s.rule.clone(),
                Ignore {
                    code,
                    reason,
                    span: s.span.clone(),
                },
            )),
            Err(msg) => diags.push(bad(msg)),
        }
    }
    let mut out = Vec::new();
    for g in &file.groups {
        for r in &g.rules {
            let span = r.origin.span.clone();
            let at = |t: &str| Located::new(t, span.clone());
            let object = format!("{} in group {}", r.describe(), g.name);
            let mut annotations = BTreeMap::new();
            if let Some(a) = &r.annotations {
                annotations.insert("summary".to_string(), at(&a.summary));
                annotations.insert("description".to_string(), at(&a.description));
                annotations.insert("runbook_url".to_string(), at(&a.runbook_url));
            }
            let kind = if r.alert.is_some() {
                UnitKind::Alert
            } else {
                UnitKind::Record
            };
            out.push(RuleUnit {
                group: g.name.clone(),
                kind,
                name: at(r.name()),
                expr: at(&r.expr),
                ast: parse_unit(kind, &r.expr),
                for_: r.for_.as_deref().map(at),
                keep_firing_for: None,
                labels: r.labels.iter().map(|(k, v)| (k.clone(), at(v))).collect(),
                annotations,
                object,
                ignores: ignores
                    .iter()
                    .filter(|(rule, _)| rule == r.name())
                    .map(|(_, i)| i.clone())
                    .collect(),
                panel: None,
                ty: Default::default(),
                scans: Default::default(),
            });
        }
    }
    (out, diags)
}
