//! PW110 contradictory-matchers: a selector whose matchers on one label cannot all hold
//! (`job="a", job="b"`; `env="prod", env!="prod"`; `code="200", code=~"5.."`), so it
//! selects nothing, ever.
//!
//! Why: the expression returns an empty result: the alert can never fire and the panel
//! stays blank, with no error anywhere. Usually a copy-paste that kept a stale matcher, or
//! two matchers meant as alternatives (`job=~"a|b"`).
//!
//! Decided from the text alone, for every matcher `label="value"` against the other
//! matchers of the same label (the value must satisfy each), and for two regexes on one
//! label where what they match can be said exactly: a finite alternation (`a|b`, `5[02]3`,
//! whose every value the other matcher's own regex refuses) or literal prefixes that never
//! nest (`job=~"api-.*", job=~"web-.*"`). Any other regex (`.*-api`, `[a-z]+`) is left
//! alone: no finding rather than a wrong one. Dashboard queries are left out: their
//! `$variables` hold values only Grafana knows.
//!
//! Example: `up{job="node", job="node-exporter"} == 0`.

use promql_parser::label::{MatchOp, Matcher};

use super::expr::{selectors, show_matcher};
use super::lint::{Cx, RuleUnit};
use super::regex_lang;
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW110",
    name: "contradictory-matchers",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// The values a matcher allows, when they are few: `=`'s one value, or a regex that is a
/// finite alternation (`a|b`, `5[02]3`).
fn few_values(m: &Matcher) -> Option<Vec<String>> {
    match m.op {
        MatchOp::Equal => Some(vec![m.value.clone()]),
        MatchOp::Re(_) => {
            let lang = regex_lang::language(&m.value)?;
            Some(
                regex_lang::strings(&lang)?
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            )
        }
        _ => None,
    }
}

/// The first pair of matchers on one label that no value satisfies together: the few
/// values one allows are each refused by the other (asked of the other's own regex), or
/// two regexes allow strings with prefixes that never nest (`a.*` and `b.*`).
pub(crate) fn contradiction(matchers: &[Matcher]) -> Option<(&Matcher, &Matcher)> {
    fn same<'m>(matchers: &'m [Matcher], a: &'m Matcher) -> impl Iterator<Item = &'m Matcher> {
        matchers
            .iter()
            .filter(move |o| !std::ptr::eq(*o, a) && o.name == a.name)
    }
    // Most selectors match each label once: nothing to compare, nothing computed.
    let shared: Vec<&Matcher> = matchers
        .iter()
        .filter(|m| same(matchers, m).next().is_some())
        .collect();
    for &a in &shared {
        if let Some(values) = few_values(a)
            && let Some(o) = same(matchers, a).find(|o| values.iter().all(|v| !o.is_match(v)))
        {
            return Some((a, o));
        }
    }
    let regexes: Vec<(&Matcher, Vec<regex_lang::Alt>)> = shared
        .iter()
        .filter(|m| matches!(m.op, MatchOp::Re(_)))
        .filter_map(|m| Some((*m, regex_lang::language(&m.value)?)))
        .collect();
    regexes.iter().enumerate().find_map(|(i, (a, la))| {
        regexes[i + 1..]
            .iter()
            .find(|(b, lb)| b.name == a.name && regex_lang::disjoint(la, lb))
            .map(|(b, _)| (*a, *b))
    })
}

pub(crate) fn check(rule: &RuleUnit, _cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    if !(rule.is_alert() || rule.is_record()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    selectors(ast, &mut |vs| {
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
                        show_matcher(a),
                        show_matcher(b)
                    ),
                    // On the matcher as written, when it is (not a `by (...)` of its label).
                    super::expr::find_word(&rule.expr.text, &show_matcher(b))
                        .and_then(|r| rule.expr.sub(r.start..r.start + b.name.len()))
                        .or_else(|| rule.expr_word(&b.name)),
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
    use promql_parser::parser::Expr;

    fn found(src: &str) -> bool {
        let e = promql_parser::parser::parse(src).unwrap();
        let Expr::VectorSelector(vs) = e else {
            panic!("{src} is not a selector")
        };
        super::contradiction(&vs.matchers.matchers).is_some()
    }

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
        // Two regexes: finite alternations and literal prefixes.
        assert!(found(r#"up{job=~"a.*", job=~"b.*"}"#));
        assert!(found(r#"up{job=~"api|web", job=~"db-.+"}"#));
        assert!(found(r#"up{code=~"5..", code=~"2[0-9]{2}"}"#));
        assert!(found(r#"up{job=~"a|b", job!~"a|b"}"#));
        assert!(!found(r#"up{job=~"a.*", job=~"ab.*"}"#));
        assert!(!found(r#"up{job=~".*a", job=~"b.*"}"#));
        assert!(!found(r#"up{job=~"[a-z]+", job=~"b.*"}"#));
        assert!(!found(r#"up{job=~"a|b", job!~"a"}"#));
    }
}
