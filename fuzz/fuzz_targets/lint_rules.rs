//! Fuzz target: any text, taken as a hand-written rule file (what a pull request can put
//! under `--rules`), goes through the step `check --rules` runs without panicking,
//! overflowing the stack or running away.
#![no_main]

#[path = "lint_common.rs"]
mod lint_common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| lint_common::lint("rules.yml", data, false));
