//! PW211 percent-sign: an alert's text writes `%` after a value that is not a percentage:
//! after `humanizePercentage` (which adds its own `%`), or after a value whose unit is
//! known to be something else (seconds, bytes, a per-second rate, a count).
//!
//! Why: "Disk latency at 0.25%" when the value is 0.25 seconds, or "95%%", sends the
//! reader the wrong way. PW205 covers the 0..1 ratio printed with `%`; this check covers
//! the rest.
//!
//! Example: `description: "p99 latency {{ $value | humanizePercentage }}%"`, or
//! `"{{ $value }}% of requests"` over `rate(http_requests_total[5m])` (requests per second).

use super::go_template::TokKind;
use super::lint::{Cx, RuleUnit};
use super::typing::ValUnit;
use crate::diag::{Code, Diagnostic, Severity};
use crate::model::Unit;

pub(crate) const CODE: Code = Code {
    code: "PW211",
    name: "percent-sign",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if !rule.is_alert() {
        return out;
    }
    let Some(ty) = cx.type_of(rule) else {
        return out;
    };
    // The value's unit, when known and neither a ratio (PW205) nor a percentage.
    let other_unit = match ty.unit {
        ValUnit::Of(Unit::Ratio | Unit::Percent) | ValUnit::Unknown => None,
        _ if ty.scale != 1.0 => None,
        ValUnit::Of(Unit::Seconds) => Some("seconds"),
        ValUnit::Of(Unit::Bytes) => Some("bytes"),
        ValUnit::Of(Unit::Connections) => Some("connections"),
        ValUnit::Of(Unit::Events) | ValUnit::Number => None,
        ValUnit::PerSecond(_) => Some("a per-second rate"),
    };
    for (what, key, text, scanned) in rule.templates() {
        for action in &scanned.actions {
            let reads_value = action
                .tokens
                .iter()
                .any(|t| t.kind == TokKind::Var && t.text == "$value");
            if !reads_value || !text.text[action.range.end..].starts_with('%') {
                continue;
            }
            let humanized = action
                .tokens
                .iter()
                .any(|t| t.kind == TokKind::Ident && t.text == "humanizePercentage");
            let shown = &text.text[action.range.clone()];
            let (message, help) = if humanized {
                (
                    format!(
                        "{what} `{key}` writes `%` after `humanizePercentage`, which adds its own: `{shown}%` prints \"95%%\""
                    ),
                    "drop the `%` after the action".to_string(),
                )
            } else if let Some(unit) = other_unit {
                (
                    format!("{what} `{key}` writes `{shown}%`, but the value is in {unit}, not a percentage"),
                    "print the value in its unit (`humanizeDuration` for seconds, `humanize1024` for bytes, `humanize` otherwise)".to_string(),
                )
            } else {
                continue;
            };
            out.push(
                rule.diag(
                    CODE,
                    SEVERITY,
                    message,
                    text.sub(action.range.start..action.range.end + 1),
                )
                .label("not a percentage")
                .help(help),
            );
        }
    }
    out
}
