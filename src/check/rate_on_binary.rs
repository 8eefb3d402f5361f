//! PW107 rate-on-binary-gauge: `rate`, `irate` and `increase` over a series that is 0 or 1
//! (`up`, `probe_success`, `*_up`, a state set) or an info metric (always 1).
//!
//! Why: such a series is a state, not a count. Its "rate" is the flips per second seen
//! as counter resets: every fall from 1 to 0 is read as a reset and counted as a rise, so
//! `rate(x_up[5m]) > 0` fires for flapping in either direction at a made-up magnitude. To
//! count state changes use `changes(x[5m])`; for the share of time up,
//! `avg_over_time(x[5m])`.
//!
//! An error when the series is known to be 0/1 (`up`, or `# TYPE x stateset`/`info` in
//! `--metrics`); a warning when only its name says so.
//!
//! Example: `rate(ceph_osd_up[5m]) * 60 > 1` — count the flaps with
//! `changes(ceph_osd_up[5m]) > 1`.

use super::expr::selector_name;
use super::lint::{Cx, RuleUnit};
use super::typing::counter_calls;
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW107",
    name: "rate-on-binary-gauge",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (c, arg, t) in counter_calls(ast, &cx.env) {
        if !t.binary {
            continue;
        }
        let name = selector_name(arg).unwrap_or("its argument");
        let severity = if t.exact { SEVERITY } else { Severity::Warning };
        out.push(
            rule.diag(
                CODE,
                severity,
                format!(
                    "`{}` over `{name}`, a 0/1 state: every fall to 0 is read as a counter reset",
                    c.func.name
                ),
                rule.expr_word(name),
            )
            .label("a state, not a counter")
            .help(format!(
                "count state changes with `changes({name}[5m])`, or take the share of time in a state with `avg_over_time({name}[5m])`"
            )),
        );
    }
    out
}
