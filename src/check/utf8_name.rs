//! PW114 utf8-name: with `--prometheus 2`, a metric or label name outside Prometheus 2's
//! character set (metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
//! `[a-zA-Z_][a-zA-Z0-9_]*`): a quoted name in a selector (`{"http.server.duration"}`,
//! `{"service.name"="api"}`), in `by`/`on`/`ignoring`/`group_left`, a `label_replace`,
//! `label_join` or `count_values` destination, a recording rule's name or a rule's label.
//!
//! Why: Prometheus 3 accepts UTF-8 names, quoted (Prometheus 3.0's migration guide,
//! docs/migration.md, "Miscellaneous" > "UTF-8 names", v3.0.0, and the quoting syntax of
//! querying/basics.md). Prometheus 2 cannot parse the quotes, refuses such a recording
//! rule name or label ("invalid recording rule name"), and `label_replace` fails at every
//! evaluation: a rule file written for 3 takes every rule of the file down on 2.
//!
//! Runs only with `--prometheus 2` (on 3 these names are valid). The fix: use a name in
//! the classic set (`http_server_duration`, `service_name`), as Prometheus 2 exporters
//! and OpenTelemetry's translation to Prometheus do.
//!
//! Example: `sum by ("service.name") (rate({"http.server.requests"}[5m]))` with
//! `--prometheus 2`.

use promql_parser::parser::{Expr, LabelModifier, VectorMatchCardinality};

use super::expr::visit;
use super::knowledge::Target;
use super::lint::{Cx, RuleUnit};
use crate::diag::{Code, Diagnostic, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW114",
    name: "utf8-name",
};
pub(crate) const SEVERITY: Severity = Severity::Error;

/// True for a name in Prometheus 2's set: metric names may also hold `:`.
pub(crate) fn is_classic(name: &str, metric: bool) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':');
    name.chars()
        .next()
        .is_some_and(|c| ok(c) && !c.is_ascii_digit())
        && name.chars().all(ok)
}

/// Every name the expression writes, as (name, is a metric name); `text` is the
/// expression as written.
fn names<'a>(ast: &'a Expr, text: &str) -> Vec<(&'a str, bool)> {
    let explicit = text.contains("__name__");
    let mut out = Vec::new();
    visit(ast, None, &mut |e, _| match e {
        Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {
            let vs = match e {
                Expr::MatrixSelector(ms) => &ms.vs,
                Expr::VectorSelector(vs) => vs,
                _ => return,
            };
            out.extend(vs.name.as_deref().map(|n| (n, true)));
            for m in vs
                .matchers
                .matchers
                .iter()
                .chain(vs.matchers.or_matchers.iter().flatten())
            {
                if m.name != "__name__" {
                    out.push((m.name.as_str(), false));
                } else if matches!(m.op, promql_parser::label::MatchOp::Equal) && !explicit {
                    // `{"http.server.requests"}`: the name is a `__name__` matcher (a
                    // `__name__="..."` written out is a string, valid on Prometheus 2).
                    out.push((m.value.as_str(), true));
                }
            }
        }
        Expr::Aggregate(a) => {
            if let Some(LabelModifier::Include(l) | LabelModifier::Exclude(l)) = &a.modifier {
                out.extend(l.labels.iter().map(|x| (x.as_str(), false)));
            }
            if a.op.to_string() == "count_values"
                && let Some(Expr::StringLiteral(s)) = a.param.as_deref()
            {
                out.push((s.val.as_str(), false));
            }
        }
        Expr::Binary(b) => {
            if let Some(m) = &b.modifier {
                if let Some(LabelModifier::Include(l) | LabelModifier::Exclude(l)) = &m.matching {
                    out.extend(l.labels.iter().map(|x| (x.as_str(), false)));
                }
                if let VectorMatchCardinality::ManyToOne(l) | VectorMatchCardinality::OneToMany(l) =
                    &m.card
                {
                    out.extend(l.labels.iter().map(|x| (x.as_str(), false)));
                }
            }
        }
        Expr::Call(c) if matches!(c.func.name, "label_replace" | "label_join") => {
            if let Some(Expr::StringLiteral(s)) = c.args.args.get(1).map(|a| &**a) {
                out.push((s.val.as_str(), false));
            }
        }
        _ => {}
    });
    out
}

pub(crate) fn check(rule: &RuleUnit, cx: &Cx) -> Vec<Diagnostic> {
    if cx.env.knowledge.target != Target::V2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut report = |name: &str, metric: bool, what: &str, at| {
        let kind = if metric { "metric" } else { "label" };
        out.push(
            rule.diag(
                CODE,
                SEVERITY,
                format!("{what} `{name}` is not a Prometheus 2 {kind} name: Prometheus 2 refuses it ({})", Target::V2.words()),
                at,
            )
            .label("outside Prometheus 2's character set")
            .help(format!(
                "use a {kind} name of letters, digits and `_`{} (`{}`), or target Prometheus 3 (`--prometheus 3`)",
                if metric { " and `:`" } else { "" },
                name.replace(|c: char| !(c.is_ascii_alphanumeric() || c == '_'), "_")
            )),
        );
    };
    if rule.is_record() && !is_classic(&rule.name.text, true) {
        report(
            &rule.name.text,
            true,
            "the recorded name",
            rule.name.span.clone(),
        );
    }
    for (key, value) in &rule.labels {
        if !is_classic(key, false) {
            report(key, false, "the rule's label", value.span.clone());
        }
    }
    if let Ok(ast) = &rule.ast {
        let mut seen = std::collections::BTreeSet::new();
        for (name, metric) in names(ast, &rule.expr.text) {
            // A dashboard's `$variable` in a name is Grafana's to fill in.
            if !is_classic(name, metric) && !name.contains('$') && seen.insert(name) {
                report(name, metric, "the name", rule.expr_word(name));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_outside_the_classic_set() {
        use super::is_classic;
        assert!(is_classic("job:http_requests:rate5m", true));
        assert!(!is_classic("job:x", false));
        assert!(!is_classic("http.server.duration", true));
        assert!(!is_classic("1x", true));
        let e = promql_parser::parser::parse(
            r#"sum by ("service.name") (rate({"http.server.requests", code="200"}[5m]))"#,
        )
        .unwrap();
        let bad: Vec<&str> = super::names(&e, "")
            .into_iter()
            .filter(|(n, m)| !is_classic(n, *m))
            .map(|(n, _)| n)
            .collect();
        assert_eq!(bad, vec!["service.name", "http.server.requests"]);
        let text = r#"{__name__="vault.route", job="v"}"#;
        let e = promql_parser::parser::parse(text).unwrap();
        assert!(
            super::names(&e, text)
                .iter()
                .all(|(n, _)| is_classic(n, false))
        );
    }
}
