//! poolwatch's integration tests, one binary: each module is a topic, and registers its
//! tests with `tests!` (see `harness`), naming what each needs from outside the repository.

// Test code: failing loudly is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod harness;

mod alertmanager;
mod alertmanager_routing;
mod architecture;
mod backtest;
mod bad_input;
mod dashboard_picture;
mod dashboard_runbook;
mod deploy_targets;
mod docs;
mod e2e_alertmanager;
mod e2e_checks;
mod e2e_conformance;
mod e2e_dashboard;
mod e2e_exposition;
mod e2e_gosql;
mod e2e_http;
mod e2e_k2;
mod e2e_native;
mod e2e_pgbouncer;
mod e2e_pgbouncer_bridge;
mod e2e_support;
mod environments;
mod escaping;
mod fleet;
mod fuzz_smoke;
mod generated_output;
mod grafana_schema;
mod histogram_storage;
mod hostile_input;
mod identity;
mod layout;
mod lint;
mod lint_formats;
mod lint_precision;
mod many_specs;
mod modern;
mod output_safety;
mod presets;
mod prometheus_server;
mod promtool_mutations;
mod promtool_tests;
mod properties;
mod review;
mod runbook_replay;

fn main() {
    harness::main(&[
        ("alertmanager", alertmanager::tests),
        ("alertmanager_routing", alertmanager_routing::tests),
        ("architecture", architecture::tests),
        ("backtest", backtest::tests),
        ("bad_input", bad_input::tests),
        ("dashboard_picture", dashboard_picture::tests),
        ("dashboard_runbook", dashboard_runbook::tests),
        ("deploy_targets", deploy_targets::tests),
        ("docs", docs::tests),
        ("e2e_alertmanager", e2e_alertmanager::tests),
        ("e2e_checks", e2e_checks::tests),
        ("e2e_conformance", e2e_conformance::tests),
        ("e2e_gosql", e2e_gosql::tests),
        ("e2e_k2", e2e_k2::tests),
        ("e2e_native", e2e_native::tests),
        ("e2e_pgbouncer", e2e_pgbouncer::tests),
        ("environments", environments::tests),
        ("escaping", escaping::tests),
        ("fleet", fleet::tests),
        ("fuzz_smoke", fuzz_smoke::tests),
        ("generated_output", generated_output::tests),
        ("grafana_schema", grafana_schema::tests),
        ("histogram_storage", histogram_storage::tests),
        ("hostile_input", hostile_input::tests),
        ("harness", harness::tests),
        ("identity", identity::tests),
        ("layout", layout::tests),
        ("lint", lint::tests),
        ("lint_formats", lint_formats::tests),
        ("lint_precision", lint_precision::tests),
        ("many_specs", many_specs::tests),
        ("modern", modern::tests),
        ("output_safety", output_safety::tests),
        ("presets", presets::tests),
        ("prometheus_server", prometheus_server::tests),
        ("promtool_mutations", promtool_mutations::tests),
        ("promtool_tests", promtool_tests::tests),
        ("runbook_replay", runbook_replay::tests),
        ("properties", properties::tests),
        ("review", review::tests),
    ]);
}
