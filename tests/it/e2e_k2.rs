//! End to end, K2 itself: replicas of a small Python program (tests/e2e/k2/replica.py), each
//! a DuckDB connection pool in K2's shape exporting K2's metrics through the real
//! `prometheus_client` (names, types, labels and buckets of specs/k2.yaml's catalog; both
//! packages from PyPI, in the virtual environment `.ci/run` makes and names in
//! `POOLWATCH_K2_PYTHON`), a real Prometheus evaluating the rules `poolwatch emit`
//! generates from the built-in K2 spec, and a real Alertmanager with the generated route and
//! inhibit rules delivering to a webhook inside the test.
//!
//! The spec is K2's base spec with every `for:` shortened to a few seconds and the rate
//! window to ten (`support::fast_preset`; thresholds, identity, texts unchanged). The
//! replicas run with `K2_QUERY_ENGINE_POOL_SIZE=2` and `K2_QUERY_ENGINE_POOL_TIMEOUT=3`
//! (the runbook's 30 s, shortened the same way).
//!
//! The story, asserted on notifications; each phase first asserts rule health and every
//! series the alerts read, per replica (job, instance), with values in the phase's range:
//! 1. quiet: two replicas serve a few fast queries; no notification;
//! 2. one replica exhausted: four clients run 6 s DuckDB queries on its two connections (two
//!    run, two time out waiting); the other replica keeps serving fast queries. The
//!    runbook's HighUtilization and AcquisitionTimeouts, Exhausted, and SlowQueries (queries
//!    slower than the top bucket, `le="5.0"` as the Python client prints it) page for that
//!    replica only; HighUtilization is held back by the inhibit rule under Exhausted;
//! 3. a bad deploy: the idle replica is replaced by one whose `K2_QUERY_ENGINE_MEMORY_LIMIT`
//!    DuckDB refuses, so every connection it opens fails: the runbook's CreationErrors pages
//!    for the new replica, nothing for the one that left;
//! 4. a rolling restart of both replicas, one after the other (new process, new port,
//!    file_sd rewritten, old process stopped): no notification.
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::e2e_alertmanager::{self as alertmanager, Stack};
use super::e2e_checks::{self as checks, Expect};
use super::e2e_conformance;
use super::e2e_support::{self as support, Proc, Tools};
use crate::harness::{Need, PROMETHEUS};

/// The variable `.ci/run` sets to the Python of the virtual environment holding
/// prometheus_client and duckdb (tests/e2e/k2/requirements.txt).
const PYTHON: &str = "POOLWATCH_K2_PYTHON";
/// The scrape job of the replicas.
const JOB: &str = "k2";
/// Every replica's K2_QUERY_ENGINE_POOL_SIZE.
const SIZE: f64 = 2.0;
/// A quiet phase: longer than a shortened `for:` plus Alertmanager's delivery.
const QUIET: Duration = Duration::from_secs(10);

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![[PROMETHEUS, alertmanager::ALERTMANAGER, Need::EnvFile(PYTHON)] k2_replicas_page_once_per_incident_end_to_end]
}

/// Starts one replica; `env` adds K2 settings to the scenario's pool size and timeout.
fn replica(work: &Path, name: &str, env: &[(&str, &str)]) -> (SocketAddr, Proc) {
    let python = PathBuf::from(std::env::var_os(PYTHON).expect(PYTHON));
    let mut cmd = Command::new(python);
    cmd.arg(support::repo().join("tests/e2e/k2/replica.py"))
        .args(["--listen", "127.0.0.1", "--lifetime", "600"])
        .env("K2_QUERY_ENGINE_POOL_SIZE", "2")
        .env("K2_QUERY_ENGINE_POOL_TIMEOUT", "3")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    support::spawn_service(name, &mut cmd, work)
}

fn control(addr: SocketAddr, path: &str) -> u16 {
    let (status, body) = support::http_get(addr, path).unwrap();
    assert!(
        (200..300).contains(&status) || status == 503,
        "{path}: {status} {body}"
    );
    status
}

