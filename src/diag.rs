//! Diagnostics: what every stage reports, and how they are rendered (human, JSON, GitHub
//! workflow commands, SARIF 2.1.0 for code scanning, checkstyle XML).
//!
//! A stage never stops at its first finding: it returns all of them as a `Vec<Diagnostic>`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};
use serde::Serialize;

use crate::source::{Sources, Span};

/// How bad a finding is. Errors stop `emit`; warnings are reported and allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    /// A note worth reading that needs no change (an alert without `for`).
    Info,
    Warning,
    Error,
}

/// A stable diagnostic code with its kebab-case name, e.g. `PW101 promql-syntax`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    pub code: &'static str,
    pub name: &'static str,
}

/// One finding, located in a source file (spec or rule file) or in a generated object.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: Code,
    pub(crate) severity: Severity,
    pub message: String,
    /// Where in a source file; the caret points here.
    pub(crate) span: Option<Span>,
    /// Text shown under the caret.
    pub(crate) label: Option<String>,
    /// The generated object this is about: "alert ConnectionPoolHighUtilization", "panel 3".
    pub object: Option<String>,
    /// Extra lines: what to do about it.
    pub(crate) help: Vec<String>,
    /// Silenced by a suppression, with its reason: counted, not printed one by one.
    pub(crate) suppressed: Option<String>,
}

impl Diagnostic {
    pub(crate) fn error(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: None,
            object: None,
            help: Vec::new(),
            suppressed: None,
        }
    }

    /// A finding at a given severity (a check's default).
    pub(crate) fn new(code: Code, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            ..Self::error(code, message)
        }
    }

    pub(crate) fn warning(code: Code, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    pub(crate) fn at(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub(crate) fn object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }
}

/// True when any diagnostic is at error level (suppressed ones do not count).
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags
        .iter()
        .any(|d| d.severity == Severity::Error && d.suppressed.is_none())
}

/// Sorts diagnostics by file and place, then code, keeping unlocated ones last.
pub(crate) fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            d.span
                .as_ref()
                .map_or((usize::MAX, usize::MAX), |s| (s.file.0, s.range.start))
        };
        key(a).cmp(&key(b)).then(a.code.code.cmp(b.code.code))
    });
}

/// Output format of a diagnostics report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// rustc-style: source line and caret.
    #[default]
    Human,
    /// One JSON document with every finding.
    Json,
    /// GitHub Actions workflow commands (`::error file=..,line=..::msg`).
    Github,
    /// SARIF 2.1.0 (GitHub code scanning, code-review tools).
    Sarif,
    /// Checkstyle XML (Jenkins, GitLab, reviewdog).
    Checkstyle,
    /// Markdown, for a pull request comment or `$GITHUB_STEP_SUMMARY` (`emit --check`,
    /// `diff`); findings print as the human text in a code block.
    Markdown,
}

/// Renders diagnostics in the chosen format. Sorting is the caller's business.
pub fn render(diags: &[Diagnostic], sources: &Sources, format: Format) -> String {
    match format {
        Format::Human => render_human(diags, sources),
        Format::Json => render_json(diags, sources),
        Format::Github => render_github(diags, sources),
        Format::Sarif => render_sarif(diags, sources),
        Format::Checkstyle => render_checkstyle(diags, sources),
        Format::Markdown if diags.is_empty() => String::new(),
        Format::Markdown => format!("```text\n{}```\n", render_human(diags, sources)),
    }
}

fn render_human(diags: &[Diagnostic], sources: &Sources) -> String {
    let mut files = SimpleFiles::new();
    for (_, f) in sources.iter() {
        files.add(f.name.clone(), f.text.clone());
    }
    let config = Config::default();
    let mut out = String::new();
    for d in diags.iter().filter(|d| d.suppressed.is_none()) {
        let mut cs = match d.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
            Severity::Info => CsDiagnostic::note(),
        }
        .with_code(d.code.code.to_string())
        .with_message(format!("{} [{}]", d.message, d.code.name));
        let mut notes = Vec::new();
        if let Some(span) = &d.span {
            if let Some(at) = long_line_place(span, sources) {
                notes.push(match &d.label {
                    Some(label) => format!("{at}: {label}"),
                    None => at,
                });
            } else {
                let mut label = Label::primary(span.file.0, span.range.clone());
                if let Some(text) = &d.label {
                    label = label.with_message(text.clone());
                }
                cs = cs.with_labels(vec![label]);
            }
        }
        if let Some(object) = &d.object {
            notes.push(format!("in: {object}"));
        }
        notes.extend(d.help.iter().map(|h| format!("help: {h}")));
        cs = cs.with_notes(notes);
        let mut buf = String::new();
        // Writing into a String cannot fail; a files lookup error degrades to the plain message.
        if term::emit_to_string(&mut buf, &config, &files, &cs).is_err() {
            buf = format!(
                "{}[{}]: {}\n",
                severity_word(d.severity),
                d.code.code,
                d.message
            );
        }
        out.push_str(&buf);
    }
    out
}

