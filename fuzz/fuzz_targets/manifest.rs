//! Fuzz target: any bytes, taken as the output folder's `.poolwatch-manifest` (which a
//! pull request controls), next to a link to a folder outside: an emit through
//! `write::Session` (what `poolwatch emit` runs) never changes anything outside the output
//! folder, whatever the manifest names, and never panics.
#![no_main]

mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let scratch = tempfile::tempdir().unwrap();
    bodies::manifest(data, scratch.path());
});
