//! PW205 unit-mismatch: an alert's text prints `$value` in a unit the value does not have,
//! judged from the catalog's units. First of all a 0..1 ratio printed as a percentage
//! (`{{ $value }}%` where the expression divides two series of one unit, or a `ratio`
//! metric); also a 0..100 percentage through `humanizePercentage` (which multiplies by 100)
//! and `humanizeDuration` on a value that is not in seconds. Without units (no spec or
//! `--metrics`), an alert `A / B > k` with `0 < k <= 1` counts as a ratio, and a value
//! multiplied by 100 (`100 * active / max > 85`) as a percentage, whatever it multiplies.
//!
//! Why: "Pool at 0.95% utilization" reads as an idle pool when it is nearly exhausted; the
//! on-call engineer trusts the text, not the expression.
//!
//! Example: `expr: (active / size) > 0.9` with
//! `description: "Pool at {{ $value }}% utilization"` — write
//! `{{ $value | humanizePercentage }}`, or multiply the expression by 100.

use super::expr::unparen;
use super::go_template::TokKind;
use super::lint::{Cx, RuleUnit};
use super::typing::{Kind, ValUnit};
use crate::diag::{Code, Diagnostic, Severity};
use crate::model::Unit;
use promql_parser::parser::token::T_DIV;

pub(crate) const CODE: Code = Code {
    code: "PW205",
    name: "unit-mismatch",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

/// An alert condition `A / B > k` with `0 < k <= 1` and the units of A and B unknown:
/// a ratio by every sign but the catalog's.
pub(crate) fn looks_like_ratio(rule: &RuleUnit, cx: &Cx) -> bool {
    use promql_parser::parser::Expr;
    let Ok(ast) = &rule.ast else {
        return false;
    };
    let Expr::Binary(cmp) = unparen(ast) else {
        return false;
    };
    if !cmp.op.is_comparison_operator() {
        return false;
    }
    let (side, k) = match (unparen(&cmp.lhs), unparen(&cmp.rhs)) {
        (e, Expr::NumberLiteral(n)) | (Expr::NumberLiteral(n), e) => (e, n.val),
        _ => return false,
    };
    let Expr::Binary(div) = side else {
        return false;
    };
    if div.op.id() != T_DIV || k <= 0.0 || k > 1.0 {
        return false;
    }
    let vector = |e: &Expr| cx.env.type_of(e).kind != Kind::Scalar;
    let t = cx.env.type_of(side);
    vector(&div.lhs)
        && vector(&div.rhs)
        && t.unit == ValUnit::Unknown
        // `100 * A / B` is a percentage already.
        && t.scale == 1.0
}

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if !rule.is_alert() {
        return out;
    }
    let Some(ty) = cx.type_of(rule) else {
        return out;
    };
    // Typed again only for a `%` after `$value`: most texts have none.
    let ratio = || ty.is_ratio() || looks_like_ratio(rule, cx);
    for (what, key, text, scanned) in rule.templates() {
        for action in &scanned.actions {
            if !action
                .tokens
                .iter()
                .any(|t| t.kind == TokKind::Var && t.text == "$value")
            {
                continue;
            }
            let calls = |f: &str| {
                action
                    .tokens
                    .iter()
                    .any(|t| t.kind == TokKind::Ident && t.text == f)
            };
            let after = text.text[action.range.end..].trim_start();
            let percent_sign = after.starts_with('%');
            let shown = &text.text[action.range.clone()];
            let problem = if percent_sign && !calls("humanizePercentage") && ratio() {
                Some((
                    format!(
                        "{what} `{key}` prints a 0..1 ratio as a percentage: `{shown}%` shows 0.95 as \"0.95%\""
                    ),
                    "a 0..1 ratio, printed with `%`".to_string(),
                    "write `{{ $value | humanizePercentage }}` (it multiplies by 100 and adds `%`), or multiply the expression by 100".to_string(),
                ))
            } else if (ty.is_percent() || ty.scale == 100.0 && ty.unit == ValUnit::Unknown)
                && calls("humanizePercentage")
            {
                Some((
                    format!(
                        "{what} `{key}` passes a 0..100 percentage to `humanizePercentage`, which multiplies by 100 again"
                    ),
                    "already a percentage".to_string(),
                    "write `{{ $value | humanize }}%`".to_string(),
                ))
            } else if calls("humanizeDuration")
                && matches!(ty.unit, ValUnit::Of(u) | ValUnit::PerSecond(u) if u != Unit::Seconds)
            {
                Some((
                    format!(
                        "{what} `{key}` prints the value with `humanizeDuration`, but it is not in seconds"
                    ),
                    "not a duration".to_string(),
                    "use `humanize` for counts and rates".to_string(),
                ))
            } else {
                None
            };
            if let Some((message, label, help)) = problem {
                let end = if percent_sign {
                    action.range.end + (text.text.len() - action.range.end - after.len()) + 1
                } else {
                    action.range.end
                };
                out.push(
                    rule.diag(CODE, SEVERITY, message, text.sub(action.range.start..end))
                        .label(label)
                        .help(help),
                );
            }
        }
    }
    out
}
