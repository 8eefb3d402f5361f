//! The rules under check, whatever their origin (generated from the spec or read from a
//! hand-written rule file), each with its text located in a source file, its expression
//! parsed once, and the suppressions that apply to it.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use promql_parser::parser::Expr;

use super::go_template::{Scanned, scan};
use super::knowledge::Knowledge;
use super::typing::{Env, LabelSet, Ty};
use crate::diag::{Code, Diagnostic, Severity};
use crate::source::Span;

/// A piece of text from a source file, with a map from offsets in the text to offsets in
/// the file, so a diagnostic can point inside it (a column in a PromQL expression, an
/// action in an annotation template).
#[derive(Debug, Clone, Default)]
pub(crate) struct Located {
    pub(crate) text: String,
    /// Where the whole value is written (for a generated rule: the spec entry it comes from).
    pub(crate) span: Option<Span>,
    /// Where each byte of `text` is in the file, when the text is written verbatim enough
    /// to map.
    map: Option<Map>,
}

/// Offsets in a value's text to offsets in its file.
#[derive(Debug, Clone)]
enum Map {
    /// The value is written as is (a plain one-line scalar) from this file offset.
    Verbatim(usize),
    /// The file offset of each byte (quotes, escapes and line folds skipped).
    Table(Vec<usize>),
}

impl Located {
    /// Text whose sub-ranges all point at `span` (generated text has no finer place).
    pub(crate) fn new(text: impl Into<String>, span: Option<Span>) -> Self {
        Self {
            text: text.into(),
            span,
            map: None,
        }
    }

    /// Text read from `raw`, the source text of a YAML scalar (plain, quoted or block),
    /// starting at file offset `span.range.start`. Each character of the value is matched
    /// to its place in the raw text; quotes, escapes, indentation and line folds are skipped.
    pub(crate) fn from_yaml(text: impl Into<String>, span: Option<Span>, file_text: &str) -> Self {
        let text = text.into();
        let map = span
            .as_ref()
            .and_then(|s| align(&text, file_text, s.range.clone()));
        Self { text, span, map }
    }

    /// The span of `range` within the text: exact when the text maps into the file,
    /// otherwise the whole value's span.
    pub(crate) fn sub(&self, range: Range<usize>) -> Option<Span> {
        let span = self.span.as_ref()?;
        let (start, end) = match &self.map {
            None => return Some(span.clone()),
            Some(Map::Verbatim(at)) => {
                if range.start > self.text.len() {
                    return None;
                }
                let end = range.end.min(self.text.len()).max(range.start + 1);
                (at + range.start, at + end)
            }
            Some(Map::Table(map)) => {
                let start = *map.get(range.start)?;
                let last = range.end.saturating_sub(1).max(range.start);
                let end = map.get(last).map_or(start + 1, |e| e + 1).max(start + 1);
                (start, end)
            }
        };
        Some(Span::new(span.file, start..end))
    }
}

/// Matches each byte of `value` to a byte of `file[range]` (extended to the end of the
/// line, since block scalars' spans may stop short).
fn align(value: &str, file: &str, range: Range<usize>) -> Option<Map> {
    let start = range.start.min(file.len());
    // Most values (names, one-line expressions) are written exactly as they read.
    if file.get(start..start + value.len()) == Some(value) {
        return Some(Map::Verbatim(start));
    }
    let value_end = range.end.min(file.len());
    let end = file
        .get(value_end..)?
        .find('\n')
        .map_or(file.len(), |i| value_end + i);
    let raw = file.get(start..end.max(start))?;
    let mut raw = raw.char_indices();
    let mut map = Vec::with_capacity(value.len());
    for c in value.chars() {
        loop {
            let (off, rc) = raw.next()?;
            if rc == c {
                for _ in 0..c.len_utf8() {
                    map.push(start + off);
                }
                break;
            }
            // Only layout may be skipped: whitespace, quotes and escape backslashes.
            if !matches!(rc, ' ' | '\t' | '\n' | '\r' | '\\' | '\'' | '"') {
                return None;
            }
        }
    }
    Some(Map::Table(map))
}

/// A group's durations that must parse, besides its rules' `for`.
#[derive(Debug, Clone)]
pub(crate) struct GroupDurations {
    pub(crate) object: String,
    pub(crate) durations: Vec<(&'static str, Located)>,
}

/// `# poolwatch: ignore PW104 reason` on a rule, or a spec's `lint.ignore` entry.
#[derive(Debug, Clone)]
pub(crate) struct Ignore {
    pub(crate) code: String,
    pub(crate) reason: String,
    pub(crate) span: Option<Span>,
}

/// What a unit under check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum UnitKind {
    Alert,
    Record,
    /// A dashboard panel's query: only the PromQL checks apply.
    Query,
}

