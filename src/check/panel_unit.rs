//! PW301 panel-unit: every panel that draws numbers sets `fieldConfig.defaults.unit`.
//!
//! Why: without a unit Grafana prints `0.3` for 300ms and `1500000` for 1.5 MB, and a
//! ratio cannot be told from a percentage. Units also make the threshold steps readable.
//!
//! Not reported: panels whose value or range mappings turn numbers into words (an `up`
//! panel showing "Up"/"Down"; a mapping of only null or NaN does not count), and panels
//! whose every query shows a constant or a 0/1 state (`vector(1)`, `up`, a `_info`
//! metric), where a unit would say nothing.
//!
//! Example: a time series panel of `histogram_quantile(...)` with no `unit` (use `s`).

use serde_json::Value;

use super::dashboard::{DashboardDoc, PanelRef};
use super::expr::{selector_name, visit};
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW301",
    name: "panel-unit",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

/// Panel types that draw no numbers.
const NO_UNIT: [&str; 10] = [
    "text",
    "row",
    "news",
    "dashlist",
    "alertlist",
    "annolist",
    "logs",
    "traces",
    "nodeGraph",
    "flamegraph",
];

pub(crate) fn check(doc: &DashboardDoc, queries: &[RuleUnit], cx: &Cx) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in doc.panels() {
        let kind = p.json.get("type").and_then(|t| t.as_str()).unwrap_or("");
        if NO_UNIT.contains(&kind) {
            continue;
        }
        if p.unit().trim().is_empty() && !maps_numbers(&p) && !shows_constants(&p, queries, cx) {
            out.push(
                doc.diag(CODE, SEVERITY, &p, format!("{} has no unit", p.describe()), None)
                    .label("no `fieldConfig.defaults.unit`")
                    .help("set a unit: `s` for seconds, `percentunit` for a 0..1 ratio, `ops` for rates, `short` for counts"),
            );
        }
    }
    out
}

/// True when the panel maps values or ranges to text (`fieldConfig.defaults.mappings` of
/// type `value` or `range`, or a legacy singlestat's `valueMaps`/`rangeMaps`).
fn maps_numbers(p: &PanelRef) -> bool {
    // Old singlestats carry `{"value": "null", "text": "N/A"}` by default: not a mapping.
    let non_empty = |v: Option<&Value>| {
        v.and_then(Value::as_array).is_some_and(|a| {
            a.iter().any(|m| {
                ["value", "from", "to"]
                    .iter()
                    .filter_map(|k| m.get(*k).and_then(Value::as_str))
                    .any(|x| !x.is_empty() && x != "null")
            })
        })
    };
    let mapped = p
        .json
        .pointer("/fieldConfig/defaults/mappings")
        .and_then(Value::as_array)
        .is_some_and(|ms| {
            ms.iter().any(|m| {
                matches!(
                    m.get("type").and_then(Value::as_str),
                    Some("value" | "range" | "regex")
                )
            })
        });
    let legacy = p.json.get("mappingType").is_some()
        && (non_empty(p.json.get("valueMaps")) || non_empty(p.json.get("rangeMaps")));
    mapped || legacy
}

/// True when the panel has queries and each shows a constant (no selector) or a 0/1 state.
fn shows_constants(p: &PanelRef, queries: &[RuleUnit], cx: &Cx) -> bool {
    let mut mine = queries
        .iter()
        .filter(|q| q.panel == Some(p.index))
        .peekable();
    mine.peek().is_some()
        && mine.all(|q| {
            let Ok(ast) = &q.ast else {
                return false;
            };
            let mut selects = false;
            visit(ast, None, &mut |n, _| selects |= selector_name(n).is_some());
            !selects || cx.type_of(q).is_some_and(|t| t.binary)
        })
}
