//! The checks end to end through the CLI: every check's failing and passing fixture under
//! `tests/lint/<code>-<name>/`, the K2 runbook's hand-written rule file, every generated
//! rule file and dashboard, exit codes, output formats and the generated check docs.
#![allow(clippy::unwrap_used, clippy::panic)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use poolwatch::app::{self, Report};
use poolwatch::check::registry;
use poolwatch::cli::Cli;
use poolwatch::conventions;

/// Runs `poolwatch` in-process from the repository root.
fn run(args: &[&str]) -> Report {
    let mut argv = vec!["poolwatch"];
    argv.extend_from_slice(args);
    app::run(Cli::try_parse_from(argv).expect("arguments parse"))
}

/// A path relative to the repository root, as the user would type it.
fn rel(path: &Path) -> String {
    path.strip_prefix(common::root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `check --rules|--dashboards PATH`, plus the words of the fixture folder's `args` file
/// (`--spec specs/k2.yaml` where a check needs a catalog, `--metrics ...`).
fn lint_args(path: &str) -> Vec<String> {
    let flag = if path.ends_with(".json") {
        "--dashboards"
    } else {
        "--rules"
    };
    let mut args = vec!["check".to_string(), flag.to_string(), path.to_string()];
    let extra = Path::new(path).parent().unwrap().join("args");
    if let Ok(words) = std::fs::read_to_string(extra) {
        args.extend(words.split_whitespace().map(str::to_string));
    }
    args
}

fn fixtures() {
    // Snapshot paths are relative to the root, so run from there.
    insta::glob!("../lint", "*/*.{yml,json}", |path| {
        let name = rel(path);
        let dir = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let code = dir.split('-').next().unwrap();
        let bad = path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .starts_with("bad");
        let args = lint_args(&name);
        let report = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let tag = format!("[{code}]");
        if bad {
            assert!(
                report.stderr.contains(&tag),
                "{name} must report {code}:\n{}",
                report.stderr
            );
        } else {
            assert!(
                !report.stderr.contains(&tag),
                "{name} must not report {code}:\n{}",
                report.stderr
            );
            assert!(
                report.stderr.contains(": 0 errors, 0 warnings"),
                "{name} must be clean:\n{}",
                report.stderr
            );
            assert_eq!(report.code, 0, "{name}");
        }
        insta::assert_snapshot!(report.stderr);
    });
}

fn every_check_has_a_bad_and_a_good_fixture() {
    for c in registry::CHECKS {
        let dir = common::root()
            .join("tests/lint")
            .join(format!("{}-{}", c.code.code, c.code.name));
        let has = |stem: &str| {
            ["yml", "json"]
                .iter()
                .any(|e| dir.join(format!("{stem}.{e}")).is_file())
        };
        assert!(
            has("bad") && has("good"),
            "{} has no bad/good fixture in {}",
            c.code.code,
            dir.display()
        );
    }
}

fn the_runbook_rule_file_prints_a_ratio_as_a_percentage() {
    let path = crate::harness::shared().join("k2-runbook/connection_pool.yml");
    let path = path.to_str().unwrap();
    let report = run(&["check", "--rules", path]);
    assert!(
        report.stderr.contains("warning[PW205]"),
        "{}",
        report.stderr
    );
    // The caret is under the `{{ $value }}%` of the description.
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("{{ $value }}%"))
        .unwrap()
        + 1;
    let col = text.lines().nth(line - 1).unwrap().find("{{").unwrap() + 1;
    assert!(
        report
            .stderr
            .contains(&format!("connection_pool.yml:{line}:{col}")),
        "expected {line}:{col}:\n{}",
        report.stderr
    );
    // With no spec: each alert's `runbook:` is named as not `runbook_url`.
    assert_eq!(
        report
            .stderr
            .matches("this is `runbook`, not `runbook_url`")
            .count(),
        3,
        "{}",
        report.stderr
    );
    assert!(report.stderr.contains("no catalog"), "{}", report.stderr);
    assert_eq!(report.code, 0, "warnings only");
    // The reference folder is wherever POOLWATCH_SHARED puts it; the snapshot names it as
    // it sits beside a checkout.
    insta::assert_snapshot!(
        report
            .stderr
            .replace(path, "../shared/k2-runbook/connection_pool.yml")
    );
    let json = run(&["check", "--format", "json", "--rules", path]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let first = &doc["diagnostics"][0];
    assert_eq!(
        (first["code"].as_str(), first["line"].as_u64()),
        (Some("PW205"), Some(line as u64))
    );
    assert_eq!(first["column"].as_u64(), Some(col as u64));
    insta::assert_snapshot!(
        "runbook_json",
        json.stdout
            .replace(path, "../shared/k2-runbook/connection_pool.yml")
    );
}

fn every_generated_rule_file_and_dashboard_is_clean() {
    for (name, source) in common::all_specs() {
        let g = common::generate(&source);
        assert!(g.warnings.is_empty(), "{name}: {:?}", g.warnings);
        let dir = common::write_to_temp(&g);
        let spec = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(spec.path(), &source.text).unwrap();
        let rules = dir.path().join("rules/connection_pool.yml");
        let dash = dir.path().join("dashboards/connection_pool.json");
        let report = run(&[
            "check",
            "--spec",
            spec.path().to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--dashboards",
            dash.to_str().unwrap(),
        ]);
        assert!(
            report.stderr.contains(": 0 errors, 0 warnings"),
            "{name}: the generated files must be clean:\n{}",
            report.stderr
        );
        assert_eq!(report.code, 0);
    }
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_poolwatch"));
    c.current_dir(common::root());
    c
}

fn code_of(args: &[&str]) -> i32 {
    bin().args(args).output().unwrap().status.code().unwrap()
}

fn exit_codes() {
    // 0: clean, and warnings only.
    assert_eq!(code_of(&["check"]), 0);
    assert_eq!(
        code_of(&[
            "check",
            "--rules",
            "tests/lint/PW205-unit-mismatch/good.yml"
        ]),
        0
    );
    assert_eq!(
        code_of(&["check", "--rules", "tests/lint/PW205-unit-mismatch/bad.yml"]),
        0
    );
    // 1: error-level findings.
    assert_eq!(
        code_of(&[
            "check",
            "--spec",
            "specs/k2.yaml",
            "--rules",
            "tests/lint/PW103-rate-on-gauge/bad.yml"
        ]),
        1
    );
    assert_eq!(
        code_of(&[
            "check",
            "--dashboards",
            "tests/lint/PW101-promql-syntax/bad_dashboard.json"
        ]),
        1
    );
    // Without a catalog, a rate over a name nothing types is no finding.
    assert_eq!(
        code_of(&["check", "--rules", "tests/lint/PW103-rate-on-gauge/bad.yml"]),
        0
    );
    // 2: unusable input or usage.
    assert_eq!(
        code_of(&["check", "--rules", "tests/lint/does-not-exist.yml"]),
        2
    );
    assert_eq!(code_of(&["check", "--rules", "specs/k2.yaml"]), 2);
    assert_eq!(code_of(&["check", "--bogus"]), 2);
    assert_eq!(code_of(&["check", "--explain", "PW999"]), 2);
    assert_eq!(code_of(&["check", "--explain", "PW205"]), 0);
}

fn suppressed_findings_are_counted_and_listed_in_json() {
    let out = bin()
        .args([
            "check",
            "--format",
            "json",
            "--rules",
            "tests/lint/PW210-invalid-suppression/good.yml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["suppressed"], 1);
    assert_eq!(doc["warnings"], 0);
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "PW205");
    assert!(d["suppressed"].as_str().unwrap().contains("Slack bot"));
    assert_eq!(d["line"], 12);
}

fn github_format_annotates_the_line() {
    let out = bin()
        .args([
            "check",
            "--format",
            "github",
            "--spec",
            "specs/k2.yaml",
            "--rules",
            "tests/lint/PW102-unknown-metric/bad.yml",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("::error file=tests/lint/PW102-unknown-metric/bad.yml,line=5,col=24,"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
}

fn a_spec_suppression_silences_one_check_for_one_rule() {
    // The K2 spec's generated rules are clean; a suppression that silences nothing is
    // itself reported, and one naming an unknown rule too.
    let spec = format!(
        "{}\nlint:\n  ignore:\n    - {{rule: ConnectionPoolHighUtilization, code: PW205, reason: nothing to silence}}\n    - {{rule: NoSuchAlert, code: PW205, reason: typo}}\n",
        poolwatch::spec::BUILTIN_K2
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), spec).unwrap();
    let report = run(&["check", "--spec", file.path().to_str().unwrap()]);
    assert!(
        report.stderr.contains("silences nothing"),
        "{}",
        report.stderr
    );
    assert!(
        report.stderr.contains("`NoSuchAlert` is not a rule"),
        "{}",
        report.stderr
    );
    assert_eq!(report.code, 0);
}

fn checks_doc_lists_every_registered_check() {
    let path: PathBuf = common::root().join("docs/checks.md");
    let want = registry::markdown();
    if crate::harness::rewrite_switch("POOLWATCH_UPDATE_DOCS") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    let doc = std::fs::read_to_string(&path)
        .expect("docs/checks.md (POOLWATCH_UPDATE_DOCS=1 cargo test --test it checks_doc)");
    for c in registry::CHECKS {
        assert!(
            doc.contains(&format!("## {} {}", c.code.code, c.code.name)),
            "{} missing",
            c.code.code
        );
    }
    assert_eq!(
        doc, want,
        "docs/checks.md is stale: POOLWATCH_UPDATE_DOCS=1 cargo test --test it checks_doc"
    );
}

/// `check --rules` on a rule file with this text.
fn lint_text(text: &str) -> Report {
    lint_text_with(text, &[])
}

/// `check --rules FILE ARGS...` on a rule file with this text.
fn lint_text_with(text: &str, args: &[&str]) -> Report {
    let file = tempfile::Builder::new().suffix(".yml").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let mut argv = vec!["check", "--rules", file.path().to_str().unwrap()];
    argv.extend_from_slice(args);
    run(&argv)
}

const K2: [&str; 2] = ["--spec", "specs/k2.yaml"];

fn group_labels_apply_to_their_rules() {
    let report = lint_text_with(
        "groups:\n  - name: g\n    labels: {severity: page}\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations: {summary: down, runbook_url: https://x}\n",
        &K2,
    );
    assert!(report.stderr.contains("error[PW206]"), "{}", report.stderr);
    assert!(
        report.stderr.contains(":3:24"),
        "points at the group's label: {}",
        report.stderr
    );
    assert_eq!(report.code, 1);
}

fn prometheus_rule_manifests_are_linted_too() {
    let report = lint_text_with(
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: pool}\nspec:\n  groups:\n    - name: g\n      rules:\n        - alert: A\n          expr: rate(k2_connection_pool_size[5m]) > 0\n          labels: {severity: warning}\n          annotations: {summary: s, runbook_url: https://x}\n",
        &K2,
    );
    assert!(report.stderr.contains("error[PW103]"), "{}", report.stderr);
    assert_eq!(report.code, 1);
}

/// Checks whose findings Prometheus itself refuses to load; promtool must reject their
/// failing fixture. Every other failing fixture passes promtool: those are what poolwatch
/// catches and promtool does not.
const PROMTOOL_REJECTS: [&str; 5] = ["PW101", "PW114", "PW201", "PW202", "PW203"];

fn fixtures_agree_with_promtool() {
    let promtool = common::promtool();
    for c in registry::CHECKS {
        let dir = common::root()
            .join("tests/lint")
            .join(format!("{}-{}", c.code.code, c.code.name));
        let (good, bad) = (dir.join("good.yml"), dir.join("bad.yml"));
        if !good.is_file() {
            continue; // a dashboard check
        }
        let (ok, out) = common::promtool_check_rules(&promtool, &good);
        assert!(ok, "promtool rejects {}: {out}", good.display());
        let (ok, out) = common::promtool_check_rules(&promtool, &bad);
        let rejects = PROMTOOL_REJECTS.contains(&c.code.code);
        assert_eq!(!ok, rejects, "promtool on {}: {out}", bad.display());
    }
}

fn raw_buckets_and_last_values_of_counters_need_a_rate() {
    let report = lint_text_with(
        "groups:\n  - name: g\n    rules:\n      - record: job:k2_query_duration_seconds:p99\n        expr: histogram_quantile(0.99, k2_query_duration_seconds_bucket)\n      - record: job:k2_connection_pool_creation_errors:last5m\n        expr: last_over_time(k2_connection_pool_creation_errors_total[5m])\n      - record: job:k2_connection_pool_creation_errors:resets1h\n        expr: resets(k2_connection_pool_creation_errors_total[1h])\n",
        &K2,
    );
    assert_eq!(
        report.stderr.matches("error[PW104]").count(),
        2,
        "{}",
        report.stderr
    );
}

fn a_suppression_applies_to_the_rule_below_it_only() {
    let rule = "      - record: pool:k2_connection_pool_size:sum\n        expr: sum(k2_connection_pool_size)\n";
    let text = format!(
        "groups:\n  - name: g\n    rules:\n{rule}      # poolwatch: ignore PW209 kept while the dashboards move to the new name\n{rule}"
    );
    let report = lint_text(&text);
    assert!(
        report
            .stderr
            .contains(": 0 errors, 0 warnings, 1 suppressed"),
        "{}",
        report.stderr
    );
    let text = format!(
        "groups:\n  - name: g\n    rules:\n      # poolwatch: ignore PW209 on the wrong copy\n{rule}{rule}"
    );
    let report = lint_text(&text);
    assert!(report.stderr.contains("error[PW209]"), "{}", report.stderr);
    assert!(
        report.stderr.contains("silences nothing"),
        "{}",
        report.stderr
    );
}

/// Everything promtool reads (and what Mimir and prometheus-operator add) is read, with
/// no spec, and holds no error.
fn no_spec_reads_what_promtool_reads() {
    let texts = [
        "",
        "null\n",
        "{}\n",
        "# only a comment\n",
        "groups:\n",
        "groups: []\n",
        "groups:\n  - name: g\n    rules:\n",
        "groups: []\n---\ngroups:\n  - name: a\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n---\n",
        "namespace: checkout\ngroups:\n  - name: g\n    source_tenants: [team-a]\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n",
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec:\n  groups:\n    - name: g\n      rules: []\n",
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec: {}\n",
    ];
    for text in texts {
        let report = lint_text(text);
        assert_eq!(report.code, 0, "{text:?}:\n{}", report.stderr);
        assert!(
            report.stderr.contains(": 0 errors"),
            "{text:?}:\n{}",
            report.stderr
        );
    }
    // poolwatch's own output for every deploy target, read back with no spec.
    let out = tempfile::tempdir().unwrap();
    for target in ["prometheus", "operator", "mimir"] {
        let spec = common::root().join("tests/specs/two_pools.yaml");
        let dir = out.path().join(target);
        let emitted = run(&[
            "emit",
            "--spec",
            spec.to_str().unwrap(),
            "--target",
            target,
            "--out",
            dir.to_str().unwrap(),
        ]);
        if emitted.code != 0 {
            // A target the spec does not configure (operator needs deploy.operator).
            continue;
        }
        let file = match target {
            "operator" => conventions::operator_file_path(),
            "mimir" => conventions::mimir_file_path(),
            _ => conventions::rule_file_path(),
        };
        let folder = dir.join(file).parent().unwrap().to_path_buf();
        let report = run(&["check", "--rules", folder.to_str().unwrap()]);
        assert_eq!(report.code, 0, "{target}:\n{}", report.stderr);
        assert!(report.stderr.contains(": 0 errors"), "{}", report.stderr);
    }
}

/// A file that is no rule file is unusable input: located, in plain words, exit 2.
fn a_broken_rule_file_is_located_in_plain_words() {
    let report = lint_text(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        bogus: 1\n",
    );
    assert_eq!(report.code, 2, "{}", report.stderr);
    assert!(report.stderr.contains(":6:9"), "{}", report.stderr);
    for library in ["serde", "saphyr", "from_str", "deserialize"] {
        assert!(
            !report.stderr.to_lowercase().contains(library),
            "library wording `{library}`:\n{}",
            report.stderr
        );
    }
}

/// A dashboard that is not JSON: located, in plain words, exit 2.
fn a_broken_dashboard_is_located_in_plain_words() {
    let file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::fs::write(
        file.path(),
        "{\n  \"panels\": [\n    {\"title\": \"x\",}\n  ]\n}\n",
    )
    .unwrap();
    let report = run(&["check", "--dashboards", file.path().to_str().unwrap()]);
    assert_eq!(report.code, 2, "{}", report.stderr);
    assert!(
        report.stderr.contains("not valid JSON"),
        "{}",
        report.stderr
    );
    assert!(report.stderr.contains(":3:"), "{}", report.stderr);
    assert!(!report.stderr.contains("column"), "{}", report.stderr);
}

/// Without a spec no catalog and no severity vocabulary is imposed.
fn no_spec_imposes_no_catalog() {
    let report = lint_text(
        "groups:\n  - name: g\n    rules:\n      - alert: Slow\n        expr: histogram_quantile(0.9, sum by (le, pod) (rate(shop_checkout_seconds_bucket[5m]))) > 2\n        for: 5m\n        labels: {severity: page}\n        annotations: {summary: slow}\n",
    );
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(
        report.stderr.contains(": 0 errors, 0 warnings"),
        "{}",
        report.stderr
    );
    assert!(report.stderr.contains("no catalog"), "{}", report.stderr);
}

/// `--metrics` and `--metadata` give exact types: then a rate over a gauge is an error,
/// and a name a typo away from one of the same namespace an error (certain).
fn metrics_and_metadata_give_exact_types() {
    let rules = "groups:\n  - name: g\n    rules:\n      - alert: Busy\n        expr: rate(queue_depth[5m]) > 1 or rate(queue_dept[5m]) > 1\n        for: 5m\n        annotations: {summary: busy}\n";
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("metrics.prom");
    std::fs::write(
        &metrics,
        "# HELP queue_depth Jobs waiting.\n# TYPE queue_depth gauge\nqueue_depth 3\n",
    )
    .unwrap();
    let metadata = dir.path().join("metadata.json");
    std::fs::write(
        &metadata,
        r#"{"status":"success","data":{"queue_depth":[{"type":"gauge","help":"Jobs waiting.","unit":""}]}}"#,
    )
    .unwrap();
    for (flag, file) in [("--metrics", &metrics), ("--metadata", &metadata)] {
        let report = lint_text_with(rules, &[flag, file.to_str().unwrap()]);
        assert!(report.stderr.contains("error[PW103]"), "{}", report.stderr);
        assert!(
            report.stderr.contains("error[PW102]") && report.stderr.contains("queue_depth`?"),
            "did you mean: {}",
            report.stderr
        );
        assert_eq!(report.code, 1);
    }
    std::fs::write(&metadata, "[]").unwrap();
    let report = lint_text_with(rules, &["--metadata", metadata.to_str().unwrap()]);
    assert_eq!(report.code, 2, "{}", report.stderr);
}

/// A folder is searched; `--fail-on`, `--level` and a baseline decide what fails.
fn folders_levels_and_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(rules.join("team-a")).unwrap();
    let alert = |name: &str| {
        format!(
            "      - alert: {name}\n        expr: {name}_failures_total > 0\n        for: 5m\n        annotations: {{summary: failed}}\n"
        )
    };
    let first = format!("groups:\n  - name: g\n    rules:\n{}", alert("backup"));
    std::fs::write(rules.join("team-a/backup.yml"), &first).unwrap();
    std::fs::write(
        rules.join("deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\n",
    )
    .unwrap();
    let path = rules.to_str().unwrap();
    let report = run(&["check", "--rules", path]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(
        report.stderr.contains("warning[PW108]"),
        "{}",
        report.stderr
    );
    assert!(
        report.stderr.contains("1 rule file (1 rule)")
            && report.stderr.contains("1 file in the folders skipped"),
        "{}",
        report.stderr
    );
    assert_eq!(
        run(&["check", "--rules", path, "--fail-on", "warning"]).code,
        1
    );
    let off = run(&[
        "check",
        "--rules",
        path,
        "--fail-on",
        "warning",
        "--level",
        "PW108=off",
    ]);
    assert_eq!(off.code, 0, "{}", off.stderr);
    let up = run(&[
        "check",
        "--rules",
        path,
        "--level",
        "counter-compared=error",
    ]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    assert_eq!(run(&["check", "--rules", path, "--level", "PW108"]).code, 2);

    let baseline = dir.path().join("baseline.json");
    let b = baseline.to_str().unwrap();
    let wrote = run(&["check", "--rules", path, "--write-baseline", b]);
    assert_eq!(wrote.code, 0, "{}", wrote.stderr);
    let known = run(&[
        "check",
        "--rules",
        path,
        "--fail-on",
        "warning",
        "--baseline",
        b,
    ]);
    assert_eq!(known.code, 0, "{}", known.stderr);
    assert!(
        known.stderr.contains("1 of them in the baseline"),
        "{}",
        known.stderr
    );
    // A new finding fails; the old one stays quiet.
    let second = format!("{first}{}", alert("restore"));
    std::fs::write(rules.join("team-a/backup.yml"), second).unwrap();
    let new = run(&[
        "check",
        "--rules",
        path,
        "--fail-on",
        "warning",
        "--baseline",
        b,
    ]);
    assert_eq!(new.code, 1, "{}", new.stderr);
    assert_eq!(
        new.stderr.matches("warning[PW108]").count(),
        1,
        "{}",
        new.stderr
    );
    assert!(
        new.stderr.contains("restore_failures_total"),
        "{}",
        new.stderr
    );
}

/// Opt-in: every rule file and dashboard of a corpus of public repositories
/// (`POOLWATCH_RULE_CORPUS`, laid out as scripts/lint-corpus.sh says) is read, and the
/// rule sets the issue names (kube-prometheus, awesome-prometheus-alerts) hold no
/// error-level finding. Not run in CI: the corpus is third-party and cannot ship.
fn public_corpus_is_read_without_false_errors() {
    let corpus = PathBuf::from(std::env::var_os("POOLWATCH_RULE_CORPUS").unwrap());
    let mut files = 0;
    for (kind, flag) in [("rules", "--rules"), ("dash", "--dashboards")] {
        let Ok(sets) = std::fs::read_dir(corpus.join(kind)) else {
            continue;
        };
        let mut sets: Vec<PathBuf> = sets.map(|e| e.unwrap().path()).collect();
        sets.sort();
        for set in sets {
            let name = set.file_name().unwrap().to_string_lossy().to_string();
            let report = run(&["check", flag, set.to_str().unwrap(), "--format", "json"]);
            assert_ne!(
                report.code, 2,
                "{name}: unreadable input:\n{}",
                report.stdout
            );
            let doc: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
            // awesome-prometheus-alerts is `apa` in the session corpus.
            let strict = ["kube-prometheus", "awesome", "apa"]
                .iter()
                .any(|s| name.contains(s));
            if strict {
                assert_eq!(doc["errors"], 0, "{name}:\n{}", report.stdout);
            }
            files += 1;
        }
    }
    assert!(files > 0, "no rules/ or dash/ folders in the corpus");
}

/// `--prometheus` decides what is reported: `holt_winters` is Prometheus 2's name and
/// `double_exponential_smoothing` Prometheus 3's (promtool 2.42 rejects the latter); an
/// integer `le` breaks only on 3; with no version, 3 is assumed and the findings are
/// warnings.
fn the_prometheus_version_decides_what_breaks() {
    let rules = "groups:\n- name: g\n  rules:\n  - record: job:a:hw\n    expr: holt_winters(a[1h], 0.3, 0.3)\n  - record: job:a:des\n    expr: double_exponential_smoothing(a[1h], 0.3, 0.3)\n  - record: job:a_bucket:le1\n    expr: sum by (job) (rate(a_bucket{le=\"1\"}[5m]))\n";
    let found = |args: &[&str]| {
        let r = lint_text_with(rules, args);
        let mut codes: Vec<String> = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("error[") || l.starts_with("warning["))
            .map(|l| l.split(']').next().unwrap_or("").to_string() + "]")
            .collect();
        codes.sort();
        codes
    };
    assert_eq!(found(&["--prometheus", "2"]), vec!["error[PW115]"]);
    assert_eq!(
        found(&["--prometheus", "3"]),
        vec!["error[PW113]", "error[PW115]", "warning[PW115]"]
    );
    assert_eq!(
        found(&[]),
        vec!["warning[PW113]", "warning[PW115]", "warning[PW115]"]
    );
    assert!(
        Cli::try_parse_from([
            "poolwatch",
            "check",
            "--rules",
            "x.yml",
            "--prometheus",
            "4"
        ])
        .is_err()
    );
}

use crate::harness::{Need, PROMTOOL, RUNBOOK_RULES};

/// The spec's catalog knows K2's buckets: the runbook's "p99 query latency above 10s", written
/// by hand, is an alert that can never fire (the largest finite bucket is 5s).
fn a_spec_catalog_s_buckets_make_an_unreachable_threshold_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("slow.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: k2\n  rules:\n  - alert: SlowQueries\n    expr: histogram_quantile(0.99, sum by (le, instance) (rate(k2_query_duration_seconds_bucket[5m]))) > 10\n    for: 5m\n    labels: {severity: warning}\n    annotations: {summary: slow, runbook_url: https://example.com}\n",
    )
    .unwrap();
    let path = rules.to_string_lossy().to_string();
    let with_spec = run(&["check", "--spec", "specs/k2.yaml", "--rules", &path]);
    assert!(with_spec.stderr.contains("[PW109]"), "{}", with_spec.stderr);
    assert_eq!(with_spec.code, 1, "{}", with_spec.stderr);
    // Without a catalog nothing says where the buckets end.
    let without = run(&["check", "--rules", &path]);
    assert!(!without.stderr.contains("[PW109]"), "{}", without.stderr);
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        a_spec_catalog_s_buckets_make_an_unreachable_threshold_an_error,
        fixtures,
        every_check_has_a_bad_and_a_good_fixture,
        [RUNBOOK_RULES] the_runbook_rule_file_prints_a_ratio_as_a_percentage,
        every_generated_rule_file_and_dashboard_is_clean,
        exit_codes,
        suppressed_findings_are_counted_and_listed_in_json,
        github_format_annotates_the_line,
        a_spec_suppression_silences_one_check_for_one_rule,
        checks_doc_lists_every_registered_check,
        group_labels_apply_to_their_rules,
        prometheus_rule_manifests_are_linted_too,
        [PROMTOOL] fixtures_agree_with_promtool,
        raw_buckets_and_last_values_of_counters_need_a_rate,
        a_suppression_applies_to_the_rule_below_it_only,
        no_spec_reads_what_promtool_reads,
        a_broken_rule_file_is_located_in_plain_words,
        a_broken_dashboard_is_located_in_plain_words,
        no_spec_imposes_no_catalog,
        metrics_and_metadata_give_exact_types,
        folders_levels_and_baselines,
        the_prometheus_version_decides_what_breaks,
        [Need::OptIn("POOLWATCH_RULE_CORPUS")] public_corpus_is_read_without_false_errors,
    ]
}
