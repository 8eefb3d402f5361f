//! What Prometheus prints for the annotation templates poolwatch writes, so generated unit
//! tests can expect the exact text: `{{ $value }}`, `{{ $value | humanize }}`,
//! `humanizePercentage`, `humanizeDuration`, `{{ $labels.name }}` and the `{{ "{{" }}` escape.
//! Any other action is refused rather than guessed.
//!
//! The number formats follow Prometheus's `template.go` and Go's `fmt` (`%v`, `%.4g`).

use std::collections::BTreeMap;

use crate::check::go_template::{self, TokKind};

/// Expands an annotation template as Prometheus does for an alert with this value and
/// these labels (the labels of the alert expression's sample). The actions are found by the
/// same Go-template lexer the checks use (`check::go_template::scan`), so a `}}` inside a string
/// is read as Go reads it.
pub fn expand(text: &str, value: f64, labels: &BTreeMap<String, String>) -> Result<String, String> {
    let scanned = go_template::scan(text);
    if let Some((_, e)) = scanned.errors.first() {
        return Err(format!("{e} in `{text}`"));
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for a in &scanned.actions {
        out.push_str(plain(text, copied..a.range.start)?);
        out.push_str(&action(text, a, value, labels)?);
        copied = a.range.end;
    }
    out.push_str(plain(text, copied..text.len())?);
    Ok(out)
}

/// Text between actions, printed as it is. A `{{` in it opens a comment the lexer passed
/// over, which Go drops (and may trim around): refused rather than guessed.
fn plain(text: &str, range: std::ops::Range<usize>) -> Result<&str, String> {
    let between = &text[range];
    if between.contains("{{") {
        return Err(format!("unsupported template comment in `{text}`"));
    }
    Ok(between)
}

fn action(
    text: &str,
    a: &go_template::Action,
    value: f64,
    labels: &BTreeMap<String, String>,
) -> Result<String, String> {
    let whole = &text[a.range.clone()];
    let unsupported = || format!("unsupported template action `{whole}`");
    // Trim markers (`{{-`, `-}}`) eat the text around the action: not written by poolwatch.
    if whole.starts_with("{{-") || whole.ends_with("-}}") {
        return Err(unsupported());
    }
    let words: Vec<(TokKind, &str)> = a.tokens.iter().map(|t| (t.kind, t.text.as_str())).collect();
    match words.as_slice() {
        [(TokKind::Str, s)] => {
            let lit = s.strip_prefix('"').and_then(|s| s.strip_suffix('"'));
            match lit {
                Some(lit) if !lit.contains(['"', '\\']) => Ok(lit.to_string()),
                _ => Err(unsupported()),
            }
        }
        // A label the alert lacks prints empty: Prometheus expands templates with
        // `missingkey=zero`, and a map of strings has "" as its zero value.
        [(TokKind::Var, v)] if v.starts_with("$labels.") => {
            let name = &v["$labels.".len()..];
            Ok(labels.get(name).cloned().unwrap_or_default())
        }
        // `printf "%.4g" $value`: a number with four significant digits and no SI prefix,
        // for values printed with an explicit unit (`0.01/s`).
        [
            (TokKind::Ident, "printf"),
            (TokKind::Str, "\"%.4g\""),
            (TokKind::Var, "$value"),
        ] => Ok(g4(value)),
        [(TokKind::Var, "$value")] => Ok(go_value(value)),
        [
            (TokKind::Var, "$value"),
            (TokKind::Punct, "|"),
            (TokKind::Ident, f),
        ] => match *f {
            "humanize" => Ok(humanize(value)),
            "humanizePercentage" => Ok(humanize_percentage(value)),
            "humanizeDuration" => Ok(humanize_duration(value)),
            _ => Err(unsupported()),
        },
        _ => Err(unsupported()),
    }
}

/// Go's `%v` of a float64 (shortest digits, exponent form below 1e-4 and from 1e6).
pub(crate) fn go_value(v: f64) -> String {
    go_g(v, None)
}

/// Go's `%.4g`.
pub(crate) fn g4(v: f64) -> String {
    go_g(v, Some(4))
}

/// `humanize`: SI prefixes, four significant digits.
pub(crate) fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        (v, prefix) = small_prefix(v);
    }
    format!("{}{prefix}", g4(v))
}

/// Scales a value below 1 up by thousands, with the SI prefix that undoes it.
fn small_prefix(mut v: f64) -> (f64, &'static str) {
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    (v, prefix)
}

