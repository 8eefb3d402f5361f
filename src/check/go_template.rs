//! A scanner for the Go `text/template` language Prometheus uses in annotations and labels:
//! enough to find every `{{ action }}`, its words and variables, and the syntax errors
//! Prometheus would reject the rule file for (unclosed actions, strings or parentheses,
//! `if`/`range`/`with` without `end`). The one lexer of Go templates: the checks read
//! annotations with it, and `render::annotation_expansion` predicts what Prometheus prints.

use std::ops::Range;

/// Prometheus's template functions (`template/template.go`) and Go's built-ins.
pub(crate) const FUNCTIONS: &[&str] = &[
    // Prometheus.
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "toDuration",
    "pathPrefix",
    "externalURL",
    "parseDuration",
    "stripPort",
    "stripDomain",
    "now",
    "urlQueryEscape",
    // Go's text/template.
    "and",
    "or",
    "not",
    "len",
    "index",
    "slice",
    "print",
    "printf",
    "println",
    "html",
    "js",
    "urlquery",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "call",
];

/// Go template keywords.
const KEYWORDS: &[&str] = &[
    "if", "else", "end", "range", "with", "define", "template", "block", "nil", "true", "false",
    "break", "continue",
];

/// Variables Prometheus defines for alert templates.
pub(crate) const VARIABLES: &[&str] =
    &["$labels", "$value", "$externalLabels", "$externalURL", "$"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// A function or keyword.
    Ident,
    /// `$x` or `$x.field`.
    Var,
    /// `.Field` or `.`.
    Field,
    Str,
    Number,
    Punct,
}

#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub(crate) kind: TokKind,
    pub(crate) text: String,
    /// Byte range in the template text.
    pub(crate) range: Range<usize>,
}

/// One `{{ ... }}` action.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    /// Range of the whole action, braces included.
    pub(crate) range: Range<usize>,
    pub(crate) tokens: Vec<Tok>,
    /// Inside `{{ range ... }}` or `{{ with ... }}`, where `.` is no longer the alert but
    /// the value ranged over (a `query` result's sample, say).
    pub(crate) rebound: bool,
}

/// A template's actions and syntax errors.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scanned {
    pub(crate) actions: Vec<Action>,
    pub(crate) errors: Vec<(Range<usize>, String)>,
}

impl Scanned {
    /// Identifiers in function position that are neither keywords nor known functions.
    pub(crate) fn unknown_functions(&self) -> Vec<&Tok> {
        self.actions
            .iter()
            .flat_map(|a| &a.tokens)
            .filter(|t| {
                t.kind == TokKind::Ident
                    && !KEYWORDS.contains(&t.text.as_str())
                    && !FUNCTIONS.contains(&t.text.as_str())
            })
            .collect()
    }

    /// Every label of the alert read as `$labels.X` or `.Labels.X`, with its range
    /// (`.Labels.X` inside `range` or `with` reads what they range over, not the alert).
    pub(crate) fn label_reads(&self) -> Vec<(&str, Range<usize>)> {
        let mut out = Vec::new();
        for (a, t) in self
            .actions
            .iter()
            .flat_map(|a| a.tokens.iter().map(move |t| (a, t)))
        {
            let rest = match t.kind {
                TokKind::Var => t.text.strip_prefix("$labels."),
                TokKind::Field if !a.rebound => t.text.strip_prefix(".Labels."),
                _ => None,
            };
            if let Some(label) = rest {
                let label = label.split('.').next().unwrap_or(label);
                out.push((label, t.range.clone()));
            }
        }
        out
    }
}

/// Scans a template.
pub(crate) fn scan(text: &str) -> Scanned {
    let mut out = Scanned::default();
    let mut blocks: Vec<(String, Range<usize>)> = Vec::new();
    let mut defined: std::collections::HashSet<String> = std::collections::HashSet::new();
    // Open `range`/`with` blocks, counted: asking the block stack for each action made
    // 50,000 nested `{{ if }}` take minutes.
    let mut rebinding = 0usize;
    let mut i = 0;
    while let Some(open) = text[i..].find("{{") {
        let start = i + open;
        let Some(close) = find_close(text, start + 2) else {
            out.errors.push((
                start..start + 2,
                "this `{{` is never closed with `}}`".into(),
            ));
            return out;
        };
        let end = close + 2;
        let mut inner_start = start + 2;
        if text[inner_start..].starts_with('-') {
            inner_start += 1;
        }
        let mut inner_end = close;
        if text[..inner_end].ends_with('-') && inner_end > inner_start {
            inner_end -= 1;
        }
        let inner = &text[inner_start..inner_end];
        if inner.trim_start().starts_with("/*") {
            i = end;
            continue;
        }
        let tokens = match tokenize(inner, inner_start) {
            Ok(t) => t,
            Err(e) => {
                out.errors.push(e);
                i = end;
                continue;
            }
        };
        if tokens.is_empty() {
            out.errors.push((start..end, "empty action `{{ }}`".into()));
        }
        let mut depth: i32 = 0;
        for t in &tokens {
            match t.text.as_str() {
                "(" => depth += 1,
                ")" => {
                    depth -= 1;
                    if depth < 0 {
                        out.errors
                            .push((t.range.clone(), "unmatched `)` in this action".into()));
                    }
                }
                _ => {}
            }
        }
        if depth > 0 {
            out.errors
                .push((start..end, "unclosed `(` in this action".into()));
        }
        // Variables must be defined before use.
        for (k, t) in tokens.iter().enumerate() {
            if t.kind != TokKind::Var {
                continue;
            }
            let name = t.text.split('.').next().unwrap_or(&t.text);
            let declares = tokens
                .get(k + 1)
                .is_some_and(|n| n.text == ":=" || n.text == "," || n.text == "=");
            if declares {
                defined.insert(name.to_string());
            } else if !VARIABLES.contains(&name) && !defined.contains(name) {
                out.errors
                    .push((t.range.clone(), format!("undefined variable `{name}`")));
            }
        }
        let rebound = rebinding > 0;
        let rebinds = |kw: &str| kw == "range" || kw == "with";
        match tokens.first().map(|t| t.text.as_str()) {
            Some(kw @ ("if" | "range" | "with" | "define" | "block")) => {
                rebinding += usize::from(rebinds(kw));
                blocks.push((kw.to_string(), start..end));
            }
            Some("end") => match blocks.pop() {
                Some((kw, _)) => rebinding -= usize::from(rebinds(&kw)),
                None => out
                    .errors
                    .push((start..end, "`{{ end }}` without an open block".into())),
            },
            _ => {}
        }
        out.actions.push(Action {
            range: start..end,
            tokens,
            rebound,
        });
        i = end;
    }
    // A `}}` outside any action is plain text to Go's templates (promtool accepts it).
    for (kw, range) in blocks {
        out.errors.push((
            range,
            format!("`{{{{ {kw} }}}}` is never closed with `{{{{ end }}}}`"),
        ));
    }
    out
}

