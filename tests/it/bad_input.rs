//! Hostile and broken input: every spec under `tests/bad_specs/` gets a clear message, exit
//! code 2, no panic and no hang; the messages are snapshotted. Inputs that cannot be a file in
//! the corpus (missing, huge, a folder, an unusable `--out`) are made at test time.

use crate::common;

use std::path::Path;

use common::process::{code, poolwatch, stderr};

fn root() -> std::path::PathBuf {
    common::root()
}

/// Checks what every failing run must do, and returns the text to snapshot.
fn failed_cleanly(out: &std::process::Output, expected_code: i32) -> String {
    let err = stderr(out);
    assert_eq!(code(out), expected_code, "exit code; stderr:\n{err}");
    assert!(!err.contains("panicked"), "panic:\n{err}");
    assert!(out.stdout.is_empty(), "stdout should be empty");
    assert!(err.contains("error[PW"), "no diagnostic:\n{err}");
    format!("exit code: {}\n{err}", code(out))
}

fn bad_specs_get_clear_messages() {
    insta::glob!("../bad_specs", "*.yaml", |path| {
        let rel = path.strip_prefix(root()).unwrap().to_str().unwrap();
        let out = poolwatch(&["check", "--spec", rel], &root());
        let text = failed_cleanly(&out, 2);
        // Where the spec has a place for the error, the message shows file:line:col.
        let name = path.file_name().unwrap().to_str().unwrap();
        if !["empty.yaml", "only_comments.yaml"].contains(&name) {
            assert!(
                text.contains(&format!("{rel}:")),
                "no file:line:col in:\n{text}"
            );
        }
        insta::assert_snapshot!(text);
    });
}

/// `emit` on a bad spec fails the same way and writes nothing at all.
fn emit_on_bad_specs_writes_nothing() {
    for name in [
        "several_errors.yaml",
        "invalid_yaml_indent.yaml",
        "alias_bomb.yaml",
    ] {
        let out_dir = tempfile::tempdir().unwrap();
        let target = out_dir.path().join("out");
        let spec = format!("tests/bad_specs/{name}");
        let out = poolwatch(
            &["emit", "--spec", &spec, "--out", target.to_str().unwrap()],
            &root(),
        );
        let text = failed_cleanly(&out, 2);
        assert!(text.contains("nothing was written"), "{text}");
        assert!(!target.exists(), "{name}: output folder was created");
    }
}

/// Several bad values in one spec give one diagnostic each.
fn every_error_is_reported() {
    let out = poolwatch(
        &["check", "--spec", "tests/bad_specs/several_errors.yaml"],
        &root(),
    );
    let err = stderr(&out);
    assert_eq!(err.matches("error[PW").count(), 6, "{err}");
    assert!(err.contains("poolwatch: 6 errors, 0 warnings"), "{err}");
}

/// Runs a command on a spec made at test time; temp paths are replaced by `<TMP>`.
fn run_in_temp(args: &[&str], dir: &Path) -> String {
    let out = poolwatch(args, dir);
    failed_cleanly(&out, 2).replace(dir.to_str().expect("utf-8 temp path"), "<TMP>")
}

fn a_missing_spec() {
    let dir = tempfile::tempdir().unwrap();
    let text = run_in_temp(&["check", "--spec", "nope.yaml"], dir.path());
    assert!(text.contains("cannot read nope.yaml"), "{text}");
    insta::assert_snapshot!(text);
}

fn a_folder_as_spec() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("specs")).unwrap();
    let text = run_in_temp(&["check", "--spec", "specs"], dir.path());
    insta::assert_snapshot!(text);
}

/// A spec over `MAX_SPEC_BYTES` is refused before it is read. The file is sparse: it
/// takes no disk space.
fn a_huge_spec() {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(dir.path().join("huge.yaml")).unwrap();
    f.set_len(poolwatch::spec::MAX_SPEC_BYTES as u64 + 1)
        .unwrap();
    let text = run_in_temp(&["check", "--spec", "huge.yaml"], dir.path());
    assert!(text.contains("may be at most"), "{text}");
    insta::assert_snapshot!(text);
}

/// A spec whose one value is an 8 MiB line (an eighth of the 64 MiB limit, so it is read and
/// parsed) and which lacks `runbook_url`: the error names the place without echoing the line.
fn an_error_on_an_8_mib_line_names_the_place_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "version: 1\nname: shop\ntitle: {}\n",
        "x".repeat(8 * 1024 * 1024)
    );
    std::fs::write(dir.path().join("big.yaml"), text).unwrap();
    let text = run_in_temp(&["check", "--spec", "big.yaml"], dir.path());
    // Under the size limit, so the refusal is the parser's, not the size check's.
    const { assert!(8 * 1024 * 1024 < poolwatch::spec::MAX_SPEC_BYTES) };
    // The 8 MiB line is not echoed; the place is named instead.
    assert!(text.len() < 2000, "{} bytes of stderr", text.len());
    assert!(text.contains("missing field `runbook_url`"), "{text}");
    assert!(
        text.contains("big.yaml:3:1 (the line is 8388615 bytes long, too long to show)"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

/// `emit` in a folder with no spec says plainly that it writes the built-in K2 example; with
/// `specs/k2.yaml` there (the built-in text), it says nothing of the kind.
fn emit_without_a_spec_says_it_uses_the_built_in_k2_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = poolwatch(&["emit", "--out", "out"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "no --spec given and no specs/k2.yaml in the working folder: using the built-in K2 \
             example spec"
        ),
        "{stderr}"
    );
    std::fs::create_dir(dir.path().join("specs")).unwrap();
    std::fs::write(
        dir.path().join("specs/k2.yaml"),
        poolwatch::spec::BUILTIN_K2,
    )
    .unwrap();
    let out = poolwatch(&["emit", "--out", "out"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("built-in"), "{stderr}");
}

/// An `--out` that is a file, or lies below a file so it cannot be created (permissions
/// cannot be used for this: tests may run as root). Nothing is changed.
fn unusable_out_folders() {
    for (name, out_arg, expected) in [
        ("out_is_a_file", "out", "is not a folder"),
        ("out_below_a_file", "file/generated", "PW090"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        for f in ["out", "file"] {
            std::fs::write(dir.path().join(f), "not a folder").unwrap();
        }
        let text = run_in_temp(&["emit", "--out", out_arg], dir.path());
        assert!(text.contains(expected), "{text}");
        for f in ["out", "file"] {
            let kept = std::fs::read_to_string(dir.path().join(f)).unwrap();
            assert_eq!(kept, "not a folder");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        insta::assert_snapshot!(name, text);
    }
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        bad_specs_get_clear_messages,
        emit_on_bad_specs_writes_nothing,
        every_error_is_reported,
        a_missing_spec,
        a_folder_as_spec,
        a_huge_spec,
        an_error_on_an_8_mib_line_names_the_place_without_echoing_it,
        emit_without_a_spec_says_it_uses_the_built_in_k2_example,
        unusable_out_folders,
    ]
}
