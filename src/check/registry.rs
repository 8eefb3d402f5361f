//! Every check poolwatch runs, in one list: code, kebab-case name, default severity, what it
//! runs on, and its documentation (the `//!` text of its module: what, why, example). The
//! runner, `--explain`, and `docs/checks.md` all read this list.

use super::dashboard::DashboardDoc;
use super::lint::{Cx, RuleUnit};
use super::{
    alert_without_comparison, alert_without_for, contradictory_matchers, counter_compared,
    counter_without_rate, datasource_variable, duplicate_rule, histogram_quantile,
    integer_bucket_label, invalid_duration, invalid_suppression, label_aggregated_away,
    left_open_subquery, matching_never_matches, missing_annotation, panel_unit,
    panel_unit_mismatch, percent_sign, promql_syntax, rate_interval, rate_on_binary, rate_on_gauge,
    record_name, renamed_function, template_syntax, threshold_steps, undefined_variable,
    unit_mismatch, unknown_label, unknown_metric, unknown_severity, unknown_template_function,
    unreachable_quantile, unused_variable, utf8_name, variable_query,
};
use crate::diag::{Code, Diagnostic, Severity, severity_word};

/// What a check runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Run {
    /// One rule at a time.
    Rule(fn(&RuleUnit, &Cx) -> Vec<Diagnostic>),
    /// All rules of a file set together.
    Rules(fn(&[RuleUnit], &Cx) -> Vec<Diagnostic>),
    /// A dashboard, with its queries (parsed once) typed in the context.
    Dashboard(fn(&DashboardDoc, &[RuleUnit], &Cx) -> Vec<Diagnostic>),
    /// Run where its input is read (rule file suppressions, panel queries).
    Reader,
}

/// A registered check.
#[derive(Debug, Clone, Copy)]
pub struct CheckInfo {
    pub code: Code,
    pub(crate) severity: Severity,
    pub(crate) run: Run,
    /// The module's source; its `//!` lines are the documentation.
    source: &'static str,
    /// When a finding is reported below `severity` (what is known makes it only likely),
    /// in words: `--list`, `--explain` and the docs all say it beside the level.
    pub(crate) lowered: Option<&'static str>,
}

impl CheckInfo {
    /// The level in words, with when it is lowered: "error (a warning when ...)".
    pub(crate) fn level(&self) -> String {
        match self.lowered {
            Some(when) => format!("{} (a warning {when})", severity_word(self.severity)),
            None => severity_word(self.severity).to_string(),
        }
    }

