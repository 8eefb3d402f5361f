//! End to end, Go's database/sql: a real PostgreSQL, a tiny Go program (tests/e2e/gosql,
//! built here offline in GOPATH mode over Debian's Go source packages) holding two real
//! `*sql.DB` pools, `orders` and `billing`, each `SetMaxOpenConns(2)`, exported through
//! client_golang's first-party `collectors.NewDBStatsCollector` (go_sql_* with `db_name`),
//! a real Prometheus evaluating the rules `poolwatch emit` generates from
//! specs/presets/go-sql.yaml (its `for:` and rate windows shortened, nothing else changed)
//! on targets it finds through `file_sd_configs`, and a real Alertmanager loaded with the
//! generated route and inhibit rules, delivering to a webhook inside the test.
//!
//! The story, asserted on the notifications a person would get; before each phase asserts
//! silence or a page, it asserts every rule is healthy and every series the alerts read is
//! there for each pool (job, instance, db_name) with a value in the phase's range:
//! 1. quiet: both pools idle; no notification;
//! 2. exhausted: five goroutines run `select pg_sleep(..)` on `orders` (two run, three wait):
//!    exactly one notification, naming (app, this instance, orders); its utilization alert
//!    is held back by the generated inhibit rule (Alertmanager shows it suppressed);
//! 3. released: the holds are cancelled; no notification;
//! 4. slow acquisitions: short holds keep arriving on `orders` faster than its two
//!    connections serve them, so waits start and end all the time: the mean-wait alert
//!    (seconds waited / waits, from database/sql's own counters) pages for `orders` only,
//!    and every query of the generated dashboard returns data; released, all clears;
//! 5. rolling restart: a new process on a new port replaces the old one in the file_sd
//!    list, as a deploy does, and the old one stops: no notification;
//! 6. the new process stops exporting `orders`' metrics while its target stays up:
//!    exactly one notification, absence for (app, new instance, orders);
//! 7. the process stops while still listed (its target is down): one page, for the target.
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::e2e_alertmanager::{self as alertmanager, Stack};
use super::e2e_checks::{self as checks, Expect};
use super::e2e_conformance;
use super::e2e_support::{self as support, Postgres, Proc, Tools, wait_for};

/// The preset under test.
const PRESET: &str = "specs/presets/go-sql.yaml";

/// Where Debian's Go source packages live (GOPATH mode); `POOLWATCH_GOPATH` overrides.
fn gopath() -> PathBuf {
    std::env::var_os("POOLWATCH_GOPATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/gocode"))
}

/// Builds tests/e2e/gosql offline: GOPATH mode over Debian's packages, no module proxy, no
/// network (GOPROXY=off, GOFLAGS=-mod unset), the local toolchain only. The build cache lives
/// in the target folder, so a second run is fast.
pub(crate) fn build(tools: &Tools) -> PathBuf {
    build_in(tools, "e2e-gosql")
}

/// Like [`build`], into the target folder's `dir`: each scenario builds into its own, so two
/// running at once never write the binary the other is starting.
pub(crate) fn build_in(tools: &Tools, dir: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("gosql");
    support::run_ok(
        Command::new(tools.go.as_ref().expect("go (golang-go) on PATH"))
            .args(["build", "-o"])
            .arg(&bin)
            .arg("main.go")
            .current_dir(support::repo().join("tests/e2e/gosql"))
            .env("GO111MODULE", "off")
            .env("GOPATH", gopath())
            .env("GOCACHE", dir.join("gocache"))
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "")
            .env("CGO_ENABLED", "0")
            .env("HOME", &dir),
        Duration::from_secs(300),
    );
    bin
}

/// Starts the Go program against `pg` as `name` (its log file); (its address, the process).
fn start(bin: &Path, work: &Path, pg: &Postgres, name: &str) -> (SocketAddr, Proc) {
    start_with(bin, work, pg, name, &[])
}

