//! A repository from a stranger (a fork's pull request): whatever the output folder, its
//! manifest or the files under `--rules`/`--dashboards` hold, poolwatch writes and removes
//! only inside `--out`, reads only what it is asked to, never crashes and ends in time.
//! Each test is an attack from issue 26 or a variant of one (SECURITY.md).

// Helpers here run only inside tests, where unwrap and panic are the way to fail.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::symlink;
use std::path::Path;

use poolwatch::render::OutputFile;
use poolwatch::write::{Mode, Session};

use crate::common::process::{code, poolwatch, stderr};

/// 64-bit FNV-1a: the hash a manifest without a `# hash:` line is read with (what an
/// attacker who knows a file's contents writes next to its path).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every path below `dir` (links not followed), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A scratch folder with `outside/` (what must stay untouched) and `out/`.
fn scratch() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("outside")).unwrap();
    std::fs::write(d.path().join("outside/victim.txt"), "precious\n").unwrap();
    d
}

fn emit(d: &Path) -> std::process::Output {
    poolwatch(&["emit", "--out", "out"], d)
}

fn assert_outside_untouched(d: &Path) {
    assert_eq!(
        listing(&d.join("outside")),
        ["victim.txt"],
        "outside/ changed"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("outside/victim.txt")).unwrap(),
        "precious\n"
    );
}

/// The first attack: `out/rules -> ../outside`. Emit must refuse it, name it, and
/// write nothing anywhere.
fn a_symlinked_folder_in_the_output_is_refused() {
    let dir = scratch();
    let d = dir.path();
    std::fs::create_dir(d.join("out")).unwrap();
    symlink("../outside", d.join("out/rules")).unwrap();
    let out = emit(d);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("out/rules is a symbolic link"), "{err}");
    assert_outside_untouched(d);
    assert_eq!(
        listing(&d.join("out")),
        ["rules"],
        "nothing written in out/"
    );
}

/// `--out` itself a link (a repository holding `generated -> ~/.config`).
fn the_output_folder_as_a_symlink_is_refused() {
    let dir = scratch();
    let d = dir.path();
    symlink("outside", d.join("out")).unwrap();
    let out = emit(d);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("out is a symbolic link"));
    assert_outside_untouched(d);
}

/// A generated file's place holding a link to a file outside, and the manifest as a link:
/// refused, the link and its target left as they are.
fn a_symlinked_file_or_manifest_in_the_output_is_refused() {
    for (link, target) in [
        ("out/rules/connection_pool.yml", "../../outside/victim.txt"),
        ("out/.poolwatch-manifest", "../outside/victim.txt"),
    ] {
        let dir = scratch();
        let d = dir.path();
        std::fs::create_dir_all(d.join("out/rules")).unwrap();
        symlink(target, d.join(link)).unwrap();
        let before = listing(&d.join("out"));
        let out = emit(d);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{link}: {err}");
        assert!(err.contains(&format!("{link} is a symbolic link")), "{err}");
        assert_outside_untouched(d);
        assert_eq!(listing(&d.join("out")), before, "{link}: nothing written");
        let kept = std::fs::symlink_metadata(d.join(link)).unwrap();
        assert!(kept.file_type().is_symlink(), "{link} replaced");
    }
}

/// The second attack: a link in the output folder and a manifest line naming the
/// file behind it, with that file's hash. Emit must not remove it, and say it ignored the
/// line. Also lines that leave the folder by `..` or an absolute path.
fn a_manifest_cannot_remove_a_file_outside() {
    let victim_hash = fnv(b"precious\n");
    let dir = scratch();
    let d = dir.path();
    let abs = d.join("outside/victim.txt");
    let lines = [
        "link/victim.txt".to_string(),
        "../outside/victim.txt".to_string(),
        "rules/../../outside/victim.txt".to_string(),
        "./../outside/victim.txt".to_string(),
        "rules//../../outside/victim.txt".to_string(),
        "..\\outside\\victim.txt".to_string(),
        abs.display().to_string(),
    ];
    std::fs::create_dir(d.join("out")).unwrap();
    symlink("../outside", d.join("out/link")).unwrap();
    let manifest: String = lines
        .iter()
        .map(|l| format!("{victim_hash:016x} {l}\n"))
        .collect();
    std::fs::write(d.join("out/.poolwatch-manifest"), manifest).unwrap();
    let out = emit(d);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert_outside_untouched(d);
    assert!(!err.contains("(no longer generated)"), "{err}");
    for l in &lines {
        assert!(
            err.contains(&format!("warning: ignored `{l}`")),
            "no warning for {l}: {err}"
        );
    }
}

/// A generated file: poolwatch writes it, then no longer does.
fn file(path: &str) -> OutputFile {
    OutputFile {
        path: path.into(),
        contents: "generated\n".into(),
    }
}