/// `humanizePercentage`: a 0..1 ratio in percent, four significant digits.
pub(crate) fn humanize_percentage(v: f64) -> String {
    format!("{}%", g4(v * 100.0))
}

/// `humanizeDuration`: seconds as `1d 2h 3m 4s`, or `1.5s`, `250ms` below a minute.
pub(crate) fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        // Go's int64(v) truncates.
        #[allow(clippy::cast_possible_truncation)]
        let d = v as i64;
        let (seconds, minutes, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", g4(v))
        };
    }
    let (v, prefix) = small_prefix(v);
    format!("{}{prefix}s", g4(v))
}

/// Go's `%g` with a precision (`%.4g`), or `%v` (shortest) when `prec` is None.
fn go_g(v: f64, prec: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    // Rust's `{:e}` gives the same decimal digits as Go: shortest round-trip, or correctly
    // rounded to a number of significant digits.
    let sci = match prec {
        Some(p) => format!("{:.*e}", p.saturating_sub(1), v.abs()),
        None => format!("{:e}", v.abs()),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let nd = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let dp = exp + 1;
    let eprec = match prec {
        // Shortest form: Go switches to the exponent form from 1e+06.
        None => 6,
        Some(p) => {
            let p = i32::try_from(p).unwrap_or(i32::MAX);
            if p > nd && nd >= dp { nd } else { p }
        }
    };
    let sign = if v.is_sign_negative() && v != 0.0 {
        "-"
    } else {
        ""
    };
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let body = if dp <= 0 {
        format!("0.{}{digits}", "0".repeat(dp.unsigned_abs() as usize))
    } else if dp >= nd {
        format!("{digits}{}", "0".repeat((dp - nd) as usize))
    } else {
        let (int, frac) = digits.split_at(dp as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        assert_eq!(g4(95.00000000000001), "95");
        assert_eq!(g4(95.5), "95.5");
        assert_eq!(g4(1000.0), "1000");
        assert_eq!(g4(12345.0), "1.234e+04");
        assert_eq!(g4(0.0), "0");
        assert_eq!(g4(6.666666), "6.667");
        assert_eq!(g4(0.00001234), "1.234e-05");
        assert_eq!(go_value(0.0), "0");
        assert_eq!(go_value(2.5), "2.5");
        assert_eq!(go_value(3.0), "3");
        assert_eq!(go_value(1e6), "1e+06");
        assert_eq!(go_value(123456.0), "123456");
        assert_eq!(go_value(-0.5), "-0.5");
    }

    #[test]
    fn humanizers_match_prometheus() {
        assert_eq!(humanize(0.01), "10m");
        assert_eq!(humanize(2.0 / 300.0), "6.667m");
        assert_eq!(humanize(1234.0), "1.234k");
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize_percentage(0.95), "95%");
        assert_eq!(humanize_percentage(0.975), "97.5%");
        assert_eq!(humanize_duration(10.0), "10s");
        assert_eq!(humanize_duration(7.5), "7.5s");
        assert_eq!(humanize_duration(90.0), "1m 30s");
        assert_eq!(humanize_duration(0.25), "250ms");
        assert_eq!(humanize_duration(0.0), "0s");
    }

    #[test]
    fn expands_the_actions_poolwatch_writes() {
        let labels = BTreeMap::from([("namespace".to_string(), "prod".to_string())]);
        let text =
            "Pool ({{ $labels.namespace }}) at {{ $value | humanizePercentage }}, {{ \"{{\" }} x";
        assert_eq!(
            expand(text, 0.95, &labels).unwrap(),
            "Pool (prod) at 95%, {{ x"
        );
        // Prometheus expands with missingkey=zero: a label the alert lacks prints empty
        // (promtool 2.42 agrees).
        assert_eq!(
            expand("[{{ $labels.missing }}]", 1.0, &labels).unwrap(),
            "[]"
        );
        assert_eq!(
            expand("{{ printf \"%.4g\" $value }}/s", 2.0 / 300.0, &labels).unwrap(),
            "0.006667/s"
        );
        assert!(expand("{{ printf \"%d\" $value }}", 1.0, &labels).is_err());
        assert!(expand("{{ range . }}", 1.0, &labels).is_err());
        // The lexer reads strings as Go does: a `}}` inside one does not close the action.
        assert_eq!(expand("{{ \"}}\" }}!", 1.0, &labels).unwrap(), "}}!");
        assert!(expand("{{- $value }}", 1.0, &labels).is_err());
        assert!(expand("a {{/* note */}} b", 1.0, &labels).is_err());
        assert!(expand("{{ $value", 1.0, &labels).is_err());
    }
}