/// An alerting or recording rule, or a dashboard query, under check.
#[derive(Debug, Clone)]
pub(crate) struct RuleUnit {
    /// The rule's group (for a query: the dashboard's title).
    pub(crate) group: String,
    pub(crate) kind: UnitKind,
    pub(crate) name: Located,
    pub(crate) expr: Located,
    /// The parsed expression, shared by every check; the parser's message when it fails.
    pub(crate) ast: Result<Expr, String>,
    pub(crate) for_: Option<Located>,
    pub(crate) keep_firing_for: Option<Located>,
    pub(crate) labels: BTreeMap<String, Located>,
    pub(crate) annotations: BTreeMap<String, Located>,
    /// "alert X in group g": names the rule in diagnostics.
    pub(crate) object: String,
    pub(crate) ignores: Vec<Ignore>,
    /// For a dashboard query: its panel's position in the dashboard's panel list.
    pub(crate) panel: Option<usize>,
    /// The expression's type, computed the first time a check asks ([`Cx::type_of`]);
    /// a unit belongs to one file set, so to one context.
    pub(crate) ty: std::sync::OnceLock<Option<Ty>>,
    /// Its templates ([`RuleUnit::templates`]) scanned, the first time a check asks: five
    /// checks read each one.
    pub(crate) scans: std::sync::OnceLock<Vec<Scanned>>,
}

impl RuleUnit {
    pub(crate) fn is_alert(&self) -> bool {
        self.kind == UnitKind::Alert
    }

    pub(crate) fn is_record(&self) -> bool {
        self.kind == UnitKind::Record
    }

    /// "alert", "recording rule" or "query", for messages.
    pub(crate) fn kind_word(&self) -> &'static str {
        match self.kind {
            UnitKind::Alert => "alert",
            UnitKind::Record => "recording rule",
            UnitKind::Query => "query",
        }
    }

    /// The place to point at for the whole rule.
    pub(crate) fn span(&self) -> Option<Span> {
        self.name.span.clone().or_else(|| self.expr.span.clone())
    }

    /// A diagnostic about this rule at `span` (the rule's name when `None`).
    pub(crate) fn diag(
        &self,
        code: Code,
        severity: Severity,
        message: String,
        span: Option<Span>,
    ) -> Diagnostic {
        Diagnostic::new(code, severity, message)
            .at(span.or_else(|| self.span()))
            .object(self.object.clone())
    }

    /// The texts Prometheus expands as templates: an alert's annotations and labels, as
    /// ("annotation"/"label", key, text, the text scanned).
    pub(crate) fn templates(&self) -> Vec<(&'static str, &str, &Located, &Scanned)> {
        if !self.is_alert() {
            return Vec::new();
        }
        let a = self
            .annotations
            .iter()
            .map(|(k, v)| ("annotation", k.as_str(), v));
        let l = self.labels.iter().map(|(k, v)| ("label", k.as_str(), v));
        let texts = a.chain(l);
        let scans = self
            .scans
            .get_or_init(|| texts.clone().map(|(_, _, t)| scan(&t.text)).collect());
        texts
            .zip(scans)
            .map(|((what, key, text), scanned)| (what, key, text, scanned))
            .collect()
    }

    /// The span of `needle` (a whole word) in the expression, or the expression's span.
    pub(crate) fn expr_word(&self, needle: &str) -> Option<Span> {
        super::expr::find_word(&self.expr.text, needle)
            .and_then(|r| self.expr.sub(r))
            .or_else(|| self.expr.span.clone())
    }
}

/// Everything the rule checks read: what is known of the metrics with the recorded
/// series, and the spec's severity vocabulary (none without a spec: severities are free).
#[derive(Debug, Default)]
pub(crate) struct Cx {
    pub(crate) env: Env,
    pub(crate) severities: Option<Vec<String>>,
    /// "Did you mean" over every known series name, built on first use.
    names: std::sync::OnceLock<super::knowledge::NameIndex>,
}

impl Cx {
    /// Builds the context of a rule set: every recording rule's series is typed (in file
    /// order, so a rule may use the series recorded before it, and later ones on a second
    /// pass), with the rule's static labels added.
    pub(crate) fn new(
        knowledge: Knowledge,
        severities: Option<Vec<String>>,
        rules: &[RuleUnit],
    ) -> Self {
        let mut env = Env::new(knowledge);
        let records: Vec<(&RuleUnit, &Expr)> = rules
            .iter()
            .filter(|r| r.is_record())
            .filter_map(|r| Some((r, r.ast.as_ref().ok()?)))
            .collect();
        let pass = |env: &mut Env| {
            for &(r, ast) in &records {
                let t = env.type_of(ast);
                let t = Ty {
                    labels: t.labels.with(r.labels.keys().cloned()),
                    ..t
                };
                env.recorded.insert(r.name.text.clone(), t);
            }
        };
        pass(&mut env);
        // The second pass only changes a type when a rule reads a series recorded by
        // itself or a later rule (what the first pass had not typed yet, or typed again).
        if reads_ahead(&records) {
            pass(&mut env);
        }
        Self {
            env,
            severities,
            names: Default::default(),
        }
    }

