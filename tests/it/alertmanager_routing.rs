//! `check --alertmanager`: poolwatch routes every generated alert through a real
//! Alertmanager configuration exactly as `amtool config routes test` does (Alertmanager
//! 0.25's own routing code), for every spec and environment, against kube-prometheus's
//! default configuration, a team's configuration with every kind of matcher, and each
//! spec's generated route merged under a root; reports exactly the alerts that reach only
//! the root's default receiver or miss the receiver the spec names; and refuses a broken
//! configuration with located errors, exit 2, as amtool refuses it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use poolwatch::alertmanager::config::{self, Config};
use poolwatch::pipeline::Generated;
use poolwatch::source::Sources;
use poolwatch::spec::SpecSource;
use serde_json::Value;

use crate::alertmanager::{
    AMTOOL, ROOT_RECEIVER, generated_file, k2_with_receivers, wrapped_config,
};
use crate::common::{self, process};
use crate::e2e_support::run_bounded;
use crate::harness::Need;

const KUBE_PROMETHEUS: Need = Need::Shared("alertmanager/kube-prometheus.yaml");
const SIMPLE: Need = Need::Shared("alertmanager/simple.yml");

type Labels = BTreeMap<String, String>;

/// Every spec of the suite and K2 with named receivers, each with all its variants.
fn specs() -> Vec<(String, SpecSource, Vec<Generated>)> {
    let mut specs = common::all_specs();
    specs.push(("k2-receivers".into(), k2_with_receivers()));
    specs
        .into_iter()
        .map(|(name, source)| {
            let variants = common::generate_all(&source)
                .into_iter()
                .map(|(_, g)| g)
                .collect();
            (name, source, variants)
        })
        .collect()
}

/// A generated alert as Alertmanager receives it, with what a route can know of it: its
/// rule's labels, its name, the identity labels its pool's selector fixes.
fn alerts(g: &Generated) -> Vec<Labels> {
    let mut out = Vec::new();
    for rule in g.artifacts.rules.groups.iter().flat_map(|gr| &gr.rules) {
        let Some(alert) = &rule.alert else { continue };
        let pool = common::pool(g, &rule.origin.pool);
        let mut labels = rule.labels.clone();
        labels.insert("alertname".into(), alert.clone());
        for (k, v) in &pool.selector {
            if pool.identity.contains(k) {
                labels.insert(k.clone(), v.clone());
            }
        }
        out.push(labels);
    }
    out
}

/// The receiver the spec's text names for a severity, if any.
fn intended(spec_text: &str, severity: &str) -> Option<String> {
    let doc: Value = serde_norway::from_str(spec_text).unwrap();
    let am = &doc["deploy"]["alertmanager"];
    am["receivers"][severity]
        .as_str()
        .or(am["receiver"].as_str())
        .map(str::to_string)
}

/// `amtool config routes test`: the receivers it prints, in order.
fn amtool_receivers(config: &Path, labels: &Labels) -> Vec<String> {
    let mut cmd = Command::new("amtool");
    cmd.arg("config")
        .arg("routes")
        .arg("test")
        .arg(format!("--config.file={}", config.display()));
    for (k, v) in labels {
        cmd.arg(format!("{k}={v:?}"));
    }
    let out = run_bounded(&mut cmd, Duration::from_secs(30));
    assert!(out.status.success(), "{cmd:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(',')
        .map(str::to_string)
        .collect()
}

fn load(path: &Path) -> Config {
    let mut sources = Sources::default();
    let file = sources.add(
        path.display().to_string(),
        std::fs::read_to_string(path).unwrap(),
    );
    config::parse(&sources, file).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()))
}

/// The labels `check --alertmanager --format json` reports as misrouted.
fn reported(config: &Path, spec: &Path) -> (i32, BTreeSet<String>) {
    let out = process::poolwatch(
        &[
            "check",
            "--alertmanager",
            config.to_str().unwrap(),
            "--spec",
            spec.to_str().unwrap(),
            "--format",
            "json",
        ],
        spec.parent().unwrap(),
    );
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", process::stderr(&out)));
    let labels = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["code"], "PW041", "{d}");
            assert!(d["line"].as_u64().unwrap() > 0, "not located: {d}");
            d["help"][0].as_str().unwrap().to_string()
        })
        .collect();
    (process::code(&out), labels)
}