/// Runs a session that generates `generated` into `out`, swapping the folder `swapped`
/// for a link to `outside/` between staging and finishing; then checks that outside/ is
/// as it was and that the run finished.
fn emit_with_a_swap(d: &Path, generated: &str, swapped: &str) {
    let out = d.join("out");
    let session = Session::begin(&out, Mode::Write, true).unwrap();
    session.add(&[file(generated)]).unwrap();
    std::fs::rename(out.join(swapped), out.join(format!("{swapped}.moved"))).unwrap();
    symlink("../outside", out.join(swapped)).unwrap();
    let outcome = session.finish();
    assert_outside_untouched(d);
    assert!(outcome.is_ok(), "{outcome:?}");
}

/// A folder swapped for a link to outside after the manifest was read, before the files
/// it lists are removed: the file behind the link is not removed. Checking paths when the
/// manifest is read would not do: the swap comes after any such check.
fn a_folder_swapped_for_a_link_mid_run_removes_nothing_outside() {
    let dir = scratch();
    let d = dir.path();
    let out = d.join("out");
    std::fs::create_dir_all(out.join("old")).unwrap();
    std::fs::write(out.join("old/victim.txt"), "precious\n").unwrap();
    std::fs::write(out.join("kept.yml"), "generated\n").unwrap();
    std::fs::write(
        out.join(".poolwatch-manifest"),
        format!("{:016x} old/victim.txt\n", fnv(b"precious\n")),
    )
    .unwrap();
    emit_with_a_swap(d, "kept.yml", "old");
}

/// A folder swapped for a link to outside after its files were staged, before they are
/// renamed into place: the file goes where the run opened the folder, still inside.
fn a_folder_swapped_for_a_link_mid_run_writes_inside() {
    let dir = scratch();
    let d = dir.path();
    let out = d.join("out");
    std::fs::create_dir_all(out.join("rules")).unwrap();
    emit_with_a_swap(d, "rules/a.yml", "rules");
    assert_eq!(
        std::fs::read_to_string(out.join("rules.moved/a.yml")).unwrap(),
        "generated\n"
    );
}

/// One expression per way of nesting, `n` levels deep: operator chains, parentheses,
/// calls, aggregations, unary minus.
fn deep_shapes(n: usize) -> Vec<String> {
    vec![
        vec!["up"; n].join(" + "),
        vec!["up"; n].join(" or "),
        format!("{}up{}", "(".repeat(n), ")".repeat(n)),
        format!("{}up{}", "abs(".repeat(n), ")".repeat(n)),
        format!("{}rate(up[5m]){}", "sum(".repeat(n), ")".repeat(n)),
        format!("{}up", "-".repeat(n)),
    ]
}

/// `check --rules` of one alerting rule with `expr`; its exit code and stderr.
fn check_rule(d: &Path, expr: &str) -> (i32, String) {
    let rules = format!(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: '{expr} > 1'\n    for: 5m\n"
    );
    std::fs::write(d.join("r.yml"), rules).unwrap();
    let out = poolwatch(&["check", "--rules", "r.yml"], d);
    (code(&out), stderr(&out))
}

/// The third attack and its variants: expressions thousands of levels deep, in a
/// rule file and in a dashboard, get a located PW050 instead of a stack overflow (exit 134
/// before). One shape per way of nesting.
fn deep_expressions_are_a_located_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (i, expr) in deep_shapes(5000).iter().enumerate() {
        let (code_, err) = check_rule(d, expr);
        assert_eq!(code_, 1, "shape {i}: {err:.400}");
        assert!(err.contains("error[PW050]"), "shape {i}: {err:.400}");
        assert!(
            err.contains("at: r.yml:5:"),
            "shape {i} not located: {err:.600}"
        );
        let panel = serde_json::json!({
            "panels": [{"type": "timeseries", "title": "t", "targets": [{"expr": expr}]}]
        });
        std::fs::write(d.join("d.json"), panel.to_string()).unwrap();
        let out = poolwatch(&["check", "--dashboards", "d.json"], d);
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "dashboard shape {i}: {err:.400}");
        assert!(
            err.contains("error[PW050]"),
            "dashboard shape {i}: {err:.400}"
        );
    }
}

/// Just under the limit, every shape is read and checked, on the binary's own threads (2 MiB
/// stacks, a debug build in this suite): the limit leaves the walks room.
fn expressions_at_the_depth_limit_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (i, expr) in deep_shapes(250).iter().enumerate() {
        let (code_, err) = check_rule(d, expr);
        assert!(matches!(code_, 0 | 1), "shape {i}: {err:.400}");
        assert!(!err.contains("PW050"), "shape {i} refused: {err:.400}");
        assert!(
            !err.contains("PW101"),
            "shape {i} did not parse: {err:.400}"
        );
    }
}

