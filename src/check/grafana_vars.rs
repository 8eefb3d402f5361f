//! Grafana's variables in panel queries (`$__rate_interval`, `${datasource}`, a dashboard's
//! own `$var`) are not PromQL: they are replaced by values the parser accepts, so a query
//! can be parsed and typed like a rule's expression. The written text keeps the variables.

use super::promql_string;

/// Values substituted for Grafana's built-in variables when parsing panel queries. A name
/// comes before the shorter names it starts with.
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

/// What a dashboard variable stands for outside a range or string: a number (`topk($n,
/// ...)`) or a name (`sum by ($label)`, `$metric{...}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Number,
    Name,
    /// A set operator: `a $op b` with `op` one of `and`, `or`, `unless`.
    Operator,
}

/// Replaces Grafana variables with values PromQL accepts: the built-in ones with sample
/// values, a dashboard's own (`$var`, `${var}`, `${var:csv}`, `[[var]]`) with a duration
/// inside `[...]` or after `offset`, a number elsewhere; inside a string they stay (they
/// are text there).
pub fn substitute(expr: &str) -> String {
    substitute_as(expr, Placeholder::Number)
}

fn substitute_as(expr: &str, mode: Placeholder) -> String {
    let out = substitute_builtin(expr);
    if !out.contains('$') && !out.contains("[[") {
        return out;
    }
    let bytes = out.as_bytes();
    let mut res = String::with_capacity(out.len());
    // Only ASCII bytes are looked at, so the text between them is copied whole, and never
    // split inside a character.
    let mut copied = 0;
    let mut i = 0;
    let mut square = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        // Variables and matchers inside a string are text, not code.
        if let Some(lit) = promql_string::at(bytes, i) {
            i = lit.end;
            continue;
        }
        let var_len = if matches!(c, b'$' | b'[') {
            variable_at(&out[i..])
        } else {
            0
        };
        if var_len > 0 {
            res.push_str(&out[copied..i]);
            let after_offset = res.trim_end().ends_with("offset");
            if square > 0 || after_offset {
                res.push_str("5m");
            } else {
                match mode {
                    Placeholder::Number => res.push('1'),
                    Placeholder::Operator => res.push_str("or"),
                    Placeholder::Name => {
                        res.push_str("grafana_var_");
                        res.extend(
                            out[i..i + var_len]
                                .chars()
                                .filter(|c| c.is_ascii_alphanumeric() || *c == '_'),
                        );
                    }
                }
            }
            i += var_len;
            copied = i;
            continue;
        }
        match c {
            b'[' => square += 1,
            b']' => square = square.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    res.push_str(&out[copied..]);
    res
}

/// The length of a dashboard variable at the start of `s`, or 0.
fn variable_at(s: &str) -> usize {
    let ident = |t: &str| {
        t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(t.len())
    };
    if let Some(rest) = s.strip_prefix("${") {
        return rest.find('}').map_or(0, |e| e + 3);
    }
    if let Some(rest) = s.strip_prefix("[[") {
        let n = ident(rest);
        return if n > 0 && rest[n..].starts_with("]]") {
            n + 4
        } else {
            0
        };
    }
    if let Some(rest) = s.strip_prefix('$') {
        let n = ident(rest);
        return if n > 0 { n + 1 } else { 0 };
    }
    0
}

/// Parses a dashboard query: variables as numbers first, then as names, then as set
/// operators; the first reading that parses wins.
pub(crate) fn parse_query(text: &str) -> Result<promql_parser::parser::Expr, String> {
    let first = substitute_as(text, Placeholder::Number);
    let err = match super::limits::parse(&variable_regexes_as_inequality(&first)) {
        Ok(e) => return Ok(e),
        Err(e) => e,
    };
    if first == substitute_builtin(text) {
        return Err(err);
    }
    for mode in [Placeholder::Name, Placeholder::Operator] {
        let text = variable_regexes_as_inequality(&substitute_as(text, mode));
        if let Ok(e) = super::limits::parse(&text) {
            return Ok(e);
        }
    }
    Err(err)
}

/// A regex matcher whose value is one dashboard variable (`job=~"$job"`, how a
/// multi-value variable selects) becomes `job!="$job"` for parsing. The parser builds a
/// regex for every regex matcher, which made a generated dashboard's queries five times
/// slower to parse; for the checks the two are alike: a matcher on that label that is not
/// an equality (so `absent()` keeps no label from it). Same length: places stay.
fn variable_regexes_as_inequality(expr: &str) -> String {
    let mut out = expr.to_string();
    if !expr.contains('~') {
        return out;
    }
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(lit) = promql_string::at(bytes, i) {
            i = lit.end;
            continue;
        }
        if matches!(c, b'=' | b'!') && bytes.get(i + 1) == Some(&b'~') {
            let rest = expr[i + 2..].trim_start();
            if let Some(lit) = promql_string::at(rest.as_bytes(), 0).filter(|l| l.closed) {
                let value = &rest[1..lit.end - 1];
                if !value.is_empty() && variable_at(value) == value.len() {
                    out.replace_range(i..i + 2, "!=");
                }
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    out
}

/// Only Grafana's built-in variables replaced.
fn substitute_builtin(expr: &str) -> String {
    // One pass over the `$`s, each replaced by the first variable of the list it starts
    // (`$__interval_ms` before `$__interval`); no value holds a `$`.
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let at = &rest[i..];
        match GRAFANA_VARS.iter().find(|(var, _)| at.starts_with(var)) {
            Some((var, value)) => {
                out.push_str(value);
                rest = &at[var.len()..];
            }
            None => {
                out.push('$');
                rest = &at[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_variables_are_read_longest_name_first() {
        assert_eq!(
            substitute_builtin("$__interval_ms/$__interval ${__range}-$__range_s $x $"),
            "60000/1m 1h-3600 $x $"
        );
    }

    #[test]
    fn grafana_variables_are_substituted_for_parsing() {
        let expr = "sum(rate(x_total[$__rate_interval]))";
        assert!(promql_parser::parser::parse(expr).is_err());
        assert!(promql_parser::parser::parse(&substitute(expr)).is_ok());
    }

    #[test]
    fn only_regex_matchers_on_one_variable_are_read_as_inequality() {
        for (query, read) in [
            ("x{job=~\"$job\"}", "x{job!=\"$job\"}"),
            (
                "x{job !~ '${job:regex}', i=~`[[i]]`}",
                "x{job != '${job:regex}', i!=`[[i]]`}",
            ),
            (
                "x{job=~\"$job|a\", p=~\"/api/.+\"}",
                "x{job=~\"$job|a\", p=~\"/api/.+\"}",
            ),
            ("x{a=\"=~\\\"$b\\\"\"}", "x{a=\"=~\\\"$b\\\"\"}"),
        ] {
            assert_eq!(variable_regexes_as_inequality(query), read);
        }
        assert!(parse_query("sum by (job) (x{job=~\"$job\", instance=~\"$instance\"})").is_ok());
    }

    #[test]
    fn dashboard_variables_parse_where_they_stand() {
        for q in [
            "topk($topk, sum by (pod) (rate(x_total{ns=~\"$ns\"}[$__rate_interval])))",
            "sum by ($label) (x)",
            "$metric{job=\"a\"}",
            "rate(x_total[${window}] offset $shift)",
            "histogram_quantile([[q]], sum by (le) (rate(x_bucket[5m])))",
            "a{x=\"1\"} $op on (entity) b == 0",
            "rate(x_total{path=~\"/api/[a-z]+\"}[5m])",
        ] {
            assert!(parse_query(q).is_ok(), "{q}: {:?}", parse_query(q));
        }
    }
}