/// What the phases share.
struct Run {
    stack: Stack,
    read: BTreeSet<String>,
}

/// How busy a replica is in a phase: its active connections and its recommended size.
struct Busy {
    active: RangeInclusive<f64>,
    recommended: RangeInclusive<f64>,
}

const IDLE: Busy = Busy {
    active: 0.0..=0.0,
    recommended: 0.0..=SIZE,
};

impl Run {
    /// Rule health and every series the alerts read, for each replica given.
    fn assert_data(&mut self, phase: &str, replicas: &[(SocketAddr, Busy)]) {
        let mut expects = Vec::new();
        for (addr, busy) in replicas {
            let instance = addr.to_string();
            let identity = [("job", JOB), ("instance", instance.as_str())];
            for m in &self.read {
                let range = match m.as_str() {
                    "k2_connection_pool_size" => SIZE..=SIZE,
                    "k2_connection_pool_active_connections" => busy.active.clone(),
                    "k2_connection_pool_available_connections" => 0.0..=SIZE,
                    m if m.ends_with(":recommended_p99_1d") => busy.recommended.clone(),
                    _ => 0.0..=f64::MAX,
                };
                expects.push(Expect::new(m, &identity, range));
            }
            expects.push(Expect::new("up", &identity, 1.0..=1.0));
        }
        checks::assert_data(&mut self.stack.prom, phase, &self.read, &expects);
    }
}

/// The whole scenario; panics on the first broken promise with what was seen.
fn k2_replicas_page_once_per_incident_end_to_end() {
    let tools = &Tools::get();
    let started = Instant::now();
    let work_dir = tempfile::tempdir().unwrap();
    let work = work_dir.path();

    let (r1, p1) = replica(work, "k2-1", &[]);
    let (r2, p2) = replica(work, "k2-2", &[]);
    for r in [r1, r2] {
        control(r, "/query?seconds=0.01");
    }
    let spec = poolwatch::spec::BUILTIN_K2;
    assert_exposition(r1, spec);

    let out = work.join("generated");
    support::emit(&support::fast_preset(spec), work, &out);
    let catalog: Vec<String> = e2e_conformance::catalog(spec)
        .into_iter()
        .map(|e| e.name)
        .collect();
    let mut run = Run {
        stack: Stack::start(tools, work, &out, JOB, &[r1, r2]),
        read: checks::read_by_alerts(&out.join("rules/connection_pool.yml"), &catalog),
    };
    run.stack.prom.wait_healthy(1);
    assert_eq!(run.stack.webhook.all(), vec![], "paged at start-up");

    // 1. Quiet.
    run.assert_data("quiet replicas", &[(r1, IDLE), (r2, IDLE)]);
    run.stack.assert_no_page("quiet replicas", QUIET);

    exhausted_phase(&mut run, r1, r2);
    let (r3, p3) = bad_deploy_phase(&mut run, work, r1, p2);

    // 4. Rolling restart, one replica after the other.
    let mark = run.stack.webhook.mark();
    let (r4, p4) = replica(work, "k2-4", &[]);
    run.stack.deploy(JOB, &[r4, r3]);
    drop(p1);
    let (r5, p5) = replica(work, "k2-5", &[]);
    run.stack.deploy(JOB, &[r4, r5]);
    drop(p3);
    run.assert_data("after the rolling restart", &[(r4, IDLE), (r5, IDLE)]);
    run.stack
        .assert_no_page("rolling restart", QUIET + Duration::from_secs(5));
    assert_eq!(run.stack.webhook.since(mark), vec![], "the restart paged");

    drop((p4, p5, run));
    eprintln!("e2e K2: {:.1} s", started.elapsed().as_secs_f64());
}

