//! The output folder is never lost or corrupted: a failing run changes nothing, unchanged
//! files are not rewritten, a run killed at any moment leaves every file whole (old or
//! new), and the same spec always gives the same bytes.

// Helpers here run only inside tests, where unwrap and panic are the way to fail.
#![allow(clippy::unwrap_used, clippy::panic)]

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::process::{bin, code, poolwatch, stderr};

/// Every entry under `dir`: relative path → contents (`None` for a folder), mode, inode and
/// modification time.
type Tree = BTreeMap<PathBuf, (Option<Vec<u8>>, u32, u64, i64, i64)>;

fn tree(dir: &Path) -> Tree {
    let mut out = Tree::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let contents = if m.is_dir() {
                stack.push(p.clone());
                None
            } else {
                Some(std::fs::read(&p).unwrap())
            };
            let key = p.strip_prefix(dir).unwrap().to_path_buf();
            out.insert(
                key,
                (contents, m.mode(), m.ino(), m.mtime(), m.mtime_nsec()),
            );
        }
    }
    out
}

/// A spec of `n` pools, all alike but for their names and selectors. `threshold` changes
/// every alert, so two values give two different outputs.
fn fleet_spec(n: usize, threshold: &str) -> String {
    let mut s = String::from(
        "version: 1\nname: fleet\nrunbook_url: https://runbooks.example.com/pool.md\ncatalog:\n",
    );
    s.push_str(&common::specgen::catalog(&["service", "shard"]));
    s.push_str("pools:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  - name: pool-{i:04}\n    selector: {{ service: shop, shard: \"s{i}\" }}\n    \
             keep_labels: [namespace]\n    metrics: {}\n",
            common::specgen::METRICS
        ));
    }
    s.push_str(&format!(
        "policies:\n  utilization:\n    levels:\n      - {{ value: {threshold}, color: red, \
         severity: warning, for: 5m }}\n"
    ));
    s
}

fn emit(cwd: &Path, spec: &str, out: &str) -> std::process::Output {
    poolwatch(&["emit", "--spec", spec, "--out", out], cwd)
}

/// Runs that fail at any stage leave the output folder exactly as it was, down to inodes
/// and modification times.
fn a_failing_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("good.yaml"), fleet_spec(2, "0.9")).unwrap();
    std::fs::write(d.join("other.yaml"), fleet_spec(3, "0.8")).unwrap();
    std::fs::copy(
        common::root().join("tests/bad_specs/several_errors.yaml"),
        d.join("bad.yaml"),
    )
    .unwrap();
    assert_eq!(code(&emit(d, "good.yaml", "out")), 0);
    std::fs::write(d.join("out/notes.txt"), "kept").unwrap();
    let before = tree(&d.join("out"));

    // Bad spec (exit 2); stale output under --check (exit 1); an output folder in the way of
    // a generated file (exit 2): `rules` is replaced by a file, and `dashboards` is stale.
    let failures: [(&[&str], i32); 3] = [
        (&["emit", "--spec", "bad.yaml", "--out", "out"], 2),
        (
            &["emit", "--spec", "other.yaml", "--out", "out", "--check"],
            1,
        ),
        (&["emit", "--spec", "missing.yaml", "--out", "out"], 2),
    ];
    for (args, expected) in failures {
        let out = poolwatch(args, d);
        assert_eq!(code(&out), expected, "{args:?}: {}", stderr(&out));
        assert_eq!(
            tree(&d.join("out")),
            before,
            "{args:?} changed the output folder"
        );
    }

    std::fs::remove_dir_all(d.join("out/rules")).unwrap();
    std::fs::write(d.join("out/rules"), "a file where a folder should be").unwrap();
    let before = tree(&d.join("out"));
    let out = emit(d, "other.yaml", "out");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("is not a folder"), "{}", stderr(&out));
    assert_eq!(tree(&d.join("out")), before, "the dashboard was replaced");
}

/// A second run with the same spec touches nothing: same inode, same modification time.
fn unchanged_files_are_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.yaml"), fleet_spec(2, "0.9")).unwrap();
    assert_eq!(code(&emit(d, "a.yaml", "out")), 0);
    let before = tree(&d.join("out"));
    let files = before.values().filter(|v| v.0.is_some()).count();
    let out = emit(d, "a.yaml", "out");
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).contains(&format!("0 written, {files} unchanged")),
        "{}",
        stderr(&out)
    );
    assert_eq!(tree(&d.join("out")), before);
}

