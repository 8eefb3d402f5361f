//! Modern Prometheus (issue 23): the targeted release (`prometheus:`), `keep_firing_for`
//! proven on flapping input by promtool, the rule groups' `limit` and `query_offset`, and
//! every feature the target lacks refused at the field that asks for it.

use std::path::Path;
use std::process::Command;

use poolwatch::conventions;
use poolwatch::spec::SpecSource;

use crate::common::{self, process};
use crate::harness::PROMTOOL;

/// The K2 spec with `extra` put in after `version: 1`, and `level` replacing its
/// utilization warning level.
fn k2_with(extra: &str, level: &str) -> SpecSource {
    let text =
        poolwatch::spec::BUILTIN_K2.replacen("version: 1\n", &format!("version: 1\n{extra}"), 1);
    let old = "      - { value: 0.9, color: red, severity: warning, for: 5m }";
    assert!(
        text.contains(old),
        "the K2 spec's utilization warning level moved"
    );
    SpecSource {
        name: "modern.yaml".into(),
        text: text.replacen(old, level, 1),
    }
}

const KEEP: &str =
    "      - { value: 0.9, color: red, severity: warning, for: 5m, keep_firing_for: 10m }";

/// The names of the test groups promtool reports failed.
fn failed(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("    name: "))
        .map(|n| n.trim_end_matches(',').to_string())
        .collect()
}

/// The generated tests of a utilization level with `keep_firing_for` pass on promtool: a
/// dip below the threshold shorter than `keep_firing_for` leaves one alert firing. The same
/// tests on the rule without `keep_firing_for` fail in the flapping group (the alert resolves
/// in the dip and waits its `for` again) and in the recovery check: without it, the same
/// input gives a gap.
fn keep_firing_for_bridges_a_flap_and_without_it_the_same_input_has_a_gap() {
    let g = common::generate(&k2_with("", KEEP));
    let dir = common::write_to_temp(&g);
    let rules = dir.path().join(conventions::rule_file_path());
    let tests = dir.path().join(conventions::test_file_path());
    let text = std::fs::read_to_string(&rules).unwrap();
    assert!(text.contains("    keep_firing_for: 10m\n"), "{text}");
    let promtool = common::promtool();
    let (ok, out) = common::run(Command::new(&promtool).arg("test").arg("rules").arg(&tests));
    assert!(ok, "{out}");
    let test_text = std::fs::read_to_string(&tests).unwrap();
    let flap = "ConnectionPoolHighUtilization pool=k2 severity=warning: flaps below its \
                threshold for 10m once firing: keep_firing_for 10m keeps one alert firing \
                throughout";
    assert!(test_text.contains(flap), "no flapping group");

    let without = text.replace("    keep_firing_for: 10m\n", "");
    std::fs::write(&rules, without).unwrap();
    let (ok, out) = common::run(Command::new(&promtool).arg("test").arg("rules").arg(&tests));
    assert!(!ok, "the tests pass without keep_firing_for:\n{out}");
    let failed = failed(&out);
    assert!(failed.iter().any(|f| f == flap), "{failed:#?}\n{out}");
    assert!(
        failed
            .iter()
            .any(|f| f.ends_with("keeps firing for 10m once it recovers, then clears")),
        "{failed:#?}"
    );
}

/// Runs `emit` on a spec text in a fresh folder: (exit code, stderr, whether the output
/// folder holds anything).
fn emit(text: &str) -> (i32, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), text).unwrap();
    let out = process::poolwatch(&["emit", "--spec", "spec.yaml", "--out", "out"], dir.path());
    let wrote = std::fs::read_dir(dir.path().join("out")).is_ok_and(|mut d| d.next().is_some());
    (process::code(&out), process::stderr(&out), wrote)
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