/// Like [`start`], with more of the program's flags (e.g. `-acquire-histogram`).
pub(crate) fn start_with(
    bin: &Path,
    work: &Path,
    pg: &Postgres,
    name: &str,
    flags: &[&str],
) -> (SocketAddr, Proc) {
    support::spawn_service(
        name,
        Command::new(bin)
            .arg("-dsn")
            .arg(format!(
                "host=127.0.0.1 port={} user=postgres dbname=app sslmode=disable connect_timeout=5",
                pg.port
            ))
            .args([
                "-listen",
                "127.0.0.1:0",
                "-max-open",
                "2",
                "-lifetime",
                "5m",
            ])
            .args(flags),
        work,
    )
}

pub(crate) fn control(addr: SocketAddr, path: &str) {
    let (status, body) = support::http_get(addr, path).unwrap();
    assert!((200..300).contains(&status), "{path}: {status} {body}");
}

/// The scenario's needs: PostgreSQL, Prometheus and Alertmanager, Go, and Debian's Go
/// sources of client_golang and lib/pq (GOPATH mode).
const NEEDS: [crate::harness::Need; 9] = [
    support::POSTGRES_NEEDS[0],
    support::POSTGRES_NEEDS[1],
    support::POSTGRES_NEEDS[2],
    support::POSTGRES_NEEDS[3],
    alertmanager::ALERTMANAGER,
    crate::harness::Need::Tool("go"),
    crate::harness::Need::Program(
        "/usr/share/gocode/src/github.com/prometheus/client_golang/prometheus/collectors/dbstats_collector.go",
    ),
    crate::harness::Need::Program("/usr/share/gocode/src/github.com/lib/pq/conn.go"),
    crate::harness::Need::Program(
        "/usr/share/gocode/src/github.com/prometheus/client_golang/prometheus/promhttp/http.go",
    ),
];

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    vec![crate::harness::Test {
        name: "database_sql_pool_exhaustion_end_to_end",
        needs: &NEEDS,
        run: database_sql_pool_exhaustion_end_to_end,
    }]
}

/// The scrape job of the Go program.
const JOB: &str = "app";
/// Every `SetMaxOpenConns` of the program.
const MAX_OPEN: f64 = 2.0;
/// A quiet phase: longer than a shortened `for:` plus Alertmanager's delivery.
const QUIET: Duration = Duration::from_secs(10);

/// What the scenario's phases share.
struct Run {
    stack: Stack,
    /// The series the generated alerts read.
    read: BTreeSet<String>,
    dashboard: serde_json::Value,
}

impl Run {
    /// Rule health and every series the alerts read, for each (instance, pool, in-use
    /// range) given: the size is the program's, the counters are counts.
    fn assert_data(&mut self, phase: &str, pools: &[(SocketAddr, &str, RangeInclusive<f64>)]) {
        let mut expects = Vec::new();
        for (instance, db, in_use) in pools {
            let instance = instance.to_string();
            let identity = [("job", JOB), ("instance", &instance), ("db_name", db)];
            for m in &self.read {
                let range = match m.as_str() {
                    "go_sql_max_open_connections" => MAX_OPEN..=MAX_OPEN,
                    "go_sql_in_use_connections" => in_use.clone(),
                    _ => 0.0..=f64::MAX,
                };
                expects.push(Expect::new(m, &identity, range));
            }
            expects.push(Expect::new("up", &identity[..2], 1.0..=1.0));
        }
        checks::assert_data(&mut self.stack.prom, phase, &self.read, &expects);
    }

    /// Waits until `orders` of `instance` has `n` connections in use.
    fn wait_in_use(&mut self, instance: SocketAddr, n: u32) {
        let expr = format!(
            "go_sql_in_use_connections{{instance=\"{instance}\",db_name=\"orders\"}} == {n}"
        );
        checks::wait_until(&mut self.stack.prom, &expr);
    }
}

