//! Walking parsed PromQL for the checks: every node with its parent, the thresholds an
//! expression compares with, the calls of named functions, and where a word stands in
//! the expression's text. Plain syntax: what the expressions mean is [`super::typing`]'s.

use promql_parser::label::Matcher;
use promql_parser::parser::token::{T_EQLC, T_GTE, T_GTR, T_LSS, T_LTE};
use promql_parser::parser::{Call, Expr, VectorSelector};

/// Visits every node, parents before children, with each node's parent.
pub(crate) fn visit<'a>(
    e: &'a Expr,
    parent: Option<&'a Expr>,
    f: &mut impl FnMut(&'a Expr, Option<&'a Expr>),
) {
    f(e, parent);
    match e {
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                visit(p, Some(e), f);
            }
            visit(&a.expr, Some(e), f);
        }
        Expr::Unary(u) => visit(&u.expr, Some(e), f),
        Expr::Binary(b) => {
            visit(&b.lhs, Some(e), f);
            visit(&b.rhs, Some(e), f);
        }
        Expr::Paren(p) => visit(&p.expr, Some(e), f),
        Expr::Subquery(s) => visit(&s.expr, Some(e), f),
        Expr::Call(c) => {
            for a in &c.args.args {
                visit(a, Some(e), f);
            }
        }
        _ => {}
    }
}

/// Visits every selector: vector selectors and those of range selectors.
pub(crate) fn selectors<'a>(e: &'a Expr, f: &mut impl FnMut(&'a VectorSelector)) {
    visit(e, None, &mut |n, _| match n {
        Expr::VectorSelector(vs) => f(vs),
        Expr::MatrixSelector(ms) => f(&ms.vs),
        _ => {}
    });
}

/// A matcher as it is usually written: `job=~"a.*"`.
pub(crate) fn show_matcher(m: &Matcher) -> String {
    format!("{}{}\"{}\"", m.name, m.op, m.value)
}

/// A filter comparing an expression with a number, read with the expression on the left:
/// `5 < x` is `x > 5`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Threshold<'a> {
    pub(crate) expr: &'a Expr,
    /// `>`, `>=`, `<`, `<=`, `==` or `!=`.
    pub(crate) op: &'static str,
    pub(crate) value: f64,
}

/// Every comparison of an expression with a number literal (not `bool`), outermost first.
pub(crate) fn thresholds(e: &Expr) -> Vec<Threshold<'_>> {
    let mut out = Vec::new();
    visit(e, None, &mut |n, _| {
        let Expr::Binary(b) = n else {
            return;
        };
        if !b.op.is_comparison_operator() || b.return_bool() {
            return;
        }
        let op = match b.op.id() {
            T_GTR => ">",
            T_GTE => ">=",
            T_LSS => "<",
            T_LTE => "<=",
            T_EQLC => "==",
            _ => "!=",
        };
        let flip = |op| match op {
            ">" => "<",
            ">=" => "<=",
            "<" => ">",
            "<=" => ">=",
            o => o,
        };
        match (unparen(&b.lhs), unparen(&b.rhs)) {
            (x, Expr::NumberLiteral(k)) if !matches!(x, Expr::NumberLiteral(_)) => {
                out.push(Threshold {
                    expr: x,
                    op,
                    value: k.val,
                })
            }
            (Expr::NumberLiteral(k), x) if !matches!(x, Expr::NumberLiteral(_)) => {
                out.push(Threshold {
                    expr: x,
                    op: flip(op),
                    value: k.val,
                })
            }
            _ => {}
        }
    });
    out
}

/// Every call of one of `names` in an expression, outermost first.
pub(crate) fn calls<'a>(e: &'a Expr, names: &[&str]) -> Vec<&'a Call> {
    let mut out = Vec::new();
    visit(e, None, &mut |n, _| {
        if let Expr::Call(c) = n
            && names.contains(&c.func.name)
        {
            out.push(c);
        }
    });
    out
}

/// Strips parentheses.
pub(crate) fn unparen(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// The metric name of a selector (vector or matrix), if it names one.
pub(crate) fn selector_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::VectorSelector(vs) => vs.name.as_deref(),
        Expr::MatrixSelector(ms) => ms.vs.name.as_deref(),
        _ => None,
    }
}

/// The byte range of `name` in `text` as a whole word (not part of a longer name).
pub(crate) fn find_word(text: &str, name: &str) -> Option<std::ops::Range<usize>> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut from = 0;
    while let Some(i) = text[from..].find(name) {
        let start = from + i;
        let end = start + name.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(is_name) && !after.is_some_and(is_name) {
            return Some(start..end);
        }
        from = start + name.len().max(1);
    }
    None
}

/// `text` with every whole word `old` replaced by `new`.
pub(crate) fn rename_word(text: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(text.len() + new.len());
    let mut rest = text;
    while let Some(r) = find_word(rest, old) {
        out.push_str(&rest[..r.start]);
        out.push_str(new);
        rest = &rest[r.end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod rename_tests {
    #[test]
    fn only_whole_words_are_renamed() {
        assert_eq!(
            super::rename_word(
                "holt_winters(x[1h], 0.3, 0.3) + my_holt_winters",
                "holt_winters",
                "double_exponential_smoothing"
            ),
            "double_exponential_smoothing(x[1h], 0.3, 0.3) + my_holt_winters"
        );
    }
}