/// Each feature on a target older than its release: exit 2, PW017 at the field's
/// file:line:col, the release it needs in the help, nothing written. Every finding is
/// reported in one run.
fn a_feature_the_target_lacks_is_a_located_error_with_the_fix() {
    let spec = k2_with(
        "prometheus: \"2.30\"\nrule_groups: { limit: 500, query_offset: 1m }\n",
        KEEP,
    );
    let (code, err, wrote) = emit(&spec.text);
    assert_eq!(code, 2, "{err}");
    assert!(!wrote, "something was written");
    assert!(err.contains("nothing was written"), "{err}");
    let line = line_of(&spec.text, "rule_groups:");
    for (what, col, since) in [
        ("rule group `limit`", 23, "2.31"),
        ("rule group `query_offset`", 42, "2.53"),
    ] {
        assert!(
            err.contains(&format!(
                "{what} needs Prometheus {since} or later; the spec targets 2.30"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!("spec.yaml:{line}:{col}")),
            "{what}: {err}"
        );
        assert!(
            err.contains(&format!("set `prometheus: \"{since}\"`")),
            "{err}"
        );
    }
    let keep_line = line_of(&spec.text, "keep_firing_for");
    assert!(
        err.contains("`keep_firing_for` needs Prometheus 2.42 or later"),
        "{err}"
    );
    assert!(err.contains(&format!("spec.yaml:{keep_line}:")), "{err}");
    assert_eq!(err.matches("error[PW017]").count(), 3, "{err}");

    // The releases that have them accept them.
    let spec = k2_with(
        "prometheus: \"2.53\"\nrule_groups: { limit: 500, query_offset: 1m }\n",
        KEEP,
    );
    let (code, err, wrote) = emit(&spec.text);
    assert_eq!(code, 0, "{err}");
    assert!(wrote);

    let (code, err, _) = emit(&k2_with("prometheus: \"3.x\"\n", KEEP).text);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a Prometheus version"), "{err}");
}

/// The rule groups carry `limit` and `query_offset`. promtool 2.42 (this machine's and
/// CI's) predates `query_offset` (Prometheus 2.53) and refuses the rule file: that is
/// asserted, not hidden. The unit tests load a copy of the groups without the offset
/// (beside the tests), which promtool 2.42 runs: they prove the rules' logic on the data
/// as it arrives, which the offset only delays.
fn query_offset_is_rendered_and_the_tests_load_the_groups_without_it() {
    let g = common::generate(&k2_with(
        "rule_groups: { limit: 500, query_offset: 1m }\n",
        KEEP,
    ));
    let dir = common::write_to_temp(&g);
    let rules = dir.path().join(conventions::rule_file_path());
    let text = std::fs::read_to_string(&rules).unwrap();
    // One group per pool: K2 has one.
    assert_eq!(text.matches("  limit: 500\n").count(), 1, "{text}");
    assert_eq!(text.matches("  query_offset: 1m\n").count(), 1, "{text}");
    let tested = dir.path().join(conventions::tested_rules_path());
    let tested_text = std::fs::read_to_string(&tested).unwrap();
    assert!(!tested_text.contains("query_offset"), "{tested_text}");
    assert_eq!(tested_text.matches("  limit: 500\n").count(), 1);
    assert_eq!(
        text.replace("  query_offset: 1m\n", ""),
        tested_text,
        "the tested copy differs in more than the offset"
    );

    let promtool = common::promtool();
    let (ok, out) = common::promtool_check_rules(&promtool, &rules);
    if promtool_predates(&promtool, (2, 53)) {
        assert!(!ok && out.contains("query_offset"), "{out}");
    } else {
        assert!(ok, "{out}");
    }
    let tests = dir.path().join(conventions::test_file_path());
    let (ok, out) = common::run(Command::new(&promtool).arg("test").arg("rules").arg(&tests));
    assert!(ok, "{out}");
}

/// Whether promtool's version is older than `release` (major, minor).
fn promtool_predates(promtool: &Path, release: (u32, u32)) -> bool {
    let (_, out) = common::run(Command::new(promtool).arg("--version"));
    let v = out
        .split_whitespace()
        .nth(2)
        .and_then(|v| {
            let mut p = v.split(['.', '+', '-']);
            Some((
                p.next()?.parse::<u32>().ok()?,
                p.next()?.parse::<u32>().ok()?,
            ))
        })
        .unwrap_or_else(|| panic!("cannot read promtool's version from {out}"));
    v < release
}

/// Every `le` matcher in every rule and panel of every spec (each environment too), with
/// the bound it selects.
fn le_matchers() -> Vec<(String, promql_parser::label::Matcher)> {
    let mut out = Vec::new();
    for (name, source) in common::all_specs() {
        for (variant, g) in common::generate_all(&source) {
            for expr in common::promql::all_exprs(&common::artifacts(&g)) {
                let ast = promql_parser::parser::parse(&expr)
                    .unwrap_or_else(|e| panic!("{name}/{variant}: {e}: {expr}"));
                common::promql::visit(&ast, &mut |e| {
                    if let promql_parser::parser::Expr::VectorSelector(vs) = e {
                        for m in vs.matchers.matchers.iter().filter(|m| m.name == "le") {
                            out.push((format!("{name}/{variant}: {expr}"), m.clone()));
                        }
                    }
                });
            }
        }
    }
    out
}

/// Whether a matcher selects a label value, as Prometheus applies it (regexes anchored).
fn selects(m: &promql_parser::label::Matcher, value: &str) -> bool {
    use promql_parser::label::MatchOp;
    let re = |r: &str| {
        regex::Regex::new(&format!("^(?:{r})$"))
            .unwrap()
            .is_match(value)
    };
    match &m.op {
        MatchOp::Equal => m.value == value,
        MatchOp::NotEqual => m.value != value,
        MatchOp::Re(_) => re(&m.value),
        MatchOp::NotRe(_) => !re(&m.value),
    }
}

/// Every bucket matcher poolwatch generates selects its bound however it is written: `5`
/// (client_golang, Prometheus 2) and `5.0` (Python's prometheus_client, and Prometheus 3,
/// which normalizes `le` on ingestion). A matcher with one spelling only (`le="5"`) fails.
fn every_bucket_matcher_takes_both_spellings_of_its_bound() {
    let found = le_matchers();
    assert!(
        found.len() >= 4,
        "only {} le matchers: the specs no longer exercise them",
        found.len()
    );
    for (place, m) in &found {
        let bound: f64 = m
            .value
            .chars()
            .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '-' | '+'))
            .collect::<String>()
            .trim_end_matches('.')
            .parse()
            .unwrap_or_else(|_| panic!("{place}: le matcher {m} has no leading bound"));
        let mut spellings = vec![format!("{bound}")];
        if bound.fract() == 0.0 {
            spellings.push(format!("{bound:.1}"));
        }
        for s in &spellings {
            assert!(selects(m, s), "{place}: {m} does not select le=\"{s}\"");
        }
        assert!(!selects(m, "+Inf"), "{place}: {m} selects +Inf");
    }
    // The oracle itself: a single spelling fails it.
    let single = promql_parser::parser::parse("x{le=\"5\"}").unwrap();
    let promql_parser::parser::Expr::VectorSelector(vs) = single else {
        unreachable!()
    };
    assert!(!selects(&vs.matchers.matchers[0], "5.0"));
}