fn shown(labels: &Labels) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("its labels: {{{}}}", parts.join(", "))
}

/// Routes every alert of every spec through `config` with poolwatch and with amtool, and
/// checks that `check --alertmanager` reports exactly the misrouted ones. `root` is the
/// root route's receiver, which no other route of these configurations uses for these
/// alerts: amtool printing it alone means the alert fell to the root.
fn compare(config: &Path, root: &str, only: Option<&str>, dir: &Path) -> usize {
    let ours = load(config);
    let mut routed = 0;
    for (name, source, variants) in specs() {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let mut expected = BTreeSet::new();
        let mut seen = BTreeSet::new();
        for g in &variants {
            for labels in alerts(g) {
                if !seen.insert(labels.clone()) {
                    continue;
                }
                let theirs = amtool_receivers(config, &labels);
                assert_eq!(
                    ours.receivers(&labels),
                    theirs,
                    "{name} {labels:?} through {}",
                    config.display()
                );
                routed += 1;
                let misrouted = match intended(&source.text, &labels["severity"]) {
                    Some(want) => !theirs.contains(&want),
                    None => theirs == [root],
                };
                if misrouted {
                    expected.insert(shown(&labels));
                }
            }
        }
        let spec = dir.join(format!("{name}.yaml"));
        std::fs::write(&spec, &source.text).unwrap();
        let (code, got) = reported(config, &spec);
        assert_eq!(got, expected, "{name} through {}", config.display());
        assert_eq!(code, i32::from(!expected.is_empty()), "{name}");
    }
    routed
}

fn routing_matches_amtool_on_every_generated_alert() {
    let dir = tempfile::tempdir().unwrap();
    let kube = common::shared().join("alertmanager/kube-prometheus.yaml");
    let teams = common::root().join("tests/alertmanager/teams.yml");
    let routed =
        compare(&kube, "null", None, dir.path()) + compare(&teams, "fallback", None, dir.path());
    assert!(routed > 50, "only {routed} alerts routed");
    // kube-prometheus routes nothing of ours: every alert is reported.
    let spec = dir.path().join("k2.yaml");
    let (code, got) = reported(&kube, &spec);
    assert_eq!((code, got.len() >= 8), (1, true), "{got:?}");
}

fn each_generated_route_delivers_every_alert_where_the_spec_intends() {
    let dir = tempfile::tempdir().unwrap();
    for (name, _, variants) in specs() {
        // The base variant's route serves every environment (same labels, receivers).
        let config = dir.path().join(format!("{name}-alertmanager.yml"));
        std::fs::write(
            &config,
            wrapped_config(&[generated_file(&variants[0])], None),
        )
        .unwrap();
        compare(&config, ROOT_RECEIVER, Some(&name), dir.path());
        let spec = dir.path().join(format!("{name}.yaml"));
        let (code, got) = reported(&config, &spec);
        assert_eq!((code, got), (0, BTreeSet::new()), "{name}");
    }
    // A config that pages the wrong team for K2's critical alerts is caught, for exactly
    // those alerts.
    let k2 = specs().into_iter().find(|s| s.0 == "k2-receivers").unwrap();
    let text = wrapped_config(&[generated_file(&k2.2[0])], None)
        .replace("receiver: k2-pager", "receiver: k2-tickets");
    let config = dir.path().join("wrong.yml");
    std::fs::write(&config, text).unwrap();
    let (code, got) = reported(&config, &dir.path().join("k2-receivers.yaml"));
    assert_eq!(code, 1);
    assert!(
        !got.is_empty()
            && got
                .iter()
                .all(|l| l.contains("severity=\"critical\"") || l.contains("severity=\"high\"")),
        "{got:?}"
    );
    compare(&config, ROOT_RECEIVER, Some("k2-receivers"), dir.path());
}

