//! The one way PromQL text is parsed (`parse`), with a bound on how deep its tree can be.
//!
//! Why: rule files and dashboards come from strangers (a pull request), and every walk over
//! a parsed expression (typing, the checks, dropping the tree) recurses once per level of
//! it. `up + up + … + up` with 5,000 terms is 5,000 levels deep: enough to overflow a
//! thread's stack and abort the process. Before parsing, one linear scan of the text gives
//! an upper bound on the depth of the tree the parser would build; above [`MAX_DEPTH`]
//! the expression is not parsed, and the rule or panel gets a located PW050 diagnostic
//! instead. Nothing else in the checks needs its own guard: every tree they walk comes from
//! here.

use promql_parser::parser::Expr;

use super::promql_string;
use crate::diag::Code;

/// PW050 expression-too-deep (documented in docs/errors.md, not a check: it cannot be
/// turned off, the expression is not read at all).
pub(crate) const CODE: Code = Code {
    code: "PW050",
    name: "expression-too-deep",
};

/// The deepest expression tree poolwatch reads. Hand-written rules and panel queries nest
/// far less: none of 2,334 public rules (kube-prometheus, awesome-prometheus-alerts, the
/// monitoring mixins) and 342 public dashboards reaches it. Every walk over the tree stays
/// within a 2 MiB thread stack at this depth, even in a debug build (tested just under
/// the limit, `hostile_input::expressions_at_the_depth_limit_are_checked`).
pub(crate) const MAX_DEPTH: usize = 256;

/// An expression refused before parsing: the bound found and where the deepest point is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooDeep {
    /// The upper bound on the tree's depth, in levels.
    pub(crate) depth: usize,
    /// Byte offset in the text where the bound first exceeded [`MAX_DEPTH`].
    pub(crate) at: usize,
}

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the expression nests at least {} levels deep (operators in a chain, brackets, \
             function calls), more than the {MAX_DEPTH} poolwatch reads",
            self.depth.min(MAX_DEPTH + 1)
        )
    }
}

/// Parses PromQL text, refusing (without parsing) a tree deeper than [`MAX_DEPTH`].
pub(crate) fn parse(text: &str) -> Result<Expr, String> {
    match too_deep(text) {
        Some(t) => Err(t.to_string()),
        None => promql_parser::parser::parse(text),
    }
}

/// One bracket level of the scan: the operators met at this level, and the deepest bound
/// of the bracket levels closed inside it (a level is at most `ops + inner + 1` deep).
#[derive(Default)]
struct Level {
    ops: usize,
    inner: usize,
    /// `{...}`: label matchers, whose `=`, `!=` and `=~` build no tree.
    matchers: bool,
}

