//! PW113 integer-bucket-label: a matcher on a classic histogram's `le` or a summary's
//! `quantile` names a whole number (`le="5"`, `quantile=~"1|0.5"`), which Prometheus 3
//! never stores: it normalizes those values to floats at ingestion (`le="5.0"`).
//!
//! Why: from the upgrade on, the selector matches only the samples scraped before it, so
//! the alert stops firing and the panel goes blank, silently. Prometheus 3.0's migration
//! guide (docs/migration.md, "Miscellaneous" > "`le` and `quantile` label values",
//! v3.0.0) says such references "will stop working" and recommends fixing them.
//!
//! A matcher that holds for both forms (`le=~"5(\\.0)?"`, `le=~"5|5.0"`) is fine on both
//! versions and is not reported; nor are `+Inf`, fractions (`0.5`) and dashboard
//! variables. An error with `--prometheus 3`; a warning when 3 is only assumed; not run
//! with `--prometheus 2`, where these values are still stored as scraped.
//!
//! Example: `histogram_quantile(0.9, rate(http_request_duration_seconds_bucket{le="1"}[5m]))`
//! or `rate(x_bucket{le="5"}[5m]) / rate(x_count[5m]) < 0.9`.

use promql_parser::label::{MatchOp, Matcher};

use super::expr::{selectors, show_matcher};
use super::lint::{Cx, RuleUnit};
use super::regex_lang;
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW113",
    name: "integer-bucket-label",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

fn is_integer(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
}

/// The whole numbers a matcher relies on whose float form (`5.0`) it does not accept.
fn integers(m: &Matcher) -> Vec<String> {
    let values = match m.op {
        MatchOp::Equal | MatchOp::NotEqual => vec![m.value.clone()],
        // The values a regex lists literally (`1` of `1|2.5`).
        MatchOp::Re(_) | MatchOp::NotRe(_) => regex_lang::language(&m.value)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| match a {
                regex_lang::Alt::Exact(s) => Some(s),
                regex_lang::Alt::Prefix(_) => None,
            })
            .collect(),
    };
    values
        .into_iter()
        .filter(|v| is_integer(v))
        .filter(|v| {
            // `!=`/`!~` refuse what they list: the float form must be refused too.
            let float = format!("{v}.0");
            let accepts = m.is_match(&float);
            match m.op {
                MatchOp::Equal | MatchOp::Re(_) => !accepts,
                _ => accepts,
            }
        })
        .collect()
}

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let target = cx.env.knowledge.target;
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    if !target.is_v3() {
        return Vec::new();
    }
    let mut out = Vec::new();
    selectors(ast, &mut |vs| {
        for m in &vs.matchers.matchers {
            if m.name != "le" && m.name != "quantile" {
                continue;
            }
            let ints = integers(m);
            let Some(first) = ints.first() else {
                continue;
            };
            let written = show_matcher(m);
            let at = super::expr::find_word(&rule.expr.text, &written)
                .and_then(|r| rule.expr.sub(r))
                .or_else(|| rule.expr_word(&m.name));
            let effect = if matches!(m.op, MatchOp::Equal | MatchOp::Re(_)) {
                format!(
                    "matches `{first}`, which Prometheus 3 stores as `{first}.0`: the matcher stops matching"
                )
            } else {
                format!(
                    "excludes `{first}`, which Prometheus 3 stores as `{first}.0`: the matcher stops excluding it"
                )
            };
            out.push(
                rule.diag(
                    CODE,
                    target.level(SEVERITY),
                    format!(
                        "`{written}` {effect} after the upgrade ({})",
                        target.words()
                    ),
                    at,
                )
                .label("a whole number Prometheus 3 writes as a float")
                .help(format!(
                    "name both forms, `{}{}\"{first}(\\\\.0)?\"`, which holds on Prometheus 2 and 3",
                    m.name,
                    if matches!(m.op, MatchOp::Equal | MatchOp::Re(_)) { "=~" } else { "!~" }
                )),
            );
        }
    });
    out
}

#[cfg(test)]
mod tests {
    fn ints(src: &str) -> Vec<String> {
        let e = promql_parser::parser::parse(src).unwrap();
        let promql_parser::parser::Expr::VectorSelector(vs) = e else {
            panic!("{src}")
        };
        vs.matchers
            .matchers
            .iter()
            .flat_map(super::integers)
            .collect()
    }

    #[test]
    fn whole_numbers_without_their_float_form() {
        assert_eq!(ints(r#"x_bucket{le="5"}"#), vec!["5"]);
        assert_eq!(ints(r#"x{quantile=~"1|0.5"}"#), vec!["1"]);
        assert_eq!(ints(r#"x_bucket{le!="10"}"#), vec!["10"]);
        assert!(ints(r#"x_bucket{le="5.0"}"#).is_empty());
        assert!(ints(r#"x_bucket{le=~"5(\\.0)?"}"#).is_empty());
        assert!(ints(r#"x_bucket{le=~"5|5.0"}"#).is_empty());
        assert!(ints(r#"x_bucket{le="+Inf"}"#).is_empty());
        assert!(ints(r#"x_bucket{le="0.25"}"#).is_empty());
        assert!(ints(r#"x_bucket{le!~"1(\\.0)?"}"#).is_empty());
        assert_eq!(ints(r#"x_bucket{le=~"1|2.5"}"#), vec!["1"]);
    }
}
