//! Fuzz target: any text, taken as a Grafana dashboard (what a pull request can put under
//! `--dashboards`), goes through the step `check --dashboards` runs without panicking,
//! overflowing the stack or running away.
#![no_main]

mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::lint(data, true));
