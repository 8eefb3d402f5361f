//! Fuzz target: any text, taken as a spec, must go through the pipeline (load → resolve →
//! render → check → serialize, the app's own steps) without panicking, and every
//! diagnostic must render in every format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poolwatch::diag::{self, Format};
use poolwatch::pipeline;
use poolwatch::render::Target;
use poolwatch::source::Sources;
use poolwatch::spec::SpecSource;

fuzz_target!(|data: &[u8]| {
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
            assert!(!g.files.is_empty());
            g.warnings
        }
        Err(f) => {
            assert!(!f.diagnostics().is_empty(), "a failure without a diagnostic");
            f.diagnostics().to_vec()
        }
    };
    for format in [Format::Human, Format::Json, Format::Github] {
        let _ = diag::render(&diags, &sources, format);
    }
});
