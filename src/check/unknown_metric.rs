//! PW102 unknown-metric: every metric an expression selects must be known: in the spec's
//! catalog, one of a catalog histogram's `_bucket`, `_sum` or `_count` series, recorded by a
//! recording rule of the same file set, or one of Prometheus's own (`up`, `ALERTS`).
//!
//! Why: a misspelt metric selects nothing. An alert over nothing never fires and a panel
//! over nothing is empty, and neither promtool nor Prometheus says a word about it.
//!
//! Example: `rate(k2_connection_pool_acquisition_timeout_total[5m]) > 0` — the catalog has
//! `k2_connection_pool_acquisition_timeouts_total` (did you mean it?).

use super::lint::{Cx, RuleUnit};
use super::typing::{Resolved, selector_name, visit};
use crate::diag::{Code, Diagnostic, Severity};
use crate::model::MetricKind;

pub const CODE: Code = Code {
    code: "PW102",
    name: "unknown-metric",
};
pub const SEVERITY: Severity = Severity::Error;

pub fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    visit(ast, None, &mut |e, _| {
        let Some(name) = selector_name(e) else {
            return;
        };
        if cx.env.resolve(name) != Resolved::Unknown || !seen.insert(name.to_string()) {
            return;
        }
        let names = cx.env.known_names();
        let guess = crate::model::did_you_mean(name, names.iter().map(String::as_str));
        let histogram = cx
            .env
            .catalog
            .get(name)
            .is_some_and(|m| m.kind == MetricKind::Histogram);
        let mut d = rule
            .diag(
                CODE,
                SEVERITY,
                format!("`{name}` is not a metric of the catalog nor a recorded series"),
                rule.expr_word(name),
            )
            .label(match guess {
                Some(g) => format!("did you mean `{g}`?"),
                None => "unknown metric".into(),
            });
        if histogram {
            d = d.help(format!(
                "`{name}` is a histogram: select `{name}_bucket`, `{name}_sum` or `{name}_count`"
            ));
        } else if guess.is_none() {
            d = d.help("add the metric to the spec's `catalog:` with its type and unit");
        }
        out.push(d);
    });
    out
}
