//! PW101 promql-syntax: every expression must parse.
//!
//! Why: promtool and Grafana would reject it at deploy or render time; we want the error
//! before anything is written, naming the rule or panel. Grafana's variables
//! (`$__rate_interval`, `${datasource}`) are not PromQL, so panel targets are checked with
//! them replaced by sample values; the written text keeps the variables.

use crate::diag::{Code, Diagnostic};
use crate::render::grafana::{self, Dashboard};
use crate::render::prometheus::RuleFile;

pub const CODE: Code = Code {
    code: "PW101",
    name: "promql-syntax",
};

/// Values substituted for Grafana's built-in variables when parsing panel queries.
const GRAFANA_VARS: [(&str, &str); 8] = [
    ("$__rate_interval", "5m"),
    ("${__rate_interval}", "5m"),
    ("$__interval_ms", "60000"),
    ("$__interval", "1m"),
    ("${__interval}", "1m"),
    ("$__range_s", "3600"),
    ("$__range", "1h"),
    ("${__range}", "1h"),
];

/// Replaces Grafana variables with values PromQL accepts.
pub fn substitute_grafana_vars(expr: &str) -> String {
    let mut out = expr.to_string();
    for (var, value) in GRAFANA_VARS {
        out = out.replace(var, value);
    }
    out
}

/// Parses one expression, giving a clearer message than the parser's when it can.
pub fn parse(expr: &str) -> Result<promql_parser::parser::Expr, String> {
    promql_parser::parser::parse(expr).map_err(|e| {
        if e.trim() == "invalid promql query" {
            "the expression is not valid PromQL (check brackets, quotes and operators)".into()
        } else {
            e
        }
    })
}

pub fn check_rules(rules: &RuleFile) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for group in &rules.groups {
        for rule in &group.rules {
            if let Err(e) = parse(&rule.expr) {
                diags.push(
                    Diagnostic::error(CODE, format!("PromQL does not parse: {e}"))
                        .object(format!("{} in group {}", rule.describe(), group.name))
                        .at(rule.origin.span.clone())
                        .help(format!("expression: {}", rule.expr)),
                );
            }
        }
    }
    diags
}

pub fn check_dashboard(d: &Dashboard) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for panel in grafana::all_panels(d) {
        for t in &panel.targets {
            if let Err(e) = parse(&substitute_grafana_vars(&t.expr)) {
                diags.push(
                    Diagnostic::error(CODE, format!("PromQL does not parse: {e}"))
                        .object(format!(
                            "panel \"{}\" (id {}), target {}",
                            panel.title, panel.id, t.ref_id
                        ))
                        .help(format!("expression: {}", t.expr)),
                );
            }
        }
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafana_variables_are_substituted_for_parsing() {
        let expr = "sum(rate(x_total[$__rate_interval]))";
        assert!(promql_parser::parser::parse(expr).is_err());
        assert!(parse(&substitute_grafana_vars(expr)).is_ok());
    }

    #[test]
    fn invalid_promql_gets_a_useful_message() {
        let err = parse("sum(rate(x[5m])").unwrap_err();
        assert!(!err.is_empty());
    }
}
