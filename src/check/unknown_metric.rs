//! PW102 unknown-metric: every metric an expression selects must be known: in the spec's
//! catalog (or the `--metrics`/`--metadata` given), one of a histogram's `_bucket`, `_sum`
//! or `_count` series, recorded by a recording rule of the same file set, or one of
//! Prometheus's own (`up`, `ALERTS`).
//!
//! Why: a misspelt metric selects nothing. An alert over nothing never fires and a panel
//! over nothing is empty, and neither promtool nor Prometheus says a word about it.
//!
//! Runs only when there is a list to check against. With `--spec` the catalog is every
//! metric the rules may use, so an unknown name is certain and an error. `--metrics` (one
//! target's exposition) and `--metadata` (one server's) may not hold every metric: an
//! unknown name is certain (an error) only when the files given hold other metrics of its
//! namespace (`k2_` of `k2_pool_size`) and one of them is within a typo of it; otherwise
//! it is likely, and a warning. To give a complete picture, pass one `--metrics` file per
//! job the rules read (`--metrics node.prom --metrics app.prom`), each saved from a target
//! that exports everything the job can. Without any, nothing is unknown.
//!
//! Example: `rate(k2_connection_pool_acquisition_timeout_total[5m]) > 0` — the catalog has
//! `k2_connection_pool_acquisition_timeouts_total` (did you mean it?).

use super::expr::{selector_name, visit};
use super::knowledge::MetricType;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW102",
    name: "unknown-metric",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    let knowledge = &cx.env.knowledge;
    if !knowledge.has_catalog() {
        return Vec::new();
    }
    let Ok(ast) = &rule.ast else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    visit(ast, None, &mut |e, _| {
        let Some(name) = selector_name(e) else {
            return;
        };
        if cx.env.knows(name) || !seen.insert(name.to_string()) {
            return;
        }
        let guess = cx.did_you_mean(name);
        let certain = knowledge.is_closed()
            || guess.is_some() && !name.contains(':') && knowledge.covers_namespace(name);
        let (severity, how) = if certain {
            (SEVERITY, "certain")
        } else {
            (Severity::Warning, "likely")
        };
        let histogram = knowledge
            .family(name)
            .is_some_and(|m| m.kind == MetricType::Histogram);
        let mut d = rule
            .diag(
                CODE,
                severity,
                format!("`{name}` is not a known metric nor a recorded series ({how})"),
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