    /// The known series name closest to `name`, if one is close.
    pub(crate) fn did_you_mean(&self, name: &str) -> Option<&str> {
        self.names
            .get_or_init(|| super::knowledge::NameIndex::new(self.env.known_names()))
            .closest(name)
    }

    /// The type of a rule's expression, if it parses (typed once, for every check).
    pub(crate) fn type_of<'r>(&self, rule: &'r RuleUnit) -> Option<&'r Ty> {
        rule.ty
            .get_or_init(|| rule.ast.as_ref().ok().map(|e| self.env.type_of(e)))
            .as_ref()
    }

    /// The labels `$labels` holds for an alert: its expression's.
    pub(crate) fn labels_of<'r>(&self, rule: &'r RuleUnit) -> &'r LabelSet {
        /// What an expression that does not parse may carry.
        static ANY: LabelSet = LabelSet::All;
        self.type_of(rule).map_or(&ANY, |t| &t.labels)
    }
}

/// True when a recording rule selects a series that it or a later rule records: typing the
/// rules in file order then saw an older type of that series, or none.
fn reads_ahead(records: &[(&RuleUnit, &Expr)]) -> bool {
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, (r, _)) in records.iter().enumerate() {
        last.insert(r.name.text.as_str(), i);
    }
    records.iter().enumerate().any(|(i, (_, ast))| {
        let mut ahead = false;
        super::expr::visit(ast, None, &mut |e, _| {
            ahead |= super::expr::selector_name(e)
                .and_then(|n| last.get(n))
                .is_some_and(|&j| j >= i);
        });
        ahead
    })
}

/// Parses a unit's expression, once: a dashboard query with Grafana's variables replaced.
pub(crate) fn parse_unit(kind: UnitKind, text: &str) -> Result<Expr, String> {
    let parse = |text: &str| {
        if kind == UnitKind::Query {
            super::grafana_vars::parse_query(text)
        } else {
            super::limits::parse(text)
        }
    };
    match parse(text) {
        // Prometheus 2's `holt_winters` is Prometheus 3's `double_exponential_smoothing`
        // (same arguments), which the parser knows: read it as that, and let PW115
        // (renamed_function.rs) say what the version given makes of it.
        Err(e) if e.contains("holt_winters") => {
            let renamed =
                super::expr::rename_word(text, "holt_winters", "double_exponential_smoothing");
            parse(&renamed).map_err(|_| e)
        }
        parsed => parsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn located(file: &str, value: &str, range: Range<usize>) -> Located {
        Located::from_yaml(value, Some(Span::new(FileId(0), range)), file)
    }

    #[test]
    fn quoted_and_block_scalars_map_into_the_file() {
        let file = "d: \"Pool at {{ $value }}% \\\"x\\\"\"\n";
        let l = located(file, "Pool at {{ $value }}% \"x\"", 3..file.len() - 1);
        let at = l.text.find("{{").unwrap();
        assert_eq!(l.sub(at..at + 2).unwrap().range, 12..14);
        let q = l.text.find('x').unwrap();
        assert_eq!(&file[l.sub(q..q + 1).unwrap().range], "x");

        let file = "expr: |-\n    sum(x)\n    > 5\n";
        let l = located(file, "sum(x)\n> 5", 13..file.len());
        let gt = l.text.find('>').unwrap();
        assert_eq!(&file[l.sub(gt..gt + 1).unwrap().range], ">");
        assert_eq!(
            file[..l.sub(gt..gt + 1).unwrap().range.start]
                .matches('\n')
                .count(),
            2
        );
    }

    fn recorded(yaml: &str) -> Cx {
        let mut sources = crate::source::Sources::default();
        let file = sources.add("rules.yml", yaml);
        let parsed = super::super::rules_file::parse(&sources, file).expect("a rule file");
        Cx::new(Knowledge::default(), None, &parsed.rules)
    }

    #[test]
    fn a_series_recorded_further_down_types_the_rules_above_it() {
        let rate = "  - record: job:a:rate5m\n    expr: sum by (job) (rate(a_seconds_total[5m]))\n";
        let ratio = "  - record: job:b:ratio\n    expr: job:a:rate5m / job:a:rate5m\n";
        let head = "groups:\n- name: g\n  rules:\n";
        let seconds = super::super::typing::ValUnit::PerSecond(crate::model::Unit::Seconds);
        // Read before it is recorded: typed on the second pass.
        let cx = recorded(&format!("{head}{ratio}{rate}"));
        assert_eq!(cx.env.recorded["job:a:rate5m"].unit, seconds);
        assert!(cx.env.recorded["job:b:ratio"].is_ratio());
        // Read after it is recorded: one pass types it the same.
        let cx = recorded(&format!("{head}{rate}{ratio}"));
        assert!(cx.env.recorded["job:b:ratio"].is_ratio());
        // Without the rate's type, the name alone says nothing of the ratio.
        let cx = recorded(&format!("{head}{ratio}"));
        assert!(!cx.env.recorded["job:b:ratio"].is_ratio());
    }
}
