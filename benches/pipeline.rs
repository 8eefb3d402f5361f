//! Benchmarks of the pipeline's steps, on the built-in K2 spec, on one spec of 100 and
//! 1,000 pools (the stress case), and on fleets of 100 and 1,000 service specs of one to
//! three pools (the specs come from examples/fleet.rs). Run: `cargo bench --bench pipeline`.
//!
//! Each step is the function the app calls (`pipeline::{load, resolve, render, check,
//! serialize}`, `write::emit`), timed on the previous step's output.

#[allow(dead_code)]
#[path = "../examples/fleet.rs"]
mod fleet_specs;

use std::sync::OnceLock;

use divan::Bencher;
use poolwatch::fleet::{self, Layout};
use poolwatch::pipeline::{self, Generated, Variants};
use poolwatch::render::Target;
use poolwatch::source::{FileId, Sources};
use poolwatch::spec::{self, RawSpec};
use poolwatch::write;

fn main() {
    divan::main();
}

/// One spec in its own sources, loaded, and its generated base variant.
struct Case {
    sources: Sources,
    file: FileId,
    raw: RawSpec,
    generated: Generated,
}

fn case(text: String) -> Case {
    let mut sources = Sources::default();
    let file = sources.add("bench.yaml", text);
    let raw = pipeline::load(&sources, file).expect("loads");
    let generated =
        pipeline::variant(&raw, &sources, file, None, Target::Prometheus, "").expect("generates");
    Case {
        sources,
        file,
        raw,
        generated,
    }
}

/// The specs timed step by step: K2, and one spec of 100 and of 1,000 pools.
const SPECS: [&str; 3] = ["k2", "pools-100", "pools-1000"];

fn spec_case(name: &str) -> &'static Case {
    static CASES: [OnceLock<Case>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = SPECS.iter().position(|s| *s == name).unwrap_or(0);
    CASES[i].get_or_init(|| match name {
        "pools-100" => case(fleet_specs::stress_spec(100)),
        "pools-1000" => case(fleet_specs::stress_spec(1000)),
        _ => case(spec::BUILTIN_K2.to_string()),
    })
}

#[divan::bench(args = SPECS, sample_count = 10, sample_size = 1)]
fn load(bencher: Bencher, name: &str) {
    let c = spec_case(name);
    bencher.bench(|| pipeline::load(&c.sources, c.file).expect("loads"));
}

#[divan::bench(args = SPECS, sample_count = 10, sample_size = 1)]
fn resolve(bencher: Bencher, name: &str) {
    let c = spec_case(name);
    bencher.bench(|| {
        pipeline::resolve(&c.raw, &c.sources, c.file, None, Target::Prometheus).expect("resolves")
    });
}

#[divan::bench(args = SPECS, sample_count = 10, sample_size = 1)]
fn render(bencher: Bencher, name: &str) {
    let c = spec_case(name);
    bencher.bench(|| pipeline::render(&c.generated.model).expect("renders"));
}

#[divan::bench(args = SPECS, sample_count = 10, sample_size = 1)]
fn check(bencher: Bencher, name: &str) {
    let g = &spec_case(name).generated;
    bencher.bench(|| pipeline::check(&g.model, &g.artifacts));
}

#[divan::bench(args = SPECS, sample_count = 10, sample_size = 1)]
fn serialize(bencher: Bencher, name: &str) {
    let g = &spec_case(name).generated;
    bencher.bench(|| {
        pipeline::serialize(&g.model, &g.artifacts, Target::Prometheus).expect("serializes")
    });
}

#[divan::bench(args = SPECS, sample_count = 10, sample_size = 1)]
fn write(bencher: Bencher, name: &str) {
    let g = &spec_case(name).generated;
    bencher
        .with_inputs(|| tempfile::tempdir().expect("temp dir"))
        .bench_local_refs(|dir| {
            let session =
                write::Session::begin(dir.path(), write::Mode::Write, true).expect("begins");
            session.add(&g.files).expect("stages");
            session.finish().expect("writes")
        });
}

/// Every step but the write, for the base variant.
#[divan::bench(args = SPECS, sample_count = 10, sample_size = 1)]
fn generate(bencher: Bencher, name: &str) {
    let c = spec_case(name);
    bencher.bench(|| {
        pipeline::generate(&c.sources, c.file, Target::Prometheus, Variants::Base)
            .expect("generates")
    });
}

/// Fleets of service specs: every spec through every step (one spec per core), its
/// files dropped, then the specs checked against each other.
mod fleets {
    use super::*;

    const SIZES: [usize; 2] = [100, 1000];

    fn specs(n: usize) -> &'static (Sources, Vec<FileId>) {
        static FLEETS: [OnceLock<(Sources, Vec<FileId>)>; 2] = [OnceLock::new(), OnceLock::new()];
        let i = SIZES.iter().position(|s| *s == n).unwrap_or(0);
        FLEETS[i].get_or_init(|| {
            let mut sources = Sources::default();
            let files = fleet_specs::service_specs(n)
                .into_iter()
                .map(|(name, text)| sources.add(name, text))
                .collect();
            (sources, files)
        })
    }

    #[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
    fn generate(bencher: Bencher, n: usize) {
        let (sources, files) = specs(n);
        bencher.bench(|| {
            fleet::generate(
                sources,
                files,
                Target::Prometheus,
                Variants::All,
                Layout::PerSpec,
                &|_| Ok(()),
            )
            .expect("generates")
        });
    }

    #[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
    fn collisions(bencher: Bencher, n: usize) {
        let (sources, files) = specs(n);
        let generated = fleet::generate(
            sources,
            files,
            Target::Prometheus,
            Variants::All,
            Layout::PerSpec,
            &|_| Ok(()),
        )
        .expect("generates");
        bencher.bench(|| fleet::collisions(&generated.specs));
    }
}

/// The YAML writer on the two largest YAML files (the unit tests and the rules):
/// serde-saphyr, which `emit` uses, against serde_norway (libyaml's emitter), which it
/// used before; the figures that decided the switch.
mod yaml {
    use super::*;

    #[divan::bench(args = SPECS, sample_count = 10, sample_size = 1)]
    fn serde_saphyr(bencher: Bencher, name: &str) {
        let g = &spec_case(name).generated;
        // The options of `render::to_yaml`: no folding of long lines.
        let options = || serde_saphyr::ser_options! { folded_wrap_chars: usize::MAX };
        bencher.bench(|| {
            (
                serde_saphyr::to_string_with_options(&g.artifacts.tests, options())
                    .expect("serializes"),
                serde_saphyr::to_string_with_options(&g.artifacts.rules, options())
                    .expect("serializes"),
            )
        });
    }

    #[divan::bench(args = SPECS, sample_count = 10, sample_size = 1)]
    fn serde_norway(bencher: Bencher, name: &str) {
        let g = &spec_case(name).generated;
        bencher.bench(|| {
            (
                serde_norway::to_string(&g.artifacts.tests).expect("serializes"),
                serde_norway::to_string(&g.artifacts.rules).expect("serializes"),
            )
        });
    }
}