/// The K2 spec with its active-connections metric and a selector label outside the
/// classic character set (OpenTelemetry-style dotted names), targeting `prometheus`.
fn dotted(prometheus: &str) -> String {
    poolwatch::spec::BUILTIN_K2
        .replacen(
            "version: 1\n",
            &format!("version: 1\nprometheus: \"{prometheus}\"\n"),
            1,
        )
        .replace(
            "k2_connection_pool_active_connections",
            "k2.connection_pool.active",
        )
        .replace(
            "labels: [service, environment, component]",
            "labels: [service, environment, component, \"k2.shard\"]",
        )
        .replace("    selector: {}", "    selector: {\"k2.shard\": \"a\"}")
}

/// Names outside `[a-zA-Z_:][a-zA-Z0-9_:]*`: on a 2.x target each is refused (PW017) at its
/// place, nothing written; on 3.x every generated selector writes them quoted
/// (`{"k2.connection_pool.active", "k2.shard"="a"}`), every expression parses (promql-parser
/// reads Prometheus 3's grammar) and selects the metric by that name, and the recorded
/// series poolwatch names keep classic names (`k2_connection_pool_active`).
fn names_outside_the_classic_set_are_quoted_for_3_and_refused_for_2() {
    let text = dotted("2.55");
    let (code, err, wrote) = emit(&text);
    assert_eq!(code, 2, "{err}");
    assert!(!wrote);
    let line = line_of(&text, "- name: k2.connection_pool.active");
    assert!(err.contains(&format!("spec.yaml:{line}:")), "{err}");
    assert!(
        err.contains("`k2.connection_pool.active` is outside [a-zA-Z_:][a-zA-Z0-9_:]*"),
        "{err}"
    );
    let line = line_of(&text, "selector: {\"k2.shard\"");
    assert!(err.contains(&format!("spec.yaml:{line}:")), "{err}");
    assert!(err.contains("set `prometheus: \"3\"`"), "{err}");

    let g = common::generate(&SpecSource {
        name: "dotted.yaml".into(),
        text: dotted("3"),
    });
    let a = common::artifacts(&g);
    let mut quoted = 0;
    for rule in a.rules.groups.iter().flat_map(|gr| &gr.rules) {
        let ast = promql_parser::parser::parse(&rule.expr)
            .unwrap_or_else(|e| panic!("{e}: {}", rule.expr));
        let unquoted = rule.expr.replace("\"k2.connection_pool.active\"", "");
        assert!(
            !unquoted.contains("k2.connection_pool.active"),
            "{}",
            rule.expr
        );
        assert!(!rule.expr.contains("k2.shard="), "{}", rule.expr);
        common::promql::visit(&ast, &mut |e| {
            if let promql_parser::parser::Expr::VectorSelector(vs) = e {
                let ms = &vs.matchers.matchers;
                if ms
                    .iter()
                    .any(|m| m.name == "__name__" && m.value == "k2.connection_pool.active")
                {
                    quoted += 1;
                }
                if vs
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("k2_connection_pool"))
                {
                    assert!(
                        ms.iter().any(|m| m.name == "k2.shard" && m.value == "a")
                            || ms.iter().any(|m| m.name == "pool"),
                        "a raw selector without the pool's selector: {}",
                        rule.expr
                    );
                }
            }
        });
        if rule.alert.is_none() {
            let r = rule.name();
            assert!(
                r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "{r}"
            );
        }
    }
    assert!(quoted >= 3, "only {quoted} selectors of the dotted metric");
    let rules = serde_norway::to_string(&a.rules).unwrap();
    assert!(
        rules.contains("{\"k2.connection_pool.active\", \"k2.shard\"=\"a\"}"),
        "{rules}"
    );
}