/// The offset of the `}}` closing an action that starts at `from`, skipping strings.
fn find_close(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i + 1 < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if bytes[i + 1] == b'}' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn tokenize(inner: &str, base: usize) -> Result<Vec<Tok>, (Range<usize>, String)> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = inner.char_indices().collect();
    let mut k = 0;
    let at = |k: usize| chars.get(k).map_or(inner.len(), |c| c.0);
    while k < chars.len() {
        let (off, c) = chars[k];
        let start = k;
        let kind = if c.is_whitespace() {
            k += 1;
            continue;
        } else if c == '"' || c == '`' || c == '\'' {
            k += 1;
            loop {
                let Some(&(_, d)) = chars.get(k) else {
                    return Err((
                        base + off..base + inner.len(),
                        format!("unterminated string starting with {c}"),
                    ));
                };
                k += 1;
                if d == '\\' && c != '`' {
                    k += 1;
                } else if d == c {
                    break;
                }
            }
            TokKind::Str
        } else if c == '$' || c == '.' || c.is_alphabetic() || c == '_' {
            k += 1;
            while chars
                .get(k)
                .is_some_and(|(_, d)| d.is_alphanumeric() || *d == '_' || *d == '.')
            {
                k += 1;
            }
            match c {
                '$' => TokKind::Var,
                '.' => TokKind::Field,
                _ => TokKind::Ident,
            }
        } else if c.is_ascii_digit() || c == '-' || c == '+' {
            k += 1;
            while chars
                .get(k)
                .is_some_and(|(_, d)| d.is_ascii_alphanumeric() || *d == '.')
            {
                k += 1;
            }
            TokKind::Number
        } else if c == ':' && chars.get(k + 1).is_some_and(|d| d.1 == '=') {
            k += 2;
            TokKind::Punct
        } else if matches!(c, '|' | '(' | ')' | '=' | ',') {
            k += 1;
            TokKind::Punct
        } else {
            return Err((
                base + off..base + off + c.len_utf8(),
                format!("unexpected `{c}` in a template action"),
            ));
        };
        let range = at(start)..at(k);
        out.push(Tok {
            kind,
            text: inner[range.clone()].to_string(),
            range: base + range.start..base + range.end,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_functions() {
        let s = scan("Pool {{ $labels.pool }} at {{ $value | humanizePercentage }}");
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.actions.len(), 2);
        assert!(s.unknown_functions().is_empty());
        assert_eq!(s.label_reads()[0].0, "pool");
        let s = scan("{{ $value | humanise }}");
        assert_eq!(s.unknown_functions()[0].text, "humanise");
    }

    #[test]
    fn trim_markers_comments_and_odd_text() {
        let s = scan("{{- /* note */ -}}{{- $value | humanize -}} ü {{ \"}}\" }}");
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.actions.len(), 2);
        for text in [
            "{{",
            "}}",
            "{{-}}",
            "{{ é",
            "{{ (",
            "{{ \"",
            "ü{{ $labels.é }}",
        ] {
            let _ = scan(text);
        }
    }

    #[test]
    fn syntax_errors() {
        assert!(!scan("at {{ $value ").errors.is_empty());
        assert!(!scan("{{ if gt $value 1.0 }}x").errors.is_empty());
        assert!(!scan("{{ printf \"%.2f $value }}").errors.is_empty());
        assert!(!scan("{{ $nope }}").errors.is_empty());
        assert!(
            scan("{{ with $x := 1 }}{{ $x }}{{ end }}")
                .errors
                .is_empty()
        );
        assert!(scan("{{ printf \"%.2f\" $value }}%").errors.is_empty());
    }
}