/// 100,000 terms (promtool accepts them): refused after one linear scan, not after a minute
/// of parsing and an abort. 50,000 nested `{{ if }}` in an annotation: a linear scan too
/// (minutes before, each action asked the whole block stack).
fn long_expressions_and_templates_end_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let expr = vec!["up"; 100_000].join(" + ");
    let rules = format!(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: '{expr} > 1'\n    for: 5m\n"
    );
    std::fs::write(d.join("r.yml"), rules).unwrap();
    let started = std::time::Instant::now();
    let out = poolwatch(&["check", "--rules", "r.yml"], d);
    assert_eq!(code(&out), 1, "{:.400}", stderr(&out));
    assert!(stderr(&out).contains("error[PW050]"));
    let template = format!(
        "{}x{}",
        "{{ if true }}".repeat(50_000),
        "{{ end }}".repeat(50_000)
    );
    let rules = format!(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up > 1\n    for: 5m\n    \
         labels: {{severity: page}}\n    annotations: {{summary: '{template}'}}\n"
    );
    std::fs::write(d.join("t.yml"), rules).unwrap();
    let out = poolwatch(&["check", "--rules", "t.yml"], d);
    assert!(matches!(code(&out), 0 | 1), "{:.400}", stderr(&out));
    // Generous for a debug build on a busy machine; before, each took minutes.
    let took = started.elapsed();
    assert!(took.as_secs() < 60, "took {took:?}");
}

/// Deep YAML and JSON (rule files, dashboards) are refused by the readers' own limits with
/// a located error, not a stack overflow.
fn deep_yaml_and_json_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 100_000;
    std::fs::write(
        d.join("r.yml"),
        format!("groups: {}{}\n", "[".repeat(n), "]".repeat(n)),
    )
    .unwrap();
    std::fs::write(
        d.join("r2.yml"),
        format!("groups:\n- {}1{}\n", "{a: ".repeat(n), "}".repeat(n)),
    )
    .unwrap();
    std::fs::write(
        d.join("d.json"),
        format!("{{\"panels\": {}1{}}}", "{\"a\":".repeat(n), "}".repeat(n)),
    )
    .unwrap();
    for (flag, file) in [
        ("--rules", "r.yml"),
        ("--rules", "r2.yml"),
        ("--dashboards", "d.json"),
    ] {
        let out = poolwatch(&["check", flag, file], d);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{file}: {err:.400}");
        assert!(
            err.contains(&format!("at: {file}:")),
            "{file} not located: {err:.400}"
        );
    }
}

/// A link in a folder given to `--rules` is not followed: its target's text (a secret
/// the CI machine holds) never reaches the output, and link loops end.
fn links_in_searched_folders_are_not_followed() {
    let dir = scratch();
    let d = dir.path();
    std::fs::write(d.join("outside/secret.yml"), "groups: [TOKEN-4711\n").unwrap();
    std::fs::create_dir(d.join("rules")).unwrap();
    symlink("../outside/secret.yml", d.join("rules/leak.yml")).unwrap();
    // Two loops: following them lists 2^40 paths.
    symlink(".", d.join("rules/a")).unwrap();
    symlink(".", d.join("rules/b")).unwrap();
    std::fs::write(
        d.join("rules/ok.yml"),
        "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n",
    )
    .unwrap();
    let out = poolwatch(&["check", "--rules", "rules"], d);
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!all.contains("TOKEN-4711"), "a linked file was read: {all}");
    assert!(all.contains("rules/leak.yml is a symbolic link"), "{all}");
    assert!(all.contains("1 rule file"), "{all}");
    assert_eq!(code(&out), 0, "{all}");
}

/// Inputs that crashed or hung poolwatch once (the fuzzer's findings and the issue's
/// attacks, `tests/fuzz_regressions/`): each ends in findings or a located error.
fn fuzz_regressions_end_in_a_diagnostic() {
    let root = crate::common::root().join("tests/fuzz_regressions");
    let mut seen = 0;
    for (folder, flag) in [
        ("lint_rules", "--rules"),
        ("lint_dashboards", "--dashboards"),
    ] {
        for e in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = e.unwrap().path();
            let out = poolwatch(&["check", flag, path.to_str().unwrap()], &root);
            let err = stderr(&out);
            assert!(
                matches!(code(&out), 1 | 2),
                "{}: {err:.400}",
                path.display()
            );
            assert!(
                err.contains("error["),
                "{}: no diagnostic: {err:.400}",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 2, "the regression files are missing");
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        a_symlinked_folder_in_the_output_is_refused,
        the_output_folder_as_a_symlink_is_refused,
        a_symlinked_file_or_manifest_in_the_output_is_refused,
        a_manifest_cannot_remove_a_file_outside,
        a_folder_swapped_for_a_link_mid_run_removes_nothing_outside,
        a_folder_swapped_for_a_link_mid_run_writes_inside,
        deep_expressions_are_a_located_diagnostic,
        expressions_at_the_depth_limit_are_checked,
        long_expressions_and_templates_end_quickly,
        deep_yaml_and_json_are_refused,
        links_in_searched_folders_are_not_followed,
        fuzz_regressions_end_in_a_diagnostic,
    ]
}
