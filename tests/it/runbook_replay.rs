//! The runbook's own rule file and the generated one, replayed by promtool on the same
//! multi-replica K2 data: wherever one of the runbook's three alerts fires, the generated
//! alert of the same name fires for the same replica (`job`, `instance`), minute by minute.
//! The world holds a saturated replica beside idle ones, a replica with a bigger pool, a
//! brief spike, a single timeout, and labelled counters born at a non-zero value (which the
//! runbook's `rate() > 0` never sees, and the generated alerts do).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common;
use crate::harness::{PROMTOOL, RUNBOOK_RULES};
use poolwatch::conventions;
use poolwatch::spec::SpecSource;

/// The runbook's alerts, by name.
const ALERTS: [&str; 3] = [
    "ConnectionPoolHighUtilization",
    "ConnectionPoolAcquisitionTimeouts",
    "ConnectionPoolCreationErrors",
];

/// Minutes the replay runs.
const MINUTES: u64 = 40;

/// The labels K2 puts on its pool metrics, with the scrape target's.
fn series(metric: &str, replica: &str, values: &str) -> Value {
    json!({
        "series": format!(
            "{metric}{{component=\"query-engine\", environment=\"dev\", instance=\"{replica}:9090\", job=\"k2\", service=\"k2\"}}"
        ),
        "values": values,
    })
}

fn world() -> Vec<Value> {
    let n = MINUTES;
    let mut out = Vec::new();
    // (replica, size, active): api-0 saturated, api-1 idle, api-2 at 95% of a bigger pool,
    // api-3 a two-minute spike.
    for (replica, size, active) in [
        ("api-0", "10", format!("10x{n}")),
        ("api-1", "10", format!("1x{n}")),
        ("api-2", "20", format!("19x{n}")),
        ("api-3", "10", format!("10x2 5x{}", n - 2)),
    ] {
        out.push(series(
            "k2_connection_pool_size",
            replica,
            &format!("{size}x{n}"),
        ));
        out.push(series(
            "k2_connection_pool_active_connections",
            replica,
            &active,
        ));
    }
    // Timeouts: steady on api-0, a labelled counter born at 3 on api-1, none on api-2, a
    // single timeout on api-3 at minute 6.
    for (replica, values) in [
        ("api-0", format!("0+1x{n}")),
        ("api-1", format!("_x10 3x{}", n - 10)),
        ("api-2", format!("0x{n}")),
        ("api-3", format!("0x5 1x{}", n - 6)),
    ] {
        out.push(series(
            "k2_connection_pool_acquisition_timeouts_total",
            replica,
            &values,
        ));
    }
    // Creation errors: steady on api-1, born at 1 on api-3 at minute 20.
    for (replica, values) in [
        ("api-0", format!("0x{n}")),
        ("api-1", format!("0+0.5x{n}")),
        ("api-3", format!("_x20 1x{}", n - 20)),
    ] {
        out.push(series(
            "k2_connection_pool_creation_errors_total",
            replica,
            &values,
        ));
    }
    out
}

fn firing(alertname: &str) -> String {
    format!("group by (job, instance) (ALERTS{{alertstate=\"firing\", alertname=\"{alertname}\"}})")
}

fn sample(alertname: &str, replica: &str) -> Value {
    json!({
        "labels": format!("{{alertname=\"{alertname}\", instance=\"{replica}:9090\"}}"),
        "value": 1,
    })
}

fn generated_alerts_fire_wherever_the_runbooks_do() {
    let promtool = common::promtool();
    let g = common::generate(&SpecSource::builtin());
    let dir = common::write_to_temp(&g);
    let generated = dir.path().join(conventions::rule_file_path());
    // The runbook's rules under other names, so both files load side by side.
    let runbook_text =
        std::fs::read_to_string(common::shared().join("k2-runbook/connection_pool.yml")).unwrap();
    let mut runbook: Value = serde_norway::from_str(&runbook_text).unwrap();
    let mut renamed = 0;
    for group in runbook["groups"].as_array_mut().unwrap() {
        group["name"] = json!("runbook");
        for rule in group["rules"].as_array_mut().unwrap() {
            let name = rule["alert"].as_str().unwrap().to_string();
            assert!(
                ALERTS.contains(&name.as_str()),
                "unexpected runbook alert {name}"
            );
            rule["alert"] = json!(format!("Runbook{name}"));
            renamed += 1;
        }
    }
    assert_eq!(renamed, ALERTS.len());
    let runbook_path = dir.path().join("rules/runbook.yml");
    std::fs::write(&runbook_path, serde_json::to_string(&runbook).unwrap()).unwrap();

    let mut exprs = Vec::new();
    // Minute by minute: no replica for which the runbook's alert fires and the generated
    // one does not.
    for m in 0..=MINUTES {
        for name in ALERTS {
            exprs.push(json!({
                "expr": format!(
                    "{} unless on(job, instance) {}",
                    firing(&format!("Runbook{name}")),
                    firing(name)
                ),
                "eval_time": format!("{m}m"),
                "exp_samples": [],
            }));
        }
    }
    // The world does make the runbook fire (the check above is not vacuous): at 20m, its
    // utilization alert for the saturated replicas, its timeout alert for api-0 and its
    // creation-error alert for api-1.
    let mut expected: BTreeMap<String, Value> = BTreeMap::new();
    for (name, replica) in [
        ("ConnectionPoolHighUtilization", "api-0"),
        ("ConnectionPoolHighUtilization", "api-2"),
        ("ConnectionPoolAcquisitionTimeouts", "api-0"),
        ("ConnectionPoolCreationErrors", "api-1"),
    ] {
        let alertname = format!("Runbook{name}");
        expected.insert(
            format!("{alertname}/{replica}"),
            sample(&alertname, replica),
        );
    }
    exprs.push(json!({
        "expr": "group by (alertname, instance) (ALERTS{alertstate=\"firing\", alertname=~\"Runbook.*\"})",
        "eval_time": "20m",
        "exp_samples": expected.into_values().collect::<Vec<_>>(),
    }));
    // Where the runbook is blind: the counter born at 3 on api-1 (minute 10) fires the
    // generated alert two minutes later, for api-1 alone beside api-0.
    exprs.push(json!({
        "expr": "group by (alertname, instance) (ALERTS{alertstate=\"firing\", alertname=\"ConnectionPoolAcquisitionTimeouts\"})",
        "eval_time": "13m",
        "exp_samples": [
            sample("ConnectionPoolAcquisitionTimeouts", "api-0"),
            sample("ConnectionPoolAcquisitionTimeouts", "api-1"),
        ],
    }));
    let test = json!({
        "rule_files": [generated.to_str().unwrap(), runbook_path.to_str().unwrap()],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": world(),
            "promql_expr_test": exprs,
        }],
    });
    let test_path = dir.path().join("rules/replay.test.yml");
    std::fs::write(&test_path, serde_json::to_string_pretty(&test).unwrap()).unwrap();
    let (ok, out) = common::run(
        std::process::Command::new(&promtool)
            .arg("test")
            .arg("rules")
            .arg(&test_path),
    );
    assert!(ok, "{out}");
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![[PROMTOOL, RUNBOOK_RULES] generated_alerts_fire_wherever_the_runbooks_do]
}