/// An upper bound on the depth of the tree `text` parses to, when it exceeds
/// [`MAX_DEPTH`]. Every node of the tree comes from an operator token (binary, unary, a
/// subquery's `[`) at its bracket level or from a bracket (call, aggregation, parentheses,
/// range): a level's tree is at most its operators deep above the deepest bracket inside
/// it, plus the bracket itself. Strings and comments are skipped. Linear in the text.
pub(crate) fn too_deep(text: &str) -> Option<TooDeep> {
    let b = text.as_bytes();
    let mut stack = vec![Level::default()];
    // The deepest the current point can be: the sum over the open levels of their
    // operators so far, the deepest bracket closed inside each, and one for each level.
    let mut depth = 1;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let top = stack.len() - 1;
        match c {
            b'"' | b'\'' | b'`' => {
                // To the closing quote (the end of the text if none): `i += 1` below steps
                // past it.
                i = promql_string::at(b, i).map_or(i, |lit| lit.end - 1);
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                // A subquery or range wraps what precedes it, like a postfix operator.
                if c == b'[' {
                    stack[top].ops += 1;
                    depth += 1;
                }
                stack.push(Level {
                    matchers: c == b'{',
                    ..Level::default()
                });
                depth += 1;
            }
            b')' | b']' | b'}' if top > 0 => {
                let closed = stack.pop().map_or(0, |l| l.ops + l.inner + 1);
                let parent = &mut stack[top - 1];
                let inner = parent.inner.max(closed);
                depth = depth - closed - parent.inner + inner;
                parent.inner = inner;
            }
            _ if stack[top].matchers => {}
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'<' | b'>' => {
                stack[top].ops += 1;
                depth += 1;
            }
            b'=' | b'!' if b.get(i + 1) == Some(&b'=') => {
                stack[top].ops += 1;
                depth += 1;
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b':')) {
                    i += 1;
                }
                let word = &text[start..i];
                if ["and", "or", "unless", "atan2"]
                    .iter()
                    .any(|k| word.eq_ignore_ascii_case(k))
                {
                    stack[top].ops += 1;
                    depth += 1;
                }
                i -= 1;
            }
            _ => {}
        }
        if depth > MAX_DEPTH {
            return Some(TooDeep {
                depth,
                at: i.min(text.len()),
            });
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real depth of a parsed tree, counted without recursion.
    fn depth(e: &Expr) -> usize {
        let mut deepest = 0;
        let mut todo = vec![(e, 1)];
        while let Some((e, d)) = todo.pop() {
            deepest = deepest.max(d);
            let kids: Vec<&Expr> = match e {
                Expr::Aggregate(a) => [Some(&*a.expr), a.param.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect(),
                Expr::Unary(u) => vec![&*u.expr],
                Expr::Binary(b) => vec![&*b.lhs, &*b.rhs],
                Expr::Paren(p) => vec![&*p.expr],
                Expr::Subquery(s) => vec![&*s.expr],
                Expr::Call(c) => c.args.args.iter().map(|a| &**a).collect(),
                Expr::Extension(_)
                | Expr::NumberLiteral(_)
                | Expr::StringLiteral(_)
                | Expr::VectorSelector(_)
                | Expr::MatrixSelector(_) => vec![],
            };
            todo.extend(kids.into_iter().map(|k| (k, d + 1)));
        }
        deepest
    }

    #[test]
    fn the_bound_is_never_below_the_real_depth() {
        let shapes: [(&str, &str, &str); 8] = [
            ("up", " + up", ""),
            ("(", "(", "up))"),
            ("abs(", "abs(", "up))"),
            ("sum(", "sum(", "up))"),
            ("-", "-", "up"),
            ("up", " or on(job) up", ""),
            ("max_over_time((up", " > 1", ")[5m:])"),
            ("1", " ^ 2", ""),
        ];
        for (head, rep, tail) in shapes {
            for n in [1, 2, 10, 100, 200, 300] {
                let text = format!("{head}{}{tail}", rep.repeat(n));
                let text = if head.ends_with('(') {
                    format!("{head}{}up{}", rep.repeat(n), ")".repeat(n + 1))
                } else {
                    text
                };
                match parse(&text) {
                    Ok(e) => assert!(depth(&e) <= MAX_DEPTH, "{text}: {}", depth(&e)),
                    Err(msg) if too_deep(&text).is_some() => {
                        assert!(msg.contains("levels deep"), "{msg}");
                        // Refused: the real tree would have been deep too (not only long).
                        let real = promql_parser::parser::parse(&text);
                        if let Ok(e) = &real {
                            assert!(depth(e) * 2 > MAX_DEPTH, "{text}: refused at {}", depth(e));
                        }
                        std::mem::forget(real);
                    }
                    Err(msg) => panic!("{text}: {msg}"),
                }
            }
        }
    }

    #[test]
    fn wide_but_shallow_expressions_are_read() {
        let many_labels: Vec<String> = (0..5000).map(|i| format!("l{i}=\"a==b\"")).collect();
        let text = format!("up{{{}}} > 1", many_labels.join(", "));
        assert!(parse(&text).is_ok());
        let by: Vec<String> = (0..5000).map(|i| format!("l{i}")).collect();
        assert!(parse(&format!("sum by ({}) (up)", by.join(", "))).is_ok());
        let sums: Vec<&str> = vec!["sum(rate(x_total[5m]))"; 200];
        // 199 operators in one chain, each operand two brackets deep.
        assert!(too_deep(&sums.join(" + ")).is_none());
        assert!(parse("up # a comment with + + + ((((\n > 1").is_ok());
        assert!(too_deep(&format!("{}up", "-".repeat(MAX_DEPTH))).is_some());
        assert!(too_deep(&format!("{}up", "-".repeat(MAX_DEPTH - 1))).is_none());
    }
}