/// The live exposition is K2's catalog, and the top bucket prints as the Python client does.
fn assert_exposition(replica: SocketAddr, spec: &str) {
    let (_, exposition) = support::http_get(replica, "/metrics").unwrap();
    let problems = e2e_conformance::mismatches(
        &e2e_conformance::catalog(spec),
        &support::parse_exposition(&exposition),
    );
    assert!(
        problems.is_empty(),
        "the replica does not export K2's catalog:\n{}\n{exposition}",
        problems.join("\n")
    );
    assert!(
        exposition.contains("k2_query_duration_seconds_bucket{component=\"query-engine\",environment=\"dev\",le=\"5.0\""),
        "prometheus_client prints the top bucket as le=\"5.0\":\n{exposition}"
    );
}

/// 2. One replica exhausted beside an idle one: pages for the exhausted one only.
fn exhausted_phase(run: &mut Run, r1: SocketAddr, r2: SocketAddr) {
    let mark = run.stack.webhook.mark();
    control(r1, "/load?clients=4&seconds=6");
    let busy = format!("k2_connection_pool_active_connections{{instance=\"{r1}\"}} == {SIZE}");
    checks::wait_until(&mut run.stack.prom, &busy);
    let exhausted = Busy {
        active: SIZE..=SIZE,
        recommended: 0.0..=f64::MAX,
    };
    run.assert_data("one replica exhausted", &[(r1, exhausted), (r2, IDLE)]);
    let instance = r1.to_string();
    let identity = [("job", JOB), ("instance", instance.as_str())];
    run.stack.wait_pages(
        mark,
        &identity,
        &[
            "ConnectionPoolExhausted",
            "ConnectionPoolAcquisitionTimeouts",
            "ConnectionPoolSlowQueries",
        ],
        Duration::from_secs(60),
        |prom| {
            control(r2, "/query?seconds=0.01");
            format!(
                "{:?}",
                prom.query("k2_query_duration_seconds_count - ignoring(le) k2_query_duration_seconds_bucket{le=\"5.0\"}")
            )
        },
    );
    // SlowQueries paged because queries ended above the top bucket: they are in +Inf only.
    let slower = format!(
        "k2_query_duration_seconds_count{{instance=\"{r1}\"}} - ignoring(le) k2_query_duration_seconds_bucket{{instance=\"{r1}\",le=\"5.0\"}}"
    );
    checks::assert_data(
        &mut run.stack.prom,
        "slow queries",
        &BTreeSet::new(),
        &[Expect::new(&slower, &identity, 1.0..=f64::MAX)],
    );
    run.stack
        .assert_inhibited("ConnectionPoolHighUtilization", &identity);
    // The load ends; whatever else this incident raises (Undersized: a saturated replica's
    // recommended size is above its size for a day) is delivered before the next phase.
    control(r1, "/release");
    run.stack.settle();
}

/// 3. The idle replica is replaced by one that cannot open a DuckDB connection.
fn bad_deploy_phase(run: &mut Run, work: &Path, r1: SocketAddr, old: Proc) -> (SocketAddr, Proc) {
    let mark = run.stack.webhook.mark();
    let (r3, p3) = replica(work, "k2-3", &[("K2_QUERY_ENGINE_MEMORY_LIMIT", "lots")]);
    run.stack.deploy(JOB, &[r1, r3]);
    drop(old);
    assert_eq!(
        control(r3, "/query?seconds=0.01"),
        503,
        "DuckDB took the bad memory limit"
    );
    let failing = format!("k2_connection_pool_creation_errors_total{{instance=\"{r3}\"}} > 0");
    checks::wait_until(&mut run.stack.prom, &failing);
    let released = Busy {
        active: 0.0..=SIZE,
        recommended: 0.0..=f64::MAX,
    };
    run.assert_data("bad deploy", &[(r1, released), (r3, IDLE)]);
    let instance = r3.to_string();
    run.stack.wait_pages(
        mark,
        &[("job", JOB), ("instance", instance.as_str())],
        &["ConnectionPoolCreationErrors"],
        Duration::from_secs(45),
        |_| {
            control(r3, "/query?seconds=0.01");
            String::new()
        },
    );
    (r3, p3)
}
