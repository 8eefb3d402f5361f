//! A generated dashboard's queries made concrete for a real Prometheus: every panel
//! target's `expr`, with Grafana's variables replaced as its "All" and interval values would.
use serde_json::Value;

use super::e2e_support::{RATE_WINDOW, TICK};

/// Every `expr` of every panel target, nested rows included.
pub(crate) fn dashboard_exprs(dashboard: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(e)) = m.get("expr") {
                    out.push(e.clone());
                }
                m.values().for_each(|v| walk(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// A Grafana query made concrete: interval variables become a window Prometheus has data
/// for, any other variable (`$datasource`, identity variables like `$instance` or
/// `${database}`) the regex `.*`, which matches every value as Grafana's "All" does;
/// `"$1"` in label_replace stays.
pub(crate) fn grafana_substitute(expr: &str) -> String {
    let mut out = expr
        .replace("$__rate_interval", RATE_WINDOW)
        .replace("${__rate_interval}", RATE_WINDOW)
        .replace("$__interval", TICK)
        .replace("${__interval}", TICK)
        .replace("$__range", "1m")
        .replace("${__range}", "1m");
    // Remaining `$name` / `${name}` / `${name:regex}` variables.
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find('$') {
        result.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        // `$1` (label_replace's capture group) is not a variable: names start with a
        // letter or `_`.
        let skip = if let Some(inner) = after.strip_prefix('{') {
            inner.find('}').map_or(0, |j| j + 2)
        } else if !after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            0
        } else {
            after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len())
        };
        if skip == 0 {
            result.push('$');
        } else {
            result.push_str(".*");
        }
        rest = &after[skip..];
    }
    result.push_str(rest);
    out = result;
    out
}
