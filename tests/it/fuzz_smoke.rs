//! The fuzz targets' bounded run inside the suite (what CI runs; `fuzz/` holds the
//! coverage-guided targets for long local runs, whose build alone takes longer than CI's
//! budget): each target's committed seeds, mutated at random for a few seconds, through the
//! same functions the targets and the app run (`pipeline::lint`, `pipeline::generate_spec`,
//! `write::Session`). A panic or a stack overflow fails the run; the input is saved first.

// Helpers here run only inside tests, where unwrap and panic are the way to fail.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common;

/// How long each target runs: `POOLWATCH_FUZZ_SECONDS`, or 15.
fn budget() -> Duration {
    let s = std::env::var("POOLWATCH_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    Duration::from_secs(s)
}

/// xorshift64*: reproducible mutations (`POOLWATCH_FUZZ_SEED` picks another sequence).
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("POOLWATCH_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x2545_f491_4f6c_dd1d);
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces of the languages the inputs are written in: mutations splice them in.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "{{",
    "}}",
    " + ",
    " or ",
    "sum(",
    "rate(",
    "[5m:]",
    "\"",
    "'",
    "`",
    "\\",
    ":",
    "\n",
    "\n- ",
    "  ",
    "- ",
    "expr: ",
    "# poolwatch: ignore PW101 x\n",
    "$value",
    "$labels.",
    "0x",
    "1e308",
    "NaN",
    "-",
    "../",
    "/",
    "\u{0}",
    "é",
    "&a ",
    "*a",
];

/// One to four random edits of `input`: flip a byte, splice a token, delete or repeat a
/// range (repeating builds depth), or cut the end.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if at < v.len() => v[at] ^= 1 << rng.below(8),
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            2 if at < v.len() => {
                let end = (at + 1 + rng.below(64)).min(v.len());
                v.drain(at..end);
            }
            3 if at < v.len() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                let piece = v[at..end].to_vec();
                for _ in 0..rng.below(300) {
                    v.splice(at..at, piece.iter().copied());
                }
            }
            _ => v.truncate(at),
        }
    }
    v
}

/// Committed files under `dirs` (relative to the repository) whose name ends in one of
/// `exts`: the seeds.
fn seeds(dirs: &[&str], exts: &[&str]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = dirs.iter().map(|d| common::root().join(d)).collect();
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if exts.iter().any(|e| p.to_string_lossy().ends_with(e)) {
            out.push(std::fs::read(&p).unwrap());
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no seeds under {dirs:?}");
    out
}

/// Runs `target` on mutated seeds for the budget; on a panic, saves the input and fails
/// naming it. Returns how many inputs ran.
fn run(name: &str, seeds: &[Vec<u8>], mut target: impl FnMut(&[u8])) -> usize {
    let mut rng = Rng::new();
    let started = Instant::now();
    let mut runs = 0;
    while started.elapsed() < budget() {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        if std::panic::catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            let saved = std::env::temp_dir().join(format!("poolwatch-fuzz-{name}-{runs}"));
            std::fs::write(&saved, &input).unwrap();
            panic!(
                "{name}: input {runs} panicked; saved to {}",
                saved.display()
            );
        }
        runs += 1;
    }
    eprintln!(
        "fuzz_smoke {name}: {runs} inputs in {:?}",
        started.elapsed()
    );
    assert!(runs > 0);
    runs
}

/// The fuzz targets' own bodies: the suite runs the same code as cargo-fuzz.
#[path = "../../fuzz/fuzz_targets/bodies.rs"]
mod bodies;

fn rule_files_never_crash() {
    let seeds = seeds(
        &[
            "tests/lint",
            "tests/fuzz_regressions/lint_rules",
            "generated/rules",
        ],
        &[".yml", ".yaml"],
    );
    run("lint_rules", &seeds, |d| bodies::lint(d, false));
}

fn dashboards_never_crash() {
    let seeds = seeds(
        &[
            "tests/lint",
            "tests/fuzz_regressions/lint_dashboards",
            "generated/dashboards",
        ],
        &[".json"],
    );
    run("lint_dashboards", &seeds, |d| bodies::lint(d, true));
}

fn specs_never_crash() {
    let seeds = seeds(&["specs", "tests/specs", "tests/bad_specs"], &[".yaml"]);
    run("load_check_render", &seeds, bodies::spec);
}

fn manifests_never_reach_outside() {
    let mut seeds = seeds(&["tests/fuzz_regressions/manifest"], &[""]);
    seeds.push(std::fs::read(common::root().join("generated/.poolwatch-manifest")).unwrap());
    let scratch = tempfile::tempdir().unwrap();
    let mut n = 0;
    run("manifest", &seeds, |data| {
        n += 1;
        let d = scratch.path().join(n.to_string());
        bodies::manifest(data, &d);
        std::fs::remove_dir_all(&d).unwrap();
    });
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        rule_files_never_crash,
        dashboards_never_crash,
        specs_never_crash,
        manifests_never_reach_outside,
    ]
}