/// The whole scenario; panics on the first broken promise with what was seen.
fn database_sql_pool_exhaustion_end_to_end() {
    let tools = &Tools::get();
    let started = Instant::now();
    let bin = build(tools);
    let built = started.elapsed();
    let work_dir = tempfile::tempdir().unwrap();
    let work = work_dir.path();

    let pg = Postgres::start(tools, work);
    pg.exec("postgres", &["create database app"]);
    let (app, gosql) = start(&bin, work, &pg, "gosql-1");
    control(app, "/ping?db=orders");
    control(app, "/ping?db=billing");

    let (_, exposition) = support::http_get(app, "/metrics").unwrap();
    e2e_conformance::assert_live_exposition("go-sql", PRESET, &exposition);

    let text = std::fs::read_to_string(support::repo().join(PRESET)).unwrap();
    let out = work.join("generated");
    support::emit(&support::fast_preset(&text), work, &out);
    let catalog: Vec<String> = e2e_conformance::catalog(&text)
        .into_iter()
        .map(|e| e.name)
        .collect();
    let rule_file = out.join("rules/connection_pool.yml");
    let mut run = Run {
        stack: Stack::start(tools, work, &out, JOB, &[app]),
        read: checks::read_by_alerts(&rule_file, &catalog),
        dashboard: serde_json::from_str(
            &std::fs::read_to_string(out.join("dashboards/connection_pool.json")).unwrap(),
        )
        .unwrap(),
    };
    run.stack.prom.wait_healthy(1);
    assert_eq!(run.stack.webhook.all(), vec![], "paged at start-up");

    let gosql = incident_phases(&mut run, app, gosql);
    lifecycle_phases(&mut run, &bin, work, &pg, gosql);

    drop(run);
    drop(pg);
    eprintln!(
        "e2e database/sql: {:.1} s (go build {:.1} s)",
        started.elapsed().as_secs_f64(),
        built.as_secs_f64()
    );
}

/// Phases 1 to 4: quiet, exhausted, released, slow acquisitions; the program still runs.
fn incident_phases(run: &mut Run, app: SocketAddr, mut gosql: Proc) -> Proc {
    let instance = app.to_string();
    let orders = [("job", JOB), ("instance", &instance), ("db_name", "orders")];

    // 1. Quiet.
    run.assert_data(
        "quiet service",
        &[(app, "orders", 0.0..=0.0), (app, "billing", 0.0..=0.0)],
    );
    run.stack.assert_no_page("quiet service", QUIET);

    // 2. Exhausted: five holders on a pool of two; one page for the pool.
    let mark = run.stack.webhook.mark();
    control(app, "/hold?db=orders&n=5&seconds=90");
    run.wait_in_use(app, 2);
    run.assert_data(
        "exhausted",
        &[
            (app, "orders", MAX_OPEN..=MAX_OPEN),
            (app, "billing", 0.0..=0.0),
        ],
    );
    run.stack.wait_pages(
        mark,
        &orders,
        &["ConnectionPoolExhausted"],
        Duration::from_secs(45),
        |prom| {
            gosql.assert_running();
            format!("in use: {:?}", prom.query("go_sql_in_use_connections"))
        },
    );
    let pages = run.stack.assert_page_count("exhausted", mark, 1);
    assert_eq!(
        pages[0].firing(),
        ["ConnectionPoolExhausted"],
        "one alert in the page: {pages:#?}"
    );
    run.stack
        .assert_inhibited("ConnectionPoolHighUtilization", &orders);

    // 3. Released: nothing more arrives.
    control(app, "/release?db=orders");
    support::wait_all_clear(&mut run.stack.prom, Duration::from_secs(60));
    run.assert_data(
        "released",
        &[(app, "orders", 0.0..=0.0), (app, "billing", 0.0..=0.0)],
    );
    run.stack.assert_no_page("released service", QUIET);

    // 4. Slow acquisitions: six 1 s holds every 3 s on a pool of two: two run at once, two
    // wait 1 s, two wait 2 s, a mean of 1.5 s per wait above the preset's 1 s, and the pool
    // drains before the next round, so waits start and end within every rate window
    // (database/sql counts a wait when it starts and adds its seconds when it ends).
    let phase4 = Instant::now();
    let mark = run.stack.webhook.mark();
    run.assert_data(
        "slow acquisitions",
        &[(app, "orders", 0.0..=MAX_OPEN), (app, "billing", 0.0..=0.0)],
    );
    let mut last_hold: Option<Instant> = None;
    run.stack.wait_pages(
        mark,
        &orders,
        &["ConnectionPoolSlowAcquisitionMean"],
        Duration::from_secs(60),
        |prom| {
            gosql.assert_running();
            if last_hold.is_none_or(|t| t.elapsed() >= Duration::from_secs(3)) {
                control(app, "/hold?db=orders&n=6&seconds=1");
                last_hold = Some(Instant::now());
            }
            format!(
                "waits: {:?}",
                prom.query(&format!(
                    "rate(go_sql_wait_count_total[{}])",
                    support::RATE_WINDOW
                ))
            )
        },
    );
    let fired = phase4.elapsed();
    support::assert_dashboard_has_data(&mut run.stack.prom, &run.dashboard);
    control(app, "/release?db=orders");
    // The last round of holds still ends its waits (and database/sql adds their seconds
    // then): let it finish and a whole rate window pass before calling the service quiet.
    let round = Duration::from_secs(3);
    let window = Duration::from_secs(10) + Duration::from_secs(2);
    if let Some(t) = last_hold {
        std::thread::sleep((round + window).saturating_sub(t.elapsed()));
    }
    support::wait_all_clear(&mut run.stack.prom, Duration::from_secs(60));
    eprintln!(
        "e2e database/sql: slow acquisitions paged after {:.1} s, cleared after {:.1} s",
        fired.as_secs_f64(),
        phase4.elapsed().as_secs_f64()
    );
    gosql
}