/// promtool 2.42 predates quoted names: the rule file of a spec that uses them is refused,
/// which is why `prometheus:` below 3 refuses them first. Asserted, so the day CI's
/// promtool reads them this test says so.
fn promtool_2_refuses_quoted_names_so_the_spec_must_target_3() {
    let g = common::generate(&SpecSource {
        name: "dotted.yaml".into(),
        text: dotted("3"),
    });
    let dir = common::write_to_temp(&g);
    let promtool = common::promtool();
    let (ok, out) =
        common::promtool_check_rules(&promtool, &dir.path().join(conventions::rule_file_path()));
    if promtool_predates(&promtool, (3, 0)) {
        assert!(!ok && out.contains("parse error"), "{out}");
    } else {
        assert!(ok, "{out}");
    }
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [PROMTOOL] keep_firing_for_bridges_a_flap_and_without_it_the_same_input_has_a_gap,
        a_feature_the_target_lacks_is_a_located_error_with_the_fix,
        [PROMTOOL] query_offset_is_rendered_and_the_tests_load_the_groups_without_it,
        every_bucket_matcher_takes_both_spellings_of_its_bound,
        names_outside_the_classic_set_are_quoted_for_3_and_refused_for_2,
        [PROMTOOL] promtool_2_refuses_quoted_names_so_the_spec_must_target_3,
    ]
}