/// amtool's complaints about a configuration: the line numbers it names.
fn amtool_lines(config: &Path) -> (bool, BTreeSet<usize>) {
    let out = run_bounded(
        Command::new("amtool").arg("check-config").arg(config),
        Duration::from_secs(30),
    );
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let lines = text
        .split("line ")
        .skip(1)
        .filter_map(|s| s.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    (out.status.success(), lines)
}

/// `check --alertmanager` on a broken configuration: exit 2, nothing on stdout, and the
/// lines its errors point at (`file:line:col`).
fn our_lines(config: &Path) -> (i32, BTreeSet<usize>, String) {
    let dir = config.parent().unwrap();
    let before = std::fs::read_dir(dir).unwrap().count();
    let out = process::poolwatch(&["check", "--alertmanager", config.to_str().unwrap()], dir);
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        before,
        "something was written"
    );
    assert!(out.stdout.is_empty());
    let stderr = process::stderr(&out);
    let name = config.file_name().unwrap().to_str().unwrap();
    let lines = stderr
        .split(&format!("{name}:"))
        .skip(1)
        .filter_map(|s| s.split(':').next()?.parse().ok())
        .collect();
    (process::code(&out), lines, stderr)
}

fn a_real_invalid_config_is_refused_where_amtool_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let simple = dir.path().join("simple.yml");
    std::fs::copy(common::shared().join("alertmanager/simple.yml"), &simple).unwrap();
    let (accepted, theirs) = amtool_lines(&simple);
    assert!(!accepted && !theirs.is_empty(), "{theirs:?}");
    let (code, ours, text) = our_lines(&simple);
    assert_eq!(code, 2, "{text}");
    assert!(
        theirs.is_subset(&ours),
        "amtool: {theirs:?}, poolwatch: {ours:?}\n{text}"
    );
}

fn broken_configs_get_located_errors_and_exit_2() {
    let base = "route:\n  receiver: a\n  routes:\n    - receiver: a\n";
    let receivers = "receivers:\n  - name: a\n";
    // (what, text, the line poolwatch must point at)
    let cases: [(&str, String, usize); 8] = [
        (
            "a regex that does not compile",
            format!("{base}      match_re: {{service: \"(k2\"}}\n{receivers}"),
            5,
        ),
        (
            "a matcher with a stray quote",
            format!("{base}      matchers: ['severity=\"a\"b\"']\n{receivers}"),
            5,
        ),
        (
            "an undefined receiver",
            format!("{base}    - receiver: b\n{receivers}"),
            5,
        ),
        (
            "a receiver named twice",
            format!("{base}{receivers}  - name: a\n"),
            7,
        ),
        (
            "an invalid group_by label",
            format!("{base}      group_by: ['not-a-label']\n{receivers}"),
            5,
        ),
        (
            "an unknown route field",
            format!("{base}      recevier: a\n{receivers}"),
            5,
        ),
        (
            "matchers on the root",
            format!("route:\n  receiver: a\n  match: {{a: b}}\n{receivers}"),
            3,
        ),
        (
            "YAML that does not parse",
            format!("{base}    - receiver: [a\n{receivers}"),
            6,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, text, line) in cases {
        let path = dir.path().join("alertmanager.yml");
        std::fs::write(&path, &text).unwrap();
        let (accepted, _) = amtool_lines(&path);
        assert!(!accepted, "amtool accepts {what}:\n{text}");
        let (code, ours, stderr) = our_lines(&path);
        assert_eq!(code, 2, "{what}:\n{stderr}");
        assert!(ours.contains(&line), "{what}: {ours:?}\n{stderr}");
    }
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [AMTOOL, KUBE_PROMETHEUS] routing_matches_amtool_on_every_generated_alert,
        [AMTOOL] each_generated_route_delivers_every_alert_where_the_spec_intends,
        [AMTOOL, SIMPLE] a_real_invalid_config_is_refused_where_amtool_refuses_it,
        [AMTOOL] broken_configs_get_located_errors_and_exit_2,
    ]
}