    /// The `//!` documentation (what, why, example), without the leading "PWxxx name: ".
    pub(crate) fn doc(&self) -> String {
        let lines: Vec<&str> = self
            .source
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| {
                let l = l.trim_start_matches("//!");
                l.strip_prefix(' ').unwrap_or(l)
            })
            .collect();
        let text = lines.join("\n");
        let prefix = format!("{} {}: ", self.code.code, self.code.name);
        let text = text.strip_prefix(&prefix).unwrap_or(&text);
        capitalize(text.trim())
    }

    /// One line: the documentation's first clause.
    pub(crate) fn summary(&self) -> String {
        let doc = self.doc();
        let first = doc.split("\n\n").next().unwrap_or("").replace('\n', " ");
        let cut = [". ", ": ", "; ", " ("]
            .iter()
            .filter_map(|p| first.find(p))
            .min()
            .unwrap_or(first.len());
        first[..cut].trim_end_matches('.').to_string()
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

macro_rules! check {
    ($module:ident, $run:expr, $file:literal) => {
        CheckInfo {
            code: $module::CODE,
            severity: $module::SEVERITY,
            run: $run,
            source: include_str!($file),
            lowered: None,
        }
    };
    ($module:ident, $run:expr, $file:literal, lowered: $when:literal) => {
        CheckInfo {
            lowered: Some($when),
            ..check!($module, $run, $file)
        }
    };
}

/// Every check, in code order.
pub const CHECKS: &[CheckInfo] = &[
    check!(
        promql_syntax,
        Run::Rule(promql_syntax::check_rule),
        "promql_syntax.rs"
    ),
    check!(
        unknown_metric,
        Run::Rule(unknown_metric::check),
        "unknown_metric.rs",
        lowered: "when the metric is only likely missing"
    ),
    check!(
        rate_on_gauge,
        Run::Rule(rate_on_gauge::check),
        "rate_on_gauge.rs",
        lowered: "when the type is known by name alone"
    ),
    check!(
        counter_without_rate,
        Run::Rule(counter_without_rate::check),
        "counter_without_rate.rs"
    ),
    check!(
        histogram_quantile,
        Run::Rule(histogram_quantile::check),
        "histogram_quantile.rs"
    ),
    check!(
        alert_without_comparison,
        Run::Rule(alert_without_comparison::check),
        "alert_without_comparison.rs",
        lowered: "when the expression has no `bool` comparison"
    ),
    check!(
        rate_on_binary,
        Run::Rule(rate_on_binary::check),
        "rate_on_binary.rs",
        lowered: "when the type is known by name alone"
    ),
    check!(
        counter_compared,
        Run::Rule(counter_compared::check),
        "counter_compared.rs"
    ),
    check!(
        unreachable_quantile,
        Run::Rule(unreachable_quantile::check),
        "unreachable_quantile.rs",
        lowered: "when the buckets are not from a spec's catalog"
    ),
    check!(
        contradictory_matchers,
        Run::Rule(contradictory_matchers::check),
        "contradictory_matchers.rs"
    ),
    check!(
        matching_never_matches,
        Run::Rule(matching_never_matches::check),
        "matching_never_matches.rs"
    ),
    check!(
        unknown_label,
        Run::Rule(unknown_label::check),
        "unknown_label.rs",
        lowered: "when the labels come from an exposition, which relabeling may add to"
    ),
    check!(
        integer_bucket_label,
        Run::Rule(integer_bucket_label::check),
        "integer_bucket_label.rs",
        lowered: "when Prometheus 3 is only assumed (no `--prometheus`)"
    ),
    check!(utf8_name, Run::Rule(utf8_name::check), "utf8_name.rs"),
    check!(
        renamed_function,
        Run::Rule(renamed_function::check),
        "renamed_function.rs",
        lowered: "when Prometheus 3 is only assumed, or when the new name only needs Prometheus 3's feature flag"
    ),
    check!(
        left_open_subquery,
        Run::Rule(left_open_subquery::check),
        "left_open_subquery.rs",
        lowered: "when Prometheus 3 is only assumed (no `--prometheus`)"
    ),
    check!(
        invalid_duration,
        Run::Rule(invalid_duration::check),
        "invalid_duration.rs"
    ),
    check!(
        template_syntax,
        Run::Rule(template_syntax::check),
        "template_syntax.rs"
    ),
    check!(
        unknown_template_function,
        Run::Rule(unknown_template_function::check),
        "unknown_template_function.rs"
    ),
    check!(
        label_aggregated_away,
        Run::Rule(label_aggregated_away::check),
        "label_aggregated_away.rs"
    ),
    check!(
        unit_mismatch,
        Run::Rule(unit_mismatch::check),
        "unit_mismatch.rs"
    ),
    check!(
        unknown_severity,
        Run::Rule(unknown_severity::check),
        "unknown_severity.rs"
    ),
    check!(
        missing_annotation,
        Run::Rule(missing_annotation::check),
        "missing_annotation.rs"
    ),
    check!(record_name, Run::Rule(record_name::check), "record_name.rs"),
    check!(
        duplicate_rule,
        Run::Rules(duplicate_rule::check_all),
        "duplicate_rule.rs"
    ),
    check!(invalid_suppression, Run::Reader, "invalid_suppression.rs"),
    check!(
        percent_sign,
        Run::Rule(percent_sign::check),
        "percent_sign.rs"
    ),
    check!(
        alert_without_for,
        Run::Rule(alert_without_for::check),
        "alert_without_for.rs"
    ),
    check!(
        panel_unit,
        Run::Dashboard(panel_unit::check),
        "panel_unit.rs"
    ),
    check!(
        rate_interval,
        Run::Dashboard(rate_interval::check),
        "rate_interval.rs"
    ),
    check!(
        datasource_variable,
        Run::Dashboard(datasource_variable::check),
        "datasource_variable.rs"
    ),
    check!(
        threshold_steps,
        Run::Dashboard(threshold_steps::check),
        "threshold_steps.rs"
    ),
    check!(
        panel_unit_mismatch,
        Run::Dashboard(panel_unit_mismatch::check),
        "panel_unit_mismatch.rs"
    ),
    check!(
        undefined_variable,
        Run::Dashboard(undefined_variable::check),
        "undefined_variable.rs"
    ),
    check!(
        variable_query,
        Run::Dashboard(variable_query::check),
        "variable_query.rs"
    ),
    check!(
        unused_variable,
        Run::Dashboard(unused_variable::check),
        "unused_variable.rs"
    ),
];

/// A check by code (`PW205`) or name (`unit-mismatch`).
pub(crate) fn find(code_or_name: &str) -> Option<&'static CheckInfo> {
    CHECKS
        .iter()
        .find(|c| c.code.code.eq_ignore_ascii_case(code_or_name) || c.code.name == code_or_name)
}

/// `poolwatch check --explain CODE`: a check's documentation as plain text.
pub(crate) fn explain(c: &CheckInfo) -> String {
    format!(
        "{} {} ({})\n\n{}\n",
        c.code.code,
        c.code.name,
        c.level(),
        c.doc()
    )
}

/// `poolwatch check --list`: one line per check.
pub(crate) fn list() -> String {
    let mut out = String::new();
    for c in CHECKS {
        out.push_str(&format!(
            "{} {:<28} {:<8} {}{}\n",
            c.code.code,
            c.code.name,
            severity_word(c.severity),
            c.summary(),
            c.lowered
                .map_or(String::new(), |w| format!(" (a warning {w})"))
        ));
    }
    out
}

