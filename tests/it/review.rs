//! A reviewer's view of a change: `poolwatch diff --base REF` and `emit --check` say in
//! words what real edits of the K2 spec and of each preset change for on-call, read
//! through a real git repository.

use std::path::Path;
use std::process::Command;

use crate::common::process::{code, poolwatch, stderr};
use crate::harness::GIT;
use poolwatch::spec::{BUILTIN_K2, preset};

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [GIT] k2_edits_are_summarized,
        [GIT] preset_edits_are_summarized,
        [GIT] markdown_and_json_summaries,
        [GIT] a_spec_missing_at_the_base_is_all_new,
        [GIT] a_bad_ref_is_an_input_error,
        [GIT] emit_check_summarizes_and_annotates_each_stale_file,
    ]
}

/// Runs git in `dir` as a throwaway author; it must succeed.
pub(crate) fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// A repository with `spec.yaml` committed as `before`, then edited to `after` in the
/// working tree.
fn repo(before: &str, after: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::write(dir.path().join("spec.yaml"), before).unwrap();
    git(dir.path(), &["add", "spec.yaml"]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    std::fs::write(dir.path().join("spec.yaml"), after).unwrap();
    dir
}

/// `poolwatch diff --base HEAD` of an edit, in `format`.
fn diff(before: &str, after: &str, format: &str) -> String {
    assert_ne!(before, after, "the edit changed nothing");
    let dir = repo(before, after);
    let out = poolwatch(
        &[
            "diff",
            "--base",
            "HEAD",
            "--spec",
            "spec.yaml",
            "--format",
            format,
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// `text` with `from` replaced by `to` once; the edit must apply.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in the spec");
    text.replacen(from, to, 1)
}

/// The spec with its first pool copied under another name and selector: a new pool.
fn with_new_pool(text: &str, pool: &str) -> String {
    let start = text.find("pools:\n").unwrap() + "pools:\n".len();
    let len = text[start..]
        .find("\n\n")
        .or_else(|| text[start..].find("\npolicies:"))
        .unwrap();
    let block = &text[start..start + len];
    let name_line = block.lines().next().unwrap();
    let copy = block
        .replacen(name_line, &format!("  - name: {pool}"), 1)
        .replacen("selector: {}", "selector: {instance: \"replica:9090\"}", 1);
    format!("{}\n{copy}{}", &text[..start + len], &text[start + len..])
}

/// The spec with its first pool renamed: every alert now carries another pool label.
fn with_renamed_pool(text: &str, to: &str) -> String {
    let start = text.find("pools:\n  - name: ").unwrap() + "pools:\n  - name: ".len();
    let end = start + text[start..].find('\n').unwrap();
    format!("{}{to}{}", &text[..start], &text[end..])
}

fn k2_edits_are_summarized() {
    let k2 = BUILTIN_K2;
    let cases = [
        (
            "k2_threshold",
            edit(
                k2,
                "{ value: 0.9, color: red, severity: warning, for: 5m }",
                "{ value: 0.85, color: red, severity: warning, for: 5m }",
            ),
        ),
        (
            "k2_severity",
            edit(k2, "severity: high, for: 2m", "severity: critical, for: 2m"),
        ),
        ("k2_new_pool", with_new_pool(k2, "k2_replica")),
        (
            "k2_removed_environment",
            edit(
                k2,
                "  demo:\n    expected_pool_size: 10\n    memory_budget: 500MB\n",
                "",
            ),
        ),
        ("k2_renamed_alert", with_renamed_pool(k2, "duckdb")),
    ];
    for (name, after) in cases {
        let text = diff(k2, &after, "human");
        insta::assert_snapshot!(name, text);
    }
    // The lead's example, word for word: production-heavy's own 85% moved to 80%.
    let after = edit(
        k2,
        "value: 0.85, color: orange",
        "value: 0.8, color: orange",
    );
    let text = diff(k2, &after, "human");
    assert!(
        text.contains(
            "ConnectionPoolHighUtilization, k2 production-heavy: fires above 80% instead of 85%, for 5m"
        ),
        "{text}"
    );
    // Only production-heavy has that level: no other variant is said to change.
    assert!(
        text.lines().filter(|l| l.contains("fires above")).count() == 1,
        "{text}"
    );
}

fn preset_edits_are_summarized() {
    for name in ["hikaricp", "pgbouncer", "go-sql"] {
        let text = preset(name).unwrap();
        let cases = [
            (
                "threshold",
                edit(
                    text,
                    "{ value: 0.9, color: red, severity: warning, for: 5m }",
                    "{ value: 0.8, color: red, severity: warning, for: 10m }",
                ),
            ),
            (
                "severity",
                edit(
                    text,
                    "severity: warning, for: 5m }",
                    "severity: critical, for: 5m }",
                ),
            ),
            ("new_pool", with_new_pool(text, "replica")),
            ("renamed_alert", with_renamed_pool(text, "renamed")),
        ];
        for (case, after) in cases {
            let out = diff(text, &after, "human");
            insta::assert_snapshot!(format!("{name}_{case}"), out);
        }
    }
}

fn markdown_and_json_summaries() {
    let after = edit(
        &with_new_pool(BUILTIN_K2, "k2_replica"),
        "{ value: 0.9, color: red, severity: warning, for: 5m }",
        "{ value: 0.85, color: red, severity: warning, for: 5m }",
    );
    insta::assert_snapshot!("k2_markdown", diff(BUILTIN_K2, &after, "markdown"));
    let json = diff(BUILTIN_K2, &after, "json");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Base variant: the threshold sentence and the new pool's alerts, typed.
    let base = doc["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["environment"].is_null())
        .unwrap();
    let changes = base["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["subject"] == "alert"
        && c["kind"] == "changed"
        && c["name"] == "ConnectionPoolHighUtilization"
        && c["sentence"] == "fires above 85% instead of 90%, for 5m"));
    assert!(changes.iter().any(|c| c["subject"] == "alert"
        && c["kind"] == "added"
        && c["name"] == "ConnectionPoolHighUtilization (pool k2_replica)"));
    insta::assert_snapshot!("k2_json", json);
}

fn a_spec_missing_at_the_base_is_all_new() {
    let dir = repo("x", "y");
    std::fs::write(dir.path().join("new.yaml"), BUILTIN_K2).unwrap();
    let out = poolwatch(
        &["diff", "--base", "HEAD", "--spec", "new.yaml"],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("note: new.yaml is not in HEAD: everything it generates is new"),
        "{text}"
    );
    assert!(text.contains("k2: new spec"), "{text}");
    assert!(
        text.contains(
            "ConnectionPoolHighUtilization, k2: new alert: fires above 90% for 5m, severity warning"
        ),
        "{text}"
    );
}

fn a_bad_ref_is_an_input_error() {
    let dir = repo(BUILTIN_K2, &format!("{BUILTIN_K2}\n"));
    let out = poolwatch(
        &["diff", "--base", "no-such-branch", "--spec", "spec.yaml"],
        dir.path(),
    );
    assert_eq!(code(&out), 2);
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("`no-such-branch` names no commit in the repository of spec.yaml"),
        "{}",
        stderr(&out)
    );
    // Outside any repository.
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("spec.yaml"), BUILTIN_K2).unwrap();
    let out = poolwatch(
        &["diff", "--base", "HEAD", "--spec", "spec.yaml"],
        plain.path(),
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("spec.yaml is not in a git repository"),
        "{}",
        stderr(&out)
    );
}

fn emit_check_summarizes_and_annotates_each_stale_file() {
    let after = edit(
        BUILTIN_K2,
        "{ value: 0.9, color: red, severity: warning, for: 5m }",
        "{ value: 0.85, color: red, severity: warning, for: 5m }",
    );
    let dir = repo(BUILTIN_K2, BUILTIN_K2);
    let d = dir.path();
    let out = poolwatch(&["emit", "--spec", "spec.yaml", "--out", "out"], d);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::write(d.join("spec.yaml"), &after).unwrap();
    let out = poolwatch(
        &[
            "emit",
            "--check",
            "--spec",
            "spec.yaml",
            "--out",
            "out",
            "--format",
            "github",
        ],
        d,
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    // The stale files as the last line of stderr names them, one annotation each.
    let listed = err
        .lines()
        .find_map(|l| l.strip_prefix("poolwatch: stale in out: "))
        .unwrap();
    let stale: Vec<&str> = listed.split(", ").collect();
    assert!(stale.len() > 5, "{listed}");
    let annotated: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("::error file=out/"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(annotated, stale);
    assert!(
        text.contains("ConnectionPoolHighUtilization, k2: fires above 85% instead of 90%, for 5m"),
        "{text}"
    );
    assert!(
        text.contains("utilization:ratio{pool=\"k2\"} > 0.85"),
        "the diff is printed too:\n{text}"
    );
}
