//! Histograms in every form (issue 23): a catalog histogram stored `classic`, `native` or
//! `both`. The native and migration fixtures check clean, their heatmaps read each form,
//! `storage: classic` written out changes no byte of K2's files, and a native-only alert
//! is named as left to the end-to-end scenario while `both` is proven by promtool through
//! its classic fallback.
#![allow(clippy::unwrap_used)]

use poolwatch::conventions;
use poolwatch::spec::SpecSource;

use crate::common::{self, process};

fn fixture(name: &str) -> SpecSource {
    let path = format!("tests/specs/{name}.yaml");
    SpecSource {
        text: std::fs::read_to_string(common::root().join(&path)).unwrap(),
        name: path,
    }
}

/// The file at `path` among the base variant's files.
fn file(source: &SpecSource, path: &str) -> String {
    let g = common::generate(source);
    g.files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{}: no {path}", source.name))
        .contents
        .clone()
}

fn native_and_both_specs_check_clean() {
    for name in ["native", "both"] {
        let spec = format!("tests/specs/{name}.yaml");
        let out = process::poolwatch(&["check", "--spec", &spec], &common::root());
        let err = process::stderr(&out);
        assert_eq!(process::code(&out), 0, "{spec}:\n{err}");
        assert!(
            !err.contains("warning[") && !err.contains("error["),
            "{spec} is not clean:\n{err}"
        );
    }
}

/// The wait-time heatmap's one target: its query and Grafana format.
fn heatmap_target(source: &SpecSource) -> (String, String) {
    let json: serde_json::Value =
        serde_json::from_str(&file(source, &conventions::dashboard_file_path())).unwrap();
    let mut found = Vec::new();
    let mut stack = vec![&json];
    while let Some(v) = stack.pop() {
        if v["type"] == "heatmap" {
            let t = &v["targets"][0];
            found.push((
                t["expr"].as_str().unwrap().to_string(),
                t["format"].as_str().unwrap().to_string(),
            ));
        }
        match v {
            serde_json::Value::Array(a) => stack.extend(a),
            serde_json::Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    assert_eq!(found.len(), 1, "{}: heatmaps {found:?}", source.name);
    found.remove(0)
}

fn the_heatmap_reads_each_form() {
    let wait = "k2_connection_pool_wait_time_seconds";
    let (classic, format) = heatmap_target(&SpecSource::builtin());
    assert!(classic.contains(&format!("{wait}_bucket")), "{classic}");
    assert_eq!(format, "heatmap");
    // A native histogram's rate is one histogram per sample: Grafana's heatmap reads it
    // from a plain time-series query, with no `le` to sort by.
    let (native, format) = heatmap_target(&fixture("native"));
    assert!(
        native.contains(&format!("rate({wait}{{")) && !native.contains("_bucket"),
        "{native}"
    );
    assert_eq!(format, "time_series");
    let (both, format) = heatmap_target(&fixture("both"));
    assert!(
        both.contains(&format!("rate({wait}{{"))
            && both.contains(&format!("{wait}_bucket"))
            && both.contains("or on(job, instance)"),
        "{both}"
    );
    assert_eq!(format, "heatmap");
}

fn storage_classic_written_out_changes_nothing() {
    // K2 writes `storage: classic` on both histograms; without it, the default, every
    // generated file is the same byte for byte.
    let builtin = SpecSource::builtin();
    let line = "    storage: classic\n";
    assert_eq!(
        builtin.text.matches(line).count(),
        2,
        "K2's storage lines moved"
    );
    let implicit = SpecSource {
        name: builtin.name.clone(),
        text: builtin.text.replace(line, ""),
    };
    let (a, b) = (common::generate(&builtin), common::generate(&implicit));
    assert_eq!(a.files.len(), b.files.len());
    for (x, y) in a.files.iter().zip(&b.files) {
        assert_eq!(x.path, y.path);
        assert!(x.contents == y.contents, "{} differs", x.path);
    }
}

fn only_native_alerts_are_left_to_the_end_to_end_scenario() {
    let tests = conventions::test_file_path();
    let native = file(&fixture("native"), &tests);
    let header: Vec<&str> = native.lines().take_while(|l| l.starts_with('#')).collect();
    let listed: Vec<&str> = header
        .iter()
        .filter_map(|l| l.strip_prefix("# - alert "))
        .collect();
    // The wait-time p99 (exponential native) and the slow-query share (NHCB).
    assert_eq!(
        listed,
        [
            "ConnectionPoolSlowAcquisition (pool k2) with severity warning",
            "ConnectionPoolSlowQueries (pool k2) with severity warning",
        ],
        "{header:#?}"
    );
    assert!(header.iter().any(|l| l.contains("promtool 2.42")));
    // No case of theirs is in the file: promtool would feed them classic series.
    assert!(!native.contains("ConnectionPoolSlowQueries pool=k2"));
    // A migration is proven here through its classic fallback.
    let both = file(&fixture("both"), &tests);
    assert!(!both.contains("Not tested here"));
    assert!(both.contains("- name: \"ConnectionPoolSlowQueries pool=k2 severity=warning: fires"));
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        native_and_both_specs_check_clean,
        the_heatmap_reads_each_form,
        storage_classic_written_out_changes_nothing,
        only_native_alerts_are_left_to_the_end_to_end_scenario,
    ]
}