/// `docs/checks.md`, generated from this registry.
pub fn markdown() -> String {
    let mut out = String::from(
        "# poolwatch checks\n\n\
         <!-- Generated from the check modules' docs by `POOLWATCH_UPDATE_DOCS=1 cargo test --test it checks_doc`; do not edit. -->\n\n\
         `poolwatch check` runs every check on the spec and everything it generates. `emit` runs\n\
         the same checks and writes nothing when one fails at error level. PW0xx codes are\n\
         findings about the spec itself (YAML, names, types, thresholds, durations).\n\n\
         ## Linting any rule repository\n\n\
         `poolwatch check --rules PATH... --dashboards PATH...` lints hand-written files with no\n\
         spec: Prometheus rule files, prometheus-operator `PrometheusRule` manifests, Mimir/Cortex\n\
         namespace files and multi-document YAML (empty and `null` documents are fine), and\n\
         Grafana dashboards (panels, rows, and old dashboards' `rows[]`; queries of other data\n\
         sources such as Loki are skipped and counted). A folder is searched for `*.yml`/`*.yaml`\n\
         files holding rule groups, or `*.json` dashboards.\n\n\
         Without a spec nothing is imposed: types come from Prometheus's naming conventions\n\
         (`_total` counters, `_bucket` histogram buckets, `_info`, `up` and `*_up` 0/1 states,\n\
         units from `_seconds`, `_bytes`, `_ratio`, `_percent`) and from what the files record;\n\
         a check that relies on a type known only by name reports a warning at most.\n\
         `--metrics FILE` (a saved `/metrics` exposition) and `--metadata FILE` (a saved\n\
         `/api/v1/metadata` response) give exact types, units and bucket bounds; with them an\n\
         unknown metric is certain (an error) when it is a typo away from a metric of the same\n\
         exporter, and likely (a warning) otherwise: give one `--metrics` file per job for a\n\
         complete picture. `--spec FILE` checks against the spec's catalog (an unknown metric\n\
         is an error) and its `severities:`. A check whose level depends on what is known\n\
         says so beside its severity.\n\n\
         `--prometheus 2|3` names the Prometheus the files run on, and PW113 to PW116 report\n\
         what that version breaks (Prometheus 3.0's docs/migration.md): whole-number `le` and\n\
         `quantile` matchers, `holt_winters`, one-step subquery windows under `rate`, and on 2\n\
         the quoted UTF-8 names only 3 accepts. Without it, 3 is assumed (the current release)\n\
         and what only 3 breaks is a warning.\n\n\
         CI: `--fail-on error|warning|info|never` (default error) sets what exits 1;\n\
         `--level PW207=off` (or `=error`, `=warning`, `=info`) changes one check's level;\n\
         `--write-baseline FILE` records today's findings and `--baseline FILE` counts those\n\
         without failing, so an existing repository fails only on new findings. Each run ends\n\
         with one summary line.\n\n\
         Exit codes: 0 clean (findings below `--fail-on` allowed), 1 findings at or above it,\n\
         2 unusable input or usage. `poolwatch check --explain PW205` prints one check's\n\
         documentation, `--list` all of them; `--format json`, `--format github` (workflow\n\
         annotations), `--format sarif` (SARIF 2.1.0: GitHub code scanning shows each finding\n\
         on its line) and `--format checkstyle` (XML) change the output; `--fail-on` applies to\n\
         every format.\n\n\
         To silence one check for one rule, give a reason: in a rule file, a comment on the\n\
         line above the rule, `# poolwatch: ignore PW205 <reason>`; in a spec,\n\
         `lint: {ignore: [{rule: <alert or record name>, code: PW205, reason: <reason>}]}`.\n\
         Silenced findings are counted in the summary (\"1 suppressed\") and listed with their\n\
         reason in JSON output; a suppression without a reason, with an unknown code, or that\n\
         silences nothing is itself reported (PW210).\n\n\
         | Code | Name | Severity | Summary |\n|---|---|---|---|\n",
    );
    for c in CHECKS {
        out.push_str(&format!(
            "| [{}](#{}) | `{}` | {} | {} |\n",
            c.code.code,
            format!("{}-{}", c.code.code, c.code.name).to_lowercase(),
            c.code.name,
            c.level(),
            c.summary().replace('|', "\\|")
        ));
    }
    for c in CHECKS {
        out.push_str(&format!(
            "\n## {} {}\n\nSeverity: {}.\n\n{}\n",
            c.code.code,
            c.code.name,
            c.level(),
            c.doc()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_documented() {
        let mut codes = std::collections::BTreeSet::new();
        let mut names = std::collections::BTreeSet::new();
        for c in CHECKS {
            assert!(codes.insert(c.code.code), "{} twice", c.code.code);
            assert!(names.insert(c.code.name), "{} twice", c.code.name);
            assert!(!c.summary().is_empty(), "{} has no summary", c.code.code);
            assert!(c.doc().contains("Why:"), "{} doc has no why", c.code.code);
            assert!(
                c.doc().contains("Example:"),
                "{} doc has no example",
                c.code.code
            );
            assert!(
                c.source
                    .starts_with(&format!("//! {} {}:", c.code.code, c.code.name)),
                "{} module doc must start with its code and name",
                c.code.code
            );
        }
    }
}
