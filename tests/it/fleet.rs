//! The fleet generator (examples/fleet.rs) and a fleet's output: every pool generated with
//! its odd label values, and promtool accepting the rule file and passing the unit tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use crate::common::fleetgen as fleet;

use std::process::Command;

use poolwatch::spec::SpecSource;

fn fleet_source(n: usize) -> SpecSource {
    SpecSource {
        name: format!("fleet-{n}.yaml"),
        text: fleet::stress_spec(n),
    }
}

fn the_fleet_is_deterministic_for_a_given_size() {
    assert_eq!(fleet::stress_spec(30), fleet::stress_spec(30));
    assert_ne!(fleet::stress_spec(30), fleet::stress_spec(31));
}

fn a_fleet_generates_with_every_pool_and_odd_label_values() {
    let g = common::generate(&fleet_source(120));
    assert_eq!(g.model.pools.len(), 120);
    let a = common::artifacts(&g);
    let rules: usize = a.rules.groups.iter().map(|g| g.rules.len()).sum();
    assert!(rules >= 120 * 10, "only {rules} rules");
    // One group per pool; escaped odd label values reach the expressions.
    assert_eq!(a.rules.groups.len(), 120);
    let all = || a.rules.groups.iter().flat_map(|g| &g.rules);
    let exprs: Vec<&str> = all().map(|r| r.expr.as_str()).collect();
    assert!(
        exprs
            .iter()
            .any(|e| e.contains(r#"env="team \"payments\"""#))
    );
    assert!(exprs.iter().any(|e| e.contains(r#"env="C:\\pools\\main""#)));
    assert!(exprs.iter().any(|e| e.contains(r#"env="line\nbreak""#)));
    // Some pools override the default utilization policy with a critical level.
    assert!(all().any(|r| {
        r.labels.get("severity").map(String::as_str) == Some("critical")
            && r.alert.as_deref() == Some("ConnectionPoolHighUtilization")
    }));
}

fn promtool_accepts_a_fleet_rule_file() {
    let promtool = common::promtool();
    let g = common::generate(&fleet_source(150));
    let dir = common::write_to_temp(&g);
    let file = dir.path().join(poolwatch::conventions::rule_file_path());
    let (ok, out) = common::promtool_check_rules(&promtool, &file);
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

fn promtool_passes_a_fleets_unit_tests() {
    let promtool = common::promtool();
    // promtool evaluates the whole rule file for every test group: its time grows with the
    // square of the fleet, so a small one proves the same paths.
    let g = common::generate(&fleet_source(12));
    let dir = common::write_to_temp(&g);
    let tests = dir.path().join(poolwatch::conventions::test_file_path());
    let (ok, out) = common::run(Command::new(&promtool).arg("test").arg("rules").arg(&tests));
    assert!(
        ok,
        "{}",
        out.lines().take(60).collect::<Vec<_>>().join("\n")
    );
    let c = g.artifacts.coverage;
    assert_eq!(c.firing_and_silent, c.alerts);
}

use crate::harness::PROMTOOL;

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        the_fleet_is_deterministic_for_a_given_size,
        a_fleet_generates_with_every_pool_and_odd_label_values,
        [PROMTOOL] promtool_accepts_a_fleet_rule_file,
        [PROMTOOL] promtool_passes_a_fleets_unit_tests,
    ]
}