/// Generated files are readable like any other file, not 0600 like a temporary file.
fn generated_files_have_ordinary_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&poolwatch(&["emit", "--out", "out"], d)), 0);
    for (path, (contents, mode, ..)) in tree(&d.join("out")) {
        if contents.is_some() {
            assert_eq!(mode & 0o777, 0o644, "{}", path.display());
        }
    }
}

/// The same spec gives the same bytes in two processes writing to two folders.
fn output_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("fleet.yaml"), fleet_spec(20, "0.9")).unwrap();
    let specs = [
        common::root().join("specs/k2.yaml"),
        common::root().join("tests/specs/two_pools.yaml"),
        d.join("fleet.yaml"),
    ];
    for spec in specs {
        let spec = spec.to_str().unwrap();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for out in [&a, &b] {
            let o = emit(d, spec, out.path().to_str().unwrap());
            assert_eq!(code(&o), 0, "{}", stderr(&o));
        }
        let contents = |t: &Path| -> Vec<(PathBuf, Option<Vec<u8>>)> {
            tree(t).into_iter().map(|(p, v)| (p, v.0)).collect()
        };
        let (ta, tb) = (contents(a.path()), contents(b.path()));
        assert!(
            ta.iter().filter(|(_, c)| c.is_some()).count() >= 4,
            "{spec}: rules, tests, dashboard, provisioning, runbook"
        );
        assert!(ta == tb, "{spec}: two runs differ");
    }
}

/// `emit` killed with SIGKILL at many moments, from before it reads the spec until after it
/// has written everything: every file is always whole, exactly the old or the new text, and
/// the next complete run removes any temporary file the killed one left.
fn a_killed_emit_leaves_every_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.yaml"), fleet_spec(150, "0.9")).unwrap();
    std::fs::write(d.join("b.yaml"), fleet_spec(150, "0.8")).unwrap();
    // The two possible versions of every file.
    let mut versions: BTreeMap<PathBuf, Vec<Vec<u8>>> = BTreeMap::new();
    for (spec, out) in [("a.yaml", "ref-a"), ("b.yaml", "ref-b")] {
        assert_eq!(code(&emit(d, spec, out)), 0);
        for (p, (c, ..)) in tree(&d.join(out)) {
            if let Some(c) = c {
                versions.entry(p).or_default().push(c);
            }
        }
    }
    assert!(versions.values().all(|v| v.len() == 2));
    // The rule file, its tests and the dashboard differ between the two specs.
    let differing = versions.values().filter(|v| v[0] != v[1]).count();
    assert!(differing >= 3, "{differing} files differ");
    assert_eq!(code(&emit(d, "a.yaml", "out")), 0);

    // How long a whole run takes, to spread the kills over it (not an assertion).
    let start = std::time::Instant::now();
    assert_eq!(code(&emit(d, "b.yaml", "ref-b")), 0);
    let run = start.elapsed();

    let rounds = 24u32;
    let mut leftovers_seen = 0;
    for i in 0..rounds {
        let spec = if i % 2 == 0 { "b.yaml" } else { "a.yaml" };
        let mut child = Command::new(bin())
            .args(["emit", "--spec", spec, "--out", "out"])
            .current_dir(d)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(run.mul_f64(1.2 * f64::from(i) / f64::from(rounds)));
        let _ = child.kill(); // SIGKILL; fails only if it has already exited
        let _ = child.wait();
        for (p, (c, ..)) in tree(&d.join("out")) {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with(".poolwatch-") {
                leftovers_seen += 1;
                continue;
            }
            let Some(c) = c else { continue };
            let v = versions
                .get(&p)
                .unwrap_or_else(|| panic!("unexpected {}", p.display()));
            assert!(
                v.contains(&c),
                "round {i}: {} is neither the old nor the new text ({} bytes)",
                p.display(),
                c.len()
            );
        }
    }
    eprintln!("{rounds} kills; temporary files left by killed runs: {leftovers_seen}");
    assert_eq!(code(&emit(d, "a.yaml", "out")), 0);
    let after: Vec<PathBuf> = tree(&d.join("out"))
        .into_iter()
        .filter(|(_, v)| v.0.is_some())
        .map(|(p, _)| p)
        .collect();
    let expected: Vec<PathBuf> = versions.keys().cloned().collect();
    assert_eq!(
        after, expected,
        "a complete run leaves only the generated files"
    );
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        a_failing_run_changes_nothing,
        unchanged_files_are_not_rewritten,
        generated_files_have_ordinary_permissions,
        output_is_deterministic,
        a_killed_emit_leaves_every_file_whole,
    ]
}
