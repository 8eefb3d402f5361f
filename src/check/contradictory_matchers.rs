//! PW110 contradictory-matchers: a selector whose matchers on one label cannot all hold
//! (`job="a", job="b"`; `env="prod", env!="prod"`; `code="200", code=~"5.."`), so it
//! selects nothing, ever.
//!
//! Why: the expression returns an empty result: the alert can never fire and the panel
//! stays blank, with no error anywhere. Usually a copy-paste that kept a stale matcher, or
//! two matchers meant as alternatives (`job=~"a|b"`).
//!
//! Decided from the text alone, for every matcher `label="value"` against the other
//! matchers of the same label (the value must satisfy each). Dashboard queries are left
//! out: their `$variables` hold values only Grafana knows.
//!
//! Example: `up{job="node", job="node-exporter"} == 0`.

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::Expr;

use super::expr::visit;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW110",
    name: "contradictory-matchers",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// The first pair of matchers on one label that no value satisfies together.
pub(crate) fn contradiction(matchers: &[Matcher]) -> Option<(&Matcher, &Matcher)> {
    matchers
        .iter()
        .filter(|m| matches!(m.op, MatchOp::Equal))
        .find_map(|eq| {
            matchers
                .iter()
                .filter(|o| !std::ptr::eq(*o, eq) && o.name == eq.name)
                .find(|o| !o.is_match(&eq.value))
                .map(|o| (eq, o))
        })
}

fn show(m: &Matcher) -> String {
    format!("{}{}\"{}\"", m.name, m.op, m.value)
}

pub(crate) fn check(rule: &RuleUnit, _cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    if !(rule.is_alert() || rule.is_record()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    visit(ast, None, &mut |e, _| {
        let vs = match e {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            _ => return,
        };
        let alternatives: Vec<&[Matcher]> = if vs.matchers.or_matchers.is_empty() {
            vec![&vs.matchers.matchers]
        } else {
            vs.matchers.or_matchers.iter().map(Vec::as_slice).collect()
        };
        for ms in alternatives {
            let Some((a, b)) = contradiction(ms) else {
                continue;
            };
            let what = vs.name.as_deref().unwrap_or("the selector");
            out.push(
                rule.diag(
                    CODE,
                    SEVERITY,
                    format!(
                        "`{what}` can never be selected: `{}` and `{}` cannot both hold",
                        show(a),
                        show(b)
                    ),
                    rule.expr_word(&b.name),
                )
                .label("contradicts another matcher on this label")
                .help(format!(
                    "keep one matcher on `{}`, or write the alternatives as one regex (`{}=~\"a|b\"`)",
                    a.name, a.name
                )),
            );
        }
    });
    out
}

#[cfg(test)]
mod tests {
    fn found(src: &str) -> bool {
        let e = promql_parser::parser::parse(src).unwrap();
        let Expr::VectorSelector(vs) = e else {
            panic!("{src} is not a selector")
        };
        super::contradiction(&vs.matchers.matchers).is_some()
    }
    use promql_parser::parser::Expr;

    #[test]
    fn only_matchers_no_value_satisfies_contradict() {
        assert!(found(r#"up{job="a", job="b"}"#));
        assert!(found(r#"up{env="prod", env!="prod"}"#));
        assert!(found(r#"x{code="200", code=~"5.."}"#));
        assert!(found(r#"x{code="500", code!~"5.."}"#));
        assert!(found(r#"x{pool="", pool=~".+"}"#));
        assert!(!found(r#"up{job="a", job=~"a|b"}"#));
        assert!(!found(r#"up{job="a", instance="b"}"#));
        assert!(!found(r#"up{job=~"a.*", job!~"ab"}"#));
        assert!(!found(r#"up{job="a", job!="b"}"#));
    }
}
