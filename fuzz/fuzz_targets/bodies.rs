//! The fuzz targets' bodies, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`)
//! and the suite's bounded run (`tests/it/fuzz_smoke.rs`, which includes this file), so both
//! run exactly the same code: the app's own functions on one input.

// Each cargo-fuzz target uses one of these bodies; the others are unused there.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use poolwatch::diag::{self, Format};
use poolwatch::pipeline;
use poolwatch::render::{OutputFile, Target};
use poolwatch::source::Sources;
use poolwatch::spec::SpecSource;
use poolwatch::write::{Mode, Session};

/// Renders diagnostics in every format (a renderer must not panic on any of them).
fn render_all(diags: &[diag::Diagnostic], sources: &Sources) {
    for format in [Format::Human, Format::Json, Format::Github] {
        let _ = diag::render(diags, sources, format);
    }
}

/// `data` (if UTF-8, as the app requires) as one rule file or dashboard, through
/// `pipeline::lint`, the step `check --rules`/`--dashboards` runs.
pub fn lint(data: &[u8], dashboard: bool) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = Sources::default();
    let file = sources.add(if dashboard { "d.json" } else { "r.yml" }, text);
    let (rules, dashboards) = if dashboard {
        (vec![], vec![file])
    } else {
        (vec![file], vec![])
    };
    let (unusable, findings) = pipeline::lint(&sources, &rules, &dashboards);
    render_all(&unusable, &sources);
    render_all(&findings, &sources);
}

/// `data` as a spec, through `pipeline::generate_spec` (load → resolve → render → check →
/// serialize). A failure carries a diagnostic; a success, files.
pub fn spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = SpecSource {
        name: "fuzz.yaml".to_string(),
        text: text.to_string(),
    };
    let mut sources = Sources::default();
    let diags = match pipeline::generate_spec(&mut sources, &source, Target::Prometheus) {
        Ok(g) => {
            assert!(!g.files.is_empty(), "a success without files");
            g.warnings
        }
        Err(f) => {
            assert!(
                !f.diagnostics().is_empty(),
                "a failure without a diagnostic"
            );
            f.diagnostics().to_vec()
        }
    };
    render_all(&diags, &sources);
}

/// Every file below `dir` with its contents (links not followed).
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// `data` as the `.poolwatch-manifest` of an output folder in the empty folder `scratch`
/// that also holds a link to a folder outside it (files `victim.txt` "precious\n" and
/// `sub/other.yml` "a\n", whose FNV-1a hashes the seeds carry) and `rules/old.yml`; an emit
/// through `write::Session` (check mode, then write mode) must leave everything outside
/// the output folder byte for byte as it was.
pub fn manifest(data: &[u8], scratch: &Path) {
    let outside = scratch.join("outside");
    std::fs::create_dir_all(outside.join("sub")).unwrap();
    std::fs::write(outside.join("victim.txt"), "precious\n").unwrap();
    std::fs::write(outside.join("sub/other.yml"), "a\n").unwrap();
    let out = scratch.join("out");
    std::fs::create_dir_all(out.join("rules")).unwrap();
    std::os::unix::fs::symlink("../outside", out.join("link")).unwrap();
    std::fs::write(out.join("rules/old.yml"), "a\n").unwrap();
    std::fs::write(out.join(".poolwatch-manifest"), data).unwrap();
    let before = contents(&outside);
    let files = [OutputFile {
        path: "rules/new.yml".into(),
        contents: "b\n".into(),
    }];
    for mode in [Mode::Check, Mode::Write] {
        if let Ok(session) = Session::begin(&out, mode, true)
            && session.add(&files).is_ok()
        {
            let _ = session.finish();
        }
        assert_eq!(
            contents(&outside),
            before,
            "{mode:?} changed a file outside --out"
        );
    }
}
