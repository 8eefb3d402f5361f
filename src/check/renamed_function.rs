//! PW115 renamed-function: `holt_winters` on Prometheus 3, which removed it, or its new
//! name `double_exponential_smoothing` on Prometheus 2, which never had it (and on 3 only
//! behind a feature flag).
//!
//! Why: Prometheus refuses to load a rule file with an unknown function, which takes every
//! rule of the file down at the next reload, and a dashboard panel using one shows an
//! error. Prometheus 3.0's migration guide (docs/migration.md, "PromQL" > "holt_winters
//! function renamed", v3.0.0) renamed the function and put it behind
//! `--enable-feature=promql-experimental-functions`.
//!
//! An error when `--prometheus` gives the version the file cannot run on; a warning when 3
//! is only assumed, or when the new name only needs the feature flag on 3. The fix on 3:
//! rename to `double_exponential_smoothing` (same arguments) and enable the flag; on 2,
//! keep `holt_winters`.
//!
//! Example: `holt_winters(node_load1[1h], 0.3, 0.3) > 4` checked with `--prometheus 3`.

use super::expr::find_word;
use super::knowledge::Target;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW115",
    name: "renamed-function",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// Prometheus 2's name and Prometheus 3's (same arguments).
const OLD: &str = "holt_winters";
const NEW: &str = "double_exponential_smoothing";

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    if rule.ast.is_err() {
        return Vec::new();
    }
    let text = &rule.expr.text;
    let target = cx.env.knowledge.target;
    // What the parsed expression calls is the new name either way: read the text.
    let (word, severity, message, help) = if target.is_v3() && find_word(text, OLD).is_some() {
        (
            OLD,
            target.level(SEVERITY),
            format!(
                "`{OLD}` does not exist in Prometheus 3: it was renamed `{NEW}` ({})",
                target.words()
            ),
            format!(
                "rename it `{NEW}` (same arguments) and start Prometheus with `--enable-feature=promql-experimental-functions`; on Prometheus 2 keep `{OLD}`"
            ),
        )
    } else if find_word(text, NEW).is_some() {
        if target == Target::V2 {
            (
                NEW,
                SEVERITY,
                format!(
                    "`{NEW}` does not exist in Prometheus 2 ({})",
                    target.words()
                ),
                format!("use `{OLD}` (same arguments) on Prometheus 2"),
            )
        } else {
            (
                NEW,
                Severity::Warning,
                format!(
                    "`{NEW}` is experimental in Prometheus 3: without `--enable-feature=promql-experimental-functions` the file does not load"
                ),
                "start Prometheus with `--enable-feature=promql-experimental-functions`"
                    .to_string(),
            )
        }
    } else {
        return Vec::new();
    };
    vec![
        rule.diag(CODE, severity, message, rule.expr_word(word))
            .label("not a function of this version")
            .help(help),
    ]
}