/// Phases 5 to 7: a rolling restart, a pool that stops exporting, a target that is down.
fn lifecycle_phases(run: &mut Run, bin: &Path, work: &Path, pg: &Postgres, old: Proc) {
    // 5. Rolling restart: the new process is ready, the deploy lists it instead of the old
    // one, Prometheus drops the old target, then the old process stops.
    let (app, mut gosql) = start(bin, work, pg, "gosql-2");
    run.stack.deploy(JOB, &[app]);
    drop(old);
    run.assert_data(
        "after the rolling restart",
        &[(app, "orders", 0.0..=0.0), (app, "billing", 0.0..=0.0)],
    );
    run.stack
        .assert_no_page("rolling restart", QUIET + Duration::from_secs(5));

    // 6. The target answers but `orders` is no longer exported: one page, for that pool.
    let instance = app.to_string();
    let orders = [
        ("job", JOB),
        ("instance", instance.as_str()),
        ("db_name", "orders"),
    ];
    let mark = run.stack.webhook.mark();
    control(app, "/unregister?db=orders");
    wait_for(
        "orders' series end",
        Duration::from_secs(20),
        || match run.stack.prom.query(&format!(
            "go_sql_max_open_connections{{instance=\"{app}\",db_name=\"orders\"}}"
        ))? {
            r if r.is_empty() => Ok(()),
            r => Err(format!("{r:?}")),
        },
    );
    run.assert_data("orders unexported", &[(app, "billing", 0.0..=0.0)]);
    run.stack.wait_pages(
        mark,
        &orders,
        &["ConnectionPoolMetricsAbsent"],
        Duration::from_secs(45),
        |_| {
            gosql.assert_running();
            String::new()
        },
    );
    let pages = run.stack.assert_page_count("orders unexported", mark, 1);
    assert_eq!(
        pages[0].firing(),
        ["ConnectionPoolMetricsAbsent"],
        "{pages:#?}"
    );

    // 7. The process stops while listed: its target is down, one page for the target (the
    // alert names the target, not each of its pools; `orders`' own absence gives way).
    let target = [("job", JOB), ("instance", instance.as_str())];
    let mark = run.stack.webhook.mark();
    drop(gosql);
    checks::wait_until(
        &mut run.stack.prom,
        &format!("up{{instance=\"{app}\"}} == 0"),
    );
    checks::assert_rules_healthy(&mut run.stack.prom, "target down");
    run.stack.wait_pages(
        mark,
        &target,
        &["ConnectionPoolMetricsAbsent"],
        Duration::from_secs(45),
        |_| String::new(),
    );
    support::wait_target_down(&mut run.stack.prom, "db_name");
    let pages = run.stack.assert_page_count("target down", mark, 1);
    assert!(
        pages[0]
            .alerts
            .iter()
            .all(|(_, l)| !l.contains_key("db_name")),
        "the page names the target, not a pool: {pages:#?}"
    );
}