/// Source lines longer than this are not echoed (a one-line document of megabytes would
/// flood the terminal); the diagnostic names the place instead.
const MAX_SHOWN_LINE: usize = 500;

/// `at: file:line:col` when the span starts on a line too long to show.
fn long_line_place(span: &Span, sources: &Sources) -> Option<String> {
    let text = &sources.get(span.file)?.text;
    let start = crate::source::floor_char_boundary(text, span.range.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_len = text[line_start..]
        .find('\n')
        .unwrap_or(text.len() - line_start);
    if line_len <= MAX_SHOWN_LINE {
        return None;
    }
    let (file, (l, c), _) = place(span, sources)?;
    Some(format!(
        "at: {file}:{l}:{c} (the line is {line_len} bytes long, too long to show)"
    ))
}

pub(crate) fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

#[derive(Serialize)]
struct JsonDiag<'a> {
    code: &'a str,
    name: &'a str,
    severity: Severity,
    message: &'a str,
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    object: Option<&'a str>,
    help: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed: Option<&'a str>,
}

/// File, start (line, col) and end (line, col) of a span.
type Place<'a> = (&'a str, (usize, usize), (usize, usize));

fn place<'a>(span: &Span, sources: &'a Sources) -> Option<Place<'a>> {
    let file = sources.get(span.file)?;
    Some((
        file.name.as_str(),
        sources.line_col(span.file, span.range.start),
        sources.line_col(span.file, span.range.end),
    ))
}

fn render_json(diags: &[Diagnostic], sources: &Sources) -> String {
    let items: Vec<JsonDiag> = diags
        .iter()
        .map(|d| {
            let p = d.span.as_ref().and_then(|s| place(s, sources));
            JsonDiag {
                code: d.code.code,
                name: d.code.name,
                severity: d.severity,
                message: &d.message,
                file: p.map(|p| p.0),
                line: p.map(|p| p.1.0),
                column: p.map(|p| p.1.1),
                end_line: p.map(|p| p.2.0),
                end_column: p.map(|p| p.2.1),
                object: d.object.as_deref(),
                help: &d.help,
                suppressed: d.suppressed.as_deref(),
            }
        })
        .collect();
    let (errors, warnings, suppressed) = counts(diags);
    let info = diags
        .iter()
        .filter(|d| d.severity == Severity::Info && d.suppressed.is_none())
        .count();
    let doc = serde_json::json!({
        "diagnostics": items,
        "errors": errors,
        "warnings": warnings,
        "info": info,
        "suppressed": suppressed,
    });
    // A `serde_json::Value` has string keys only: printing it cannot fail.
    let mut s = serde_json::to_string_pretty(&doc).expect("a JSON value always prints");
    s.push('\n');
    s
}

