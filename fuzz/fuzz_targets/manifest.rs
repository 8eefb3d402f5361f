//! Fuzz target: any bytes, taken as the output folder's `.poolwatch-manifest` (which a
//! pull request controls), in a folder that also holds a link to a folder outside it and a
//! generated file; an emit through `write::Session` (what `poolwatch emit` runs) must
//! never change anything outside the output folder, whatever the manifest names, and must
//! end in an outcome or an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use poolwatch::render::OutputFile;
use poolwatch::write::{Mode, Session};

/// What is outside the output folder: each file with its contents. The fuzzer finds the
/// hashes of these contents in the seeds (`fuzz/README.md`).
const OUTSIDE: [(&str, &str); 2] = [("victim.txt", "precious\n"), ("sub/other.yml", "a\n")];

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if e.file_type().unwrap().is_dir() {
                todo.push(p);
                out.push((rel, Vec::new()));
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fuzz_target!(|data: &[u8]| {
    let scratch = tempfile::tempdir().unwrap();
    let d = scratch.path();
    let outside = d.join("outside");
    std::fs::create_dir_all(outside.join("sub")).unwrap();
    for (name, text) in OUTSIDE {
        std::fs::write(outside.join(name), text).unwrap();
    }
    let out = d.join("out");
    std::fs::create_dir_all(out.join("rules")).unwrap();
    std::os::unix::fs::symlink("../outside", out.join("link")).unwrap();
    std::fs::write(out.join("rules/old.yml"), "a\n").unwrap();
    std::fs::write(out.join(".poolwatch-manifest"), data).unwrap();
    let before = snapshot(&outside);
    let files = [OutputFile {
        path: "rules/new.yml".into(),
        contents: "b\n".into(),
    }];
    for mode in [Mode::Check, Mode::Write] {
        if let Ok(session) = Session::begin(&out, mode, true) {
            if session.add((0, 0), &files).is_ok() {
                let _ = session.finish();
            }
        }
        assert_eq!(snapshot(&outside), before, "{mode:?} changed a file outside --out");
    }
});
