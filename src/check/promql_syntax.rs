//! PW101 promql-syntax: every expression must parse.
//!
//! Why: promtool and Grafana would reject it at deploy or render time; we want the error
//! before anything is written, naming the rule or panel. Grafana's variables
//! (`$__rate_interval`, `${datasource}`) are not PromQL, so panel targets are checked with
//! them replaced by sample values; the written text keeps the variables.
//!
//! The parser says where nothing went wrong (often only "invalid promql query"), so the
//! check finds the place itself: an unclosed bracket or string, a bad duration, or the
//! first token after the longest prefix that parses.
//!
//! Example: `expr: sum(rate(errors_total[5m]) > 0` (the `(` after `sum` is never closed).

use std::ops::Range;

use super::grafana_vars;
use super::lint::RuleUnit;
use super::promql_string;
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW101",
    name: "promql-syntax",
};

/// Parses one expression, giving a clearer message than the parser's when it can.
pub(crate) fn parse(expr: &str) -> Result<promql_parser::parser::Expr, String> {
    super::limits::parse(expr).map_err(|e| {
        if e.trim() == "invalid promql query" {
            "the expression is not valid PromQL (check brackets, quotes and operators)".into()
        } else {
            e
        }
    })
}

pub(crate) const SEVERITY: Severity = Severity::Error;

/// PW101 on a rule under check, pointing into the expression where it can.
pub(crate) fn check_rule(rule: &RuleUnit, _cx: &super::lint::Cx) -> Vec<Diagnostic> {
    let Err(e) = &rule.ast else {
        return Vec::new();
    };
    if let Some(deep) = super::limits::too_deep(&rule.expr.text) {
        let span = rule
            .expr
            .sub(deep.at..deep.at + 1)
            .or_else(|| rule.expr.span.clone());
        let d = rule
            .diag(super::limits::CODE, SEVERITY, deep.to_string(), span)
            .label(format!(
                "deeper than {} levels here",
                super::limits::MAX_DEPTH
            ))
            .help(
                "split the expression into recording rules (each a part of it), or write a \
                 long chain of `or`/`+` as a shorter one with aggregation (`sum by (...)`)",
            );
        return vec![d];
    }
    // Dashboard queries are parsed with Grafana's variables replaced; places in the
    // replaced text only map back when nothing was replaced.
    let text = grafana_vars::substitute(&rule.expr.text);
    let found = if text == rule.expr.text {
        locate(&text, e)
    } else {
        brackets(&rule.expr.text).unwrap_or_else(|| ErrorPlace {
            range: None,
            ..locate(&text, e)
        })
    };
    let span = found
        .range
        .clone()
        .and_then(|r| rule.expr.sub(r))
        .or_else(|| rule.expr.span.clone());
    let mut d = rule
        .diag(
            CODE,
            SEVERITY,
            format!("PromQL does not parse: {}", found.message),
            span,
        )
        .label(found.label);
    if found.message != *e {
        d = d.help(format!("the parser says: {e}"));
    }
    vec![d]
}

/// Where in an expression a parse error is, and what to say about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorPlace {
    pub(crate) range: Option<Range<usize>>,
    pub(crate) message: String,
    pub(crate) label: String,
}

/// Finds the place of a parse error the parser reported without a position.
pub(crate) fn locate(text: &str, parser_msg: &str) -> ErrorPlace {
    brackets(text).unwrap_or_else(|| locate_tokens(text, parser_msg))
}

fn at(range: Range<usize>, message: String, label: &str) -> ErrorPlace {
    ErrorPlace {
        range: Some(range),
        message,
        label: label.to_string(),
    }
}

