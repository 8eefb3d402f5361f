//! Benchmarks of each pipeline stage on fleets of 1, 100 and 1,000 pools (the specs come
//! from examples/fleet.rs). Run: `cargo bench --bench pipeline`.
//!
//! Stages: load (YAML → raw spec → resolved model), render (typed artifacts), serialize
//! (file texts), check (parse every expression, run the checks), write (atomic writes to
//! a fresh folder), and the whole in-memory pipeline.

#[allow(dead_code)]
#[path = "../examples/fleet.rs"]
mod fleet;

use std::sync::OnceLock;

use divan::Bencher;
use poolwatch::pipeline::{self, Generated};
use poolwatch::source::{FileId, Sources};
use poolwatch::spec::SpecSource;
use poolwatch::{check, model, render, spec, write};

const SIZES: [usize; 3] = [1, 100, 1000];

/// The allocator of the `poolwatch` binary (src/main.rs), so stage timings match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

fn source(n: usize) -> SpecSource {
    static SPECS: [OnceLock<SpecSource>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = SIZES.iter().position(|s| *s == n).unwrap_or(0);
    SPECS[i]
        .get_or_init(|| SpecSource {
            name: format!("fleet-{n}.yaml"),
            text: fleet::fleet(n),
        })
        .clone()
}

fn generated(n: usize) -> &'static Generated {
    static GENERATED: [OnceLock<Generated>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = SIZES.iter().position(|s| *s == n).unwrap_or(0);
    GENERATED[i].get_or_init(|| {
        let mut sources = Sources::default();
        pipeline::generate(&mut sources, &source(n)).expect("the fleet generates")
    })
}

/// The typed artifacts of [`generated`] (the pipeline consumes its own when serializing).
fn artifacts(n: usize) -> &'static render::Artifacts {
    static ARTIFACTS: [OnceLock<render::Artifacts>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = SIZES.iter().position(|s| *s == n).unwrap_or(0);
    ARTIFACTS[i].get_or_init(|| render::render(&generated(n).model).expect("renders"))
}

fn loaded(n: usize) -> (Sources, FileId) {
    let s = source(n);
    let mut sources = Sources::default();
    let file = sources.add(s.name, s.text);
    (sources, file)
}

#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn load(bencher: Bencher, n: usize) {
    bencher
        .with_inputs(|| loaded(n))
        .bench_local_refs(|(sources, file)| {
            let raw = spec::load(sources, *file).expect("loads");
            model::resolve(&raw, sources, *file, None).expect("resolves")
        });
}

#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn render(bencher: Bencher, n: usize) {
    let g = generated(n);
    bencher.bench(|| render::render(&g.model).expect("renders"));
}

#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn serialize(bencher: Bencher, n: usize) {
    let g = generated(n);
    bencher
        .with_inputs(|| artifacts(n).clone())
        .bench_values(|a| render::files(&g.model, a, render::Target::Prometheus));
}

/// The YAML of the two largest files alone, through poolwatch's writer (`render::to_yaml`)
/// and through `serde_norway`, whose output it reproduces byte for byte.
mod yaml {
    use super::*;

    #[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
    fn test_file(bencher: Bencher, n: usize) {
        let (g, a) = (generated(n), artifacts(n));
        bencher.bench(|| render::to_yaml(&g.model, &a.tests));
    }

    #[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
    fn rule_file(bencher: Bencher, n: usize) {
        let (g, a) = (generated(n), artifacts(n));
        bencher.bench(|| render::to_yaml(&g.model, &a.rules));
    }

    #[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
    fn test_file_serde_norway(bencher: Bencher, n: usize) {
        let a = artifacts(n);
        bencher.bench(|| serde_norway::to_string(&a.tests).expect("serializes"));
    }

    #[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
    fn rule_file_serde_norway(bencher: Bencher, n: usize) {
        let a = artifacts(n);
        bencher.bench(|| serde_norway::to_string(&a.rules).expect("serializes"));
    }
}

#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn check(bencher: Bencher, n: usize) {
    let (g, a) = (generated(n), artifacts(n));
    bencher.bench(|| check::check_artifacts(&g.model, a));
}

#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn write(bencher: Bencher, n: usize) {
    let g = generated(n);
    bencher
        .with_inputs(|| tempfile::tempdir().expect("temp dir"))
        .bench_local_refs(|dir| {
            write::apply(dir.path(), &g.files, write::Mode::Write).expect("writes")
        });
}

#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn generate(bencher: Bencher, n: usize) {
    let s = source(n);
    bencher.bench(|| {
        let mut sources = Sources::default();
        pipeline::generate(&mut sources, &s).expect("generates")
    });
}
