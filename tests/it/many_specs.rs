//! Several specs in one run (a fleet of services), collisions between specs and between a
//! spec's environments, the output folder's manifest (files no longer generated are
//! removed, files poolwatch did not write are never touched), and commands that say what
//! they did.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::fleetgen;
use crate::common::process::{code, poolwatch, stderr};

use poolwatch::spec::BUILTIN_K2;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file below `dir`, relative, sorted.
fn files(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
                found.insert(rel);
            }
        }
    }
    found
}

/// K2's spec under another spec name and pool name: a second service.
fn k2_as(spec: &str, pool: &str) -> String {
    BUILTIN_K2
        .replacen("\nname: k2\n", &format!("\nname: {spec}\n"), 1)
        .replacen("  - name: k2\n", &format!("  - name: {pool}\n"), 1)
}

fn the_service_fleet_is_deterministic_with_one_to_three_pools_per_spec() {
    let fleet = fleetgen::service_specs(40);
    assert_eq!(fleet, fleetgen::service_specs(40));
    assert_eq!(fleet.len(), 40);
    let mut sizes = BTreeSet::new();
    for (_, text) in &fleet {
        let pools = text.matches("\n    metrics:\n").count();
        assert!((1..=3).contains(&pools), "{pools} pools");
        sizes.insert(pools);
    }
    assert_eq!(sizes.len(), 3, "every size from 1 to 3 occurs");
}

/// A folder of specs: each spec in its own folder, one manifest, and `--check` passes
/// right after.
fn a_folder_of_specs_is_written_one_folder_per_spec() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("specs")).unwrap();
    for (name, text) in fleetgen::service_specs(5) {
        std::fs::write(d.join("specs").join(name), text).unwrap();
    }
    let out = poolwatch(&["emit", "--spec", "specs", "--out", "out"], d);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("(5 specs)"), "{}", stderr(&out));
    let written = files(&d.join("out"));
    for i in 0..5 {
        for f in [
            "rules/connection_pool.yml",
            "tests/connection_pool.test.yml",
            "alertmanager/connection_pool.yml",
            "dashboards/connection_pool.json",
            "docs/connection_pool.md",
        ] {
            let path = format!("svc-000{i}/{f}");
            assert!(written.contains(&path), "{path} missing: {written:?}");
        }
        let provisioning = format!("svc-000{i}/dashboards/poolwatch-svc-000{i}.yaml");
        assert!(written.contains(&provisioning), "{written:?}");
    }
    assert!(written.contains(".poolwatch-manifest"));
    let check = poolwatch(&["emit", "--spec", "specs", "--out", "out", "--check"], d);
    assert_eq!(code(&check), 0, "{}", stderr(&check));
    // The same specs named one by one go to the same places.
    let mut args = vec!["emit", "--out", "out", "--check"];
    let names: Vec<String> = (0..5).map(|i| format!("specs/svc-000{i}.yaml")).collect();
    for n in &names {
        args.extend(["--spec", n.as_str()]);
    }
    let check = poolwatch(&args, d);
    assert_eq!(code(&check), 0, "{}", stderr(&check));
}

