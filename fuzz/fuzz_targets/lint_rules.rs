//! Fuzz target: any text, taken as a hand-written rule file (what a pull request can put
//! under `--rules`), goes through the step `check --rules` runs without panicking,
//! overflowing the stack or running away.
#![no_main]

mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::lint(data, false));