/// An unclosed or mismatched bracket or string: the parser stops at them without saying
/// where.
pub(crate) fn brackets(text: &str) -> Option<ErrorPlace> {
    let mut stack: Vec<(char, usize)> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let end = promql_string::at(text.as_bytes(), i).filter(|lit| lit.closed);
                let Some(lit) = end else {
                    return Some(at(
                        i..i + 1,
                        format!("the string opened here with {c} is never closed"),
                        "unterminated string",
                    ));
                };
                while chars.next_if(|(j, _)| *j < lit.end).is_some() {}
            }
            '#' => {
                // A comment runs to the end of the line.
                while chars.peek().is_some_and(|(_, d)| *d != '\n') {
                    chars.next();
                }
            }
            '(' | '[' | '{' => stack.push((c, i)),
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match stack.pop() {
                    Some((open, _)) if open == want => {}
                    Some((open, oi)) => {
                        return Some(at(
                            i..i + 1,
                            format!("`{c}` closes the `{open}` opened at column {}", oi + 1),
                            "mismatched bracket",
                        ));
                    }
                    None => {
                        return Some(at(
                            i..i + 1,
                            format!("`{c}` closes nothing"),
                            "unmatched bracket",
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((open, i)) = stack.pop() {
        let close = match open {
            '(' => ')',
            '[' => ']',
            _ => '}',
        };
        return Some(at(
            i..i + 1,
            format!("this `{open}` is never closed with `{close}`"),
            "unclosed bracket",
        ));
    }
    None
}

/// A bad token the parser names, or the first token after the longest viable prefix.
fn locate_tokens(text: &str, parser_msg: &str) -> ErrorPlace {
    // Messages that quote the offending text: point at it.
    for prefix in ["bad number or duration syntax: ", "unexpected identifier '"] {
        if let Some(rest) = parser_msg.strip_prefix(prefix) {
            let word = rest.split('\'').next().unwrap_or(rest).trim();
            if let Some(r) = super::expr::find_word(text, word)
                .or_else(|| text.find(word).map(|s| s..s + word.len()))
            {
                return at(r, parser_msg.to_string(), "here");
            }
        }
    }
    // Otherwise: the first token after the longest prefix that parses, or would parse
    // with an operand added (`x >` is a viable start, `x > >` is not).
    if text.len() <= 1024 && parse(text).is_err() {
        let viable = |p: &str| parse(p).is_ok() || parse(&format!("{p} 0")).is_ok();
        let ends = text
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .chain([text.len()]);
        let best = ends.filter(|&i| viable(&text[..i])).last();
        if let Some(end) = best {
            if end >= text.trim_end().len() {
                let trimmed = text.trim_end();
                let start = trimmed.rfind(char::is_whitespace).map_or(0, |i| i + 1);
                return at(
                    start..trimmed.len(),
                    "the expression is incomplete: an operator has no right-hand side".into(),
                    "nothing follows this",
                );
            }
            let rest = &text[end..];
            let start = end + (rest.len() - rest.trim_start().len());
            let tok_len = text[start..]
                .find(char::is_whitespace)
                .unwrap_or(text.len() - start)
                .max(1);
            let shown = &text[start..start + tok_len];
            let message = if parser_msg.trim() == "invalid promql query" {
                format!("unexpected `{shown}`")
            } else {
                parser_msg.to_string()
            };
            return at(
                start..start + tok_len,
                message,
                "PromQL cannot continue here",
            );
        }
    }
    ErrorPlace {
        range: None,
        message: if parser_msg.trim() == "invalid promql query" {
            "the expression is not valid PromQL (check brackets, quotes and operators)".into()
        } else {
            parser_msg.to_string()
        },
        label: "in this expression".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_located() {
        let l = |t: &str| {
            let e = promql_parser::parser::parse(t).unwrap_err();
            locate(t, &e)
        };
        assert_eq!(l("sum(rate(x[5m])").range, Some(3..4));
        assert_eq!(l("x{a=\"b}").range, Some(4..5));
        assert_eq!(l("rate(x[5q])").range, Some(7..9));
        let e = l("sum(x) bogus");
        assert_eq!(e.range, Some(7..12));
        assert!(e.message.contains("bogus"), "{e:?}");
        let e = l("rate(x[5m]) >");
        assert_eq!(e.range, Some(12..13), "{e:?}");
        assert!(e.message.contains("incomplete"), "{e:?}");
        let e = l("rate(x[5m])\n  > > 1");
        assert_eq!(e.range.as_ref().map(|r| r.start), Some(16), "{e:?}");
    }

    #[test]
    fn locating_never_panics_on_odd_text() {
        let odd = [
            "sum(rate(x[5m]) >\u{a0}",
            "é{a=\"ü\"} > > 1",
            "rate(x[5m]))",
            "x{a=`b",
            "\u{a0}+",
            "sum by (le) (",
        ];
        for text in odd {
            for (i, _) in text.char_indices().chain([(text.len(), ' ')]) {
                let t = &text[..i];
                if let Err(e) = promql_parser::parser::parse(t) {
                    let l = locate(t, &e);
                    if let Some(r) = l.range {
                        assert!(r.start <= t.len() && r.end <= t.len() + 1, "{t:?}: {r:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn invalid_promql_gets_a_useful_message() {
        let err = parse("sum(rate(x[5m])").unwrap_err();
        assert!(!err.is_empty());
    }
}