/// Two services whose pools have the same name, metrics and selector would write the same
/// series into one Prometheus: refused, located at the pool, nothing written.
fn two_specs_writing_the_same_series_are_refused_with_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.yaml"), k2_as("billing", "main")).unwrap();
    std::fs::write(d.join("b.yaml"), k2_as("search", "main")).unwrap();
    let out = poolwatch(
        &[
            "emit", "--spec", "a.yaml", "--spec", "b.yaml", "--out", "out",
        ],
        d,
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("PW030"), "{err}");
    let pool_line = k2_as("search", "main")
        .lines()
        .position(|l| l.trim_start() == "- name: main")
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("b.yaml:{pool_line}:")),
        "located at the second spec's pool (line {pool_line}): {err}"
    );
    assert!(err.contains("pool `main` of spec `billing`"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!d.join("out").exists());
    // Another pool name: no collision.
    std::fs::write(d.join("b.yaml"), k2_as("search", "search-main")).unwrap();
    let out = poolwatch(
        &[
            "emit", "--spec", "a.yaml", "--spec", "b.yaml", "--out", "out",
        ],
        d,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(d.join("out/billing/rules/connection_pool.yml").is_file());
    assert!(d.join("out/search/rules/connection_pool.yml").is_file());
}

/// Spec names pick the output folder, dashboard uids and Grafana providers: two specs of
/// one name are refused at the second `name:`; a spec `k2-demo` collides with K2's `demo`
/// environment on the dashboard uid and the provider.
fn specs_sharing_a_name_or_a_grafana_identity_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.yaml"), k2_as("shop", "a")).unwrap();
    std::fs::write(d.join("b.yaml"), k2_as("shop", "b")).unwrap();
    let out = poolwatch(&["check", "--spec", "a.yaml", "--spec", "b.yaml"], d);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("two specs are named `shop`"), "{err}");
    assert!(err.contains("b.yaml:8:7"), "{err}");

    std::fs::write(d.join("k2.yaml"), BUILTIN_K2).unwrap();
    std::fs::write(d.join("demo.yaml"), k2_as("k2-demo", "other")).unwrap();
    let out = poolwatch(&["check", "--spec", "k2.yaml", "--spec", "demo.yaml"], d);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    for taken in [
        "dashboard uid `poolwatch-k2-demo` is taken",
        "Grafana provider name `poolwatch-k2-demo` is taken",
        "overlaps `/var/lib/grafana/dashboards/poolwatch/k2-demo`",
    ] {
        assert!(err.contains(taken), "{taken}: {err}");
    }
    assert!(err.contains("spec `k2`, environment `demo`"), "{err}");
}

/// Within one spec every environment has its own dashboard uid, Grafana provider,
/// provider folder and provisioning file.
fn every_environment_has_its_own_grafana_identity() {
    let set = crate::common::generate_all(&poolwatch::spec::SpecSource::builtin());
    assert_eq!(set.len(), 5);
    let mut uids = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut paths = BTreeSet::new();
    let mut files = BTreeSet::new();
    for (_, g) in &set {
        uids.insert(g.artifacts.dashboard.uid.clone());
        let provisioning = g
            .files
            .iter()
            .find(|f| f.path.contains("dashboards/poolwatch-"))
            .expect("a provisioning file");
        let file_name = provisioning.path.rsplit('/').next().unwrap().to_string();
        files.insert(file_name);
        let doc: serde_json::Value = serde_saphyr::from_str(&provisioning.contents).unwrap();
        let p = &doc["providers"][0];
        names.insert(p["name"].as_str().unwrap().to_string());
        paths.insert(p["options"]["path"].as_str().unwrap().to_string());
    }
    for (what, set) in [
        ("uids", &uids),
        ("provider names", &names),
        ("folders", &paths),
        ("file names", &files),
    ] {
        assert_eq!(set.len(), 5, "{what}: {set:?}");
    }
}

