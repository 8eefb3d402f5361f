//! PW209 duplicate-rule: two recording rules of a group with the same name and the same
//! static labels write the same series; two alerts of a group are exact copies.
//!
//! Why: for recording rules, the second overwrites the first's samples at every evaluation
//! (Prometheus logs "duplicate sample"); for alerts, the two fight over one alert's state.
//! Usually a copy-paste left behind when a rule was edited.
//!
//! Example: two `record: job:errors:rate5m` entries in one group, both with
//! `labels: {team: db}`.

use std::collections::BTreeMap;

use super::lint::{Cx, RuleUnit, UnitKind};
use crate::diag::{Code, Diagnostic, Severity};

pub const CODE: Code = Code {
    code: "PW209",
    name: "duplicate-rule",
};
pub const SEVERITY: Severity = Severity::Error;

/// File, group, alert or not, name, static labels: what makes two rules write the same
/// series.
type RuleKey<'a> = (
    Option<usize>,
    &'a str,
    UnitKind,
    &'a str,
    Vec<(&'a str, &'a str)>,
);

pub fn check_all(rules: &[RuleUnit], _cx: &Cx) -> Vec<Diagnostic> {
    let mut seen: BTreeMap<RuleKey<'_>, &RuleUnit> = BTreeMap::new();
    let mut out = Vec::new();
    for r in rules.iter().filter(|r| r.kind != UnitKind::Query) {
        let labels: Vec<(&str, &str)> = r
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), &*v.text))
            .collect();
        let file = r.name.span.as_ref().map(|s| s.file.0);
        let key = (file, &*r.group, r.kind, &*r.name.text, labels);
        match seen.get(&key) {
            None => {
                seen.insert(key, r);
            }
            Some(first) => {
                let same_expr = match (&first.ast, &r.ast) {
                    (Ok(a), Ok(b)) => a.to_string() == b.to_string(),
                    _ => first.expr.text == r.expr.text,
                };
                // Alerts may share a name and labels on purpose (one alert, several
                // conditions); only an identical copy is a mistake.
                if r.is_alert() && !same_expr {
                    continue;
                }
                out.push(
                    r.diag(
                        CODE,
                        SEVERITY,
                        format!(
                            "{} `{}` is defined twice in group `{}` with the same labels{}",
                            r.kind_word(),
                            r.name.text,
                            r.group,
                            if same_expr {
                                " and the same expression"
                            } else {
                                ""
                            }
                        ),
                        r.name.span.clone(),
                    )
                    .label("second definition")
                    .help(if same_expr {
                        "delete one of the two"
                    } else {
                        "rename one, or give them different labels: both write the same series"
                    }),
                );
            }
        }
    }
    out
}
