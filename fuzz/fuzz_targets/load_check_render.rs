//! Fuzz target: any text, taken as a spec, must go through the pipeline (load → resolve →
//! render → check → serialize, the app's own steps) without panicking, and every
//! diagnostic must render in every format.
#![no_main]

mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::spec(data));