/// Switching `--target` removes the files the earlier target wrote; `--check` reports
/// them first; a file poolwatch did not write, or one changed since, stays.
fn files_no_longer_generated_are_removed_and_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = poolwatch(&["emit", "--out", "out", "--env", "demo"], d);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::write(d.join("out/rules/mine.yml"), "groups: []\n").unwrap();
    let docs = d.join("out/docs/connection_pool.md");
    std::fs::write(&docs, "edited by hand\n").unwrap();

    let check = poolwatch(
        &[
            "emit", "--out", "out", "--env", "demo", "--target", "mimir", "--check",
        ],
        d,
    );
    assert_eq!(code(&check), 1, "{}", stderr(&check));
    let diff = stdout(&check);
    assert!(
        diff.contains("--- a/rules/connection_pool.yml\n+++ /dev/null"),
        "{diff}"
    );
    assert!(
        stderr(&check).contains(
            "run `poolwatch emit --out out --target mimir --env demo` and commit the result"
        ),
        "{}",
        stderr(&check)
    );

    let out = poolwatch(
        &["emit", "--out", "out", "--env", "demo", "--target", "mimir"],
        d,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let after = files(&d.join("out"));
    assert!(!after.contains("rules/connection_pool.yml"), "{after:?}");
    // The unit tests stay, loading the plain groups written beside them.
    assert!(
        after.contains("tests/connection_pool.test.yml"),
        "{after:?}"
    );
    assert!(
        after.contains("tests/connection_pool.rules.yml"),
        "{after:?}"
    );
    assert!(
        after.contains("mimir/connection_pool.mimir.yaml"),
        "{after:?}"
    );
    assert!(
        after.contains("rules/mine.yml"),
        "not poolwatch's: {after:?}"
    );
    // The runbook is still generated: rewritten, not removed.
    assert!(after.contains("docs/connection_pool.md"), "{after:?}");
    assert!(
        stderr(&out).contains("removed out/rules/connection_pool.yml"),
        "{}",
        stderr(&out)
    );
    let check = poolwatch(
        &[
            "emit", "--out", "out", "--env", "demo", "--target", "mimir", "--check",
        ],
        d,
    );
    assert_eq!(code(&check), 0, "{}", stderr(&check));

    // A no-longer-generated file changed by hand is kept, and said so.
    std::fs::write(d.join("out/mimir/connection_pool.mimir.yaml"), "mine now\n").unwrap();
    let out = poolwatch(&["emit", "--out", "out", "--env", "demo"], d);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(d.join("out/mimir/connection_pool.mimir.yaml").is_file());
    assert!(
        stderr(&out).contains("kept out/mimir/connection_pool.mimir.yaml"),
        "{}",
        stderr(&out)
    );
}

/// `--check` names the command that fixes what it found, with the arguments as given.
fn emit_check_prints_the_command_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("my pool.yaml"), k2_as("mine", "mine")).unwrap();
    let out = poolwatch(
        &[
            "emit",
            "--spec",
            "my pool.yaml",
            "--out",
            "deploy",
            "--check",
        ],
        d,
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("run `poolwatch emit --spec 'my pool.yaml' --out deploy`"),
        "{}",
        stderr(&out)
    );
    let out = poolwatch(&["emit", "--check"], d);
    assert!(
        stderr(&out).contains("run `poolwatch emit` and commit"),
        "{}",
        stderr(&out)
    );
}

/// Without `--spec`, an edited specs/k2.yaml in the working folder is the spec used, and
/// the run says so; an unedited copy is the built-in spec and goes unmentioned.
fn a_local_specs_k2_yaml_is_used_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("specs")).unwrap();
    std::fs::write(d.join("specs/k2.yaml"), BUILTIN_K2).unwrap();
    let out = poolwatch(&["check"], d);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("working folder"), "{}", stderr(&out));
    let edited = BUILTIN_K2.replace(
        "- { value: 0.9, color: red, severity: warning, for: 5m }",
        "- { value: 0.85, color: red, severity: warning, for: 5m }",
    );
    assert_ne!(edited, BUILTIN_K2, "the edit applies");
    std::fs::write(d.join("specs/k2.yaml"), edited).unwrap();
    let out = poolwatch(&["emit", "--out", "out"], d);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("using specs/k2.yaml from the working folder"),
        "{}",
        stderr(&out)
    );
    let rules = std::fs::read_to_string(d.join("out/rules/connection_pool.yml")).unwrap();
    assert!(rules.contains("> 0.85"), "the edited threshold is used");
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        the_service_fleet_is_deterministic_with_one_to_three_pools_per_spec,
        a_folder_of_specs_is_written_one_folder_per_spec,
        two_specs_writing_the_same_series_are_refused_with_the_place,
        specs_sharing_a_name_or_a_grafana_identity_are_refused,
        every_environment_has_its_own_grafana_identity,
        files_no_longer_generated_are_removed_and_only_those,
        emit_check_prints_the_command_to_run,
        a_local_specs_k2_yaml_is_used_and_named,
    ]
}