/// Escapes a workflow-command property or message as GitHub's toolkit does.
pub(crate) fn gh_escape(s: &str, property: bool) -> String {
    let mut out = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

fn render_github(diags: &[Diagnostic], sources: &Sources) -> String {
    let mut out = String::new();
    for d in diags.iter().filter(|d| d.suppressed.is_none()) {
        let mut props = Vec::new();
        if let Some((file, (l, c), (el, ec))) = d.span.as_ref().and_then(|s| place(s, sources)) {
            props.push(format!("file={}", gh_escape(file, true)));
            props.push(format!("line={l}"));
            props.push(format!("col={c}"));
            props.push(format!("endLine={el}"));
            props.push(format!("endColumn={ec}"));
        }
        props.push(format!(
            "title={}",
            gh_escape(&format!("{} {}", d.code.code, d.code.name), true)
        ));
        let mut msg = d.message.clone();
        if let Some(object) = &d.object {
            let _ = write!(msg, " (in {object})");
        }
        for h in &d.help {
            let _ = write!(msg, "\nhelp: {h}");
        }
        let _ = writeln!(
            out,
            "::{} {}::{}",
            match d.severity {
                Severity::Info => "notice",
                s => severity_word(s),
            },
            props.join(","),
            gh_escape(&msg, false)
        );
    }
    out
}

/// (errors, warnings, suppressed): suppressed findings count only as suppressed.
fn counts(diags: &[Diagnostic]) -> (usize, usize, usize) {
    let live = |s: Severity| {
        diags
            .iter()
            .filter(|d| d.severity == s && d.suppressed.is_none())
            .count()
    };
    let suppressed = diags.iter().filter(|d| d.suppressed.is_some()).count();
    (live(Severity::Error), live(Severity::Warning), suppressed)
}

/// The closest candidate by edit distance, for "did you mean"; never `name` itself (a
/// suggestion to write what was written helps nobody, and says the lookup was wrong).
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .filter(|c| *c != name)
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

/// One line summing up a report: "2 errors, 1 warning" (", 1 suppressed" when any are).
pub(crate) fn summary(diags: &[Diagnostic]) -> String {
    let (errors, warnings, suppressed) = counts(diags);
    let mut s = format!(
        "{errors} error{}, {warnings} warning{}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    );
    let info = diags
        .iter()
        .filter(|d| d.severity == Severity::Info && d.suppressed.is_none())
        .count();
    if info > 0 {
        let _ = write!(s, ", {info} info");
    }
    if suppressed > 0 {
        let _ = write!(s, ", {suppressed} suppressed");
    }
    s
}

/// The SARIF `level` of a severity (`note` is SARIF's word for information).
fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A SARIF 2.1.0 log with one run: the tool with each code reported as a rule, and one
/// result per finding (its message, help and object in the text; its place as a region).
fn render_sarif(diags: &[Diagnostic], sources: &Sources) -> String {
    // One rule per code reported, in code order, so `ruleIndex` points into the list.
    let mut codes: Vec<crate::diag::Code> = diags.iter().map(|d| d.code).collect();
    codes.sort_by_key(|c| c.code);
    codes.dedup();
    let index: BTreeMap<&str, usize> = codes.iter().enumerate().map(|(i, c)| (c.code, i)).collect();
    let rules: Vec<serde_json::Value> = codes
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.code,
                "name": c.name,
                // `helpUri` must be an absolute URI (the schema's "uri" format), which a
                // checkout's docs are not: the help names the command and the section.
                "help": {"text": format!(
                    "poolwatch check --explain {}; docs/checks.md#{}-{}",
                    c.code,
                    c.code.to_lowercase(),
                    c.name
                )},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(o) = &d.object {
                let _ = write!(text, " (in {o})");
            }
            for h in &d.help {
                let _ = write!(text, "\nhelp: {h}");
            }
            let mut r = serde_json::json!({
                "ruleId": d.code.code,
                "level": sarif_level(d.severity),
                "message": {"text": text},
            });
            if let Some(&i) = index.get(d.code.code) {
                r["ruleIndex"] = i.into();
            }
            if let Some((file, (l, c), (el, ec))) = d.span.as_ref().and_then(|s| place(s, sources))
            {
                r["locations"] = serde_json::json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(file)},
                        "region": {
                            "startLine": l,
                            "startColumn": c,
                            "endLine": el,
                            "endColumn": ec.max(if el == l { c + 1 } else { 1 }),
                        }
                    }
                }]);
            }
            if let Some(reason) = &d.suppressed {
                r["suppressions"] =
                    serde_json::json!([{"kind": "inSource", "justification": reason}]);
            }
            r
        })
        .collect();
    let log = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "poolwatch",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&log).expect("a JSON value always prints");
    s.push('\n');
    s
}

/// A file path as a URI reference: `/` separators, and the characters a URI may not hold
/// as they are percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// XML text with the five special characters escaped (and control characters, which XML
/// 1.0 cannot hold, dropped).
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// Checkstyle XML: one `<file>` per file with its `<error>`s (line, column, severity,
/// message, source `poolwatch.PW205`); findings without a place go under `<file name="">`.
fn render_checkstyle(diags: &[Diagnostic], sources: &Sources) -> String {
    let mut files: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for d in diags.iter().filter(|d| d.suppressed.is_none()) {
        let p = d.span.as_ref().and_then(|s| place(s, sources));
        let (file, at) = match p {
            Some((f, (l, c), _)) => (f, format!(" line=\"{l}\" column=\"{c}\"")),
            None => ("", String::new()),
        };
        let mut msg = d.message.clone();
        if let Some(o) = &d.object {
            let _ = write!(msg, " (in {o})");
        }
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        files.entry(file).or_default().push(format!(
            "    <error{at} severity=\"{severity}\" message=\"{}\" source=\"poolwatch.{}\"/>\n",
            xml(&msg),
            d.code.code
        ));
    }
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle version=\"8.0\">\n");
    for (file, errors) in files {
        let _ = writeln!(out, "  <file name=\"{}\">", xml(file));
        for e in errors {
            out.push_str(&e);
        }
        out.push_str("  </file>\n");
    }
    out.push_str("</checkstyle>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn paths_become_uri_references_and_text_becomes_xml() {
        assert_eq!(super::uri("rules/a b%.yml"), "rules/a%20b%25.yml");
        assert_eq!(
            super::xml("a < \"b\" & 'c'\u{1}"),
            "a &lt; &quot;b&quot; &amp; &apos;c&apos;"
        );
    }

    #[test]
    fn did_you_mean_never_offers_the_name_itself() {
        assert_eq!(
            did_you_mean("jobb", ["job", "jobb"].into_iter()),
            Some("job")
        );
        assert_eq!(did_you_mean("job", ["job"].into_iter()), None);
        assert_eq!(did_you_mean("jobb", ["job"].into_iter()), Some("job"));
    }
}
