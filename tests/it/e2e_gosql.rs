//! End to end, Go's database/sql: a real PostgreSQL, a tiny Go program (tests/e2e/gosql,
//! built here offline in GOPATH mode over Debian's Go source packages) holding two real
//! `*sql.DB` pools, `orders` and `billing`, each `SetMaxOpenConns(2)`, exported through
//! client_golang's first-party `collectors.NewDBStatsCollector` (go_sql_* with `db_name`),
//! and a real Prometheus evaluating the rules `poolwatch emit` generates from
//! specs/presets/go-sql.yaml (its `for:` and rate windows shortened, nothing else changed).
//!
//! The story, asserted through Prometheus's HTTP API:
//! 1. quiet: both pools have served a query; nothing is pending or firing;
//! 2. exhausted: five goroutines run `select pg_sleep(..)` on `orders` (two run, three wait);
//!    the utilization and exhaustion alerts fire for db_name="orders" of this instance,
//!    none for `billing`;
//! 3. released: the holds are cancelled, every alert clears and stays clear;
//! 4. slow acquisitions: short holds keep arriving on `orders` faster than its two
//!    connections serve them, so waits start and end all the time: the mean-wait alert
//!    (seconds waited / waits, from database/sql's own counters) fires for `orders` only,
//!    and every query of the generated dashboard returns data (the mean and waits-per-second
//!    panels need waits that start and end within the rate window); released, all clears;
//! 5. the service stops: the absence alert fires for each of its two pools, nothing else.
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::e2e_conformance;
use super::e2e_support::{self as support, Postgres, Proc, Tools};

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
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-gosql");
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

/// Starts the Go program against `pg`; (its address, the process).
fn start(bin: &Path, work: &Path, pg: &Postgres) -> (SocketAddr, Proc) {
    let log = work.join("gosql.log");
    let mut child = Command::new(bin)
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
        // Its stdin stays open while we hold the child; when we are gone, it exits.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let proc = Proc::adopt("gosql", child, log, "TERM");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("gosql did not start:\n{}", proc.log_text()));
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("gosql said {line:?}:\n{}", proc.log_text()));
    (addr, proc)
}

fn control(addr: SocketAddr, path: &str) {
    let (status, body) = support::http_get(addr, path).unwrap();
    assert!((200..300).contains(&status), "{path}: {status} {body}");
}

/// The scenario's needs: PostgreSQL and Prometheus, Go, and Debian's Go sources of
/// client_golang and lib/pq (GOPATH mode).
const NEEDS: [crate::harness::Need; 8] = [
    support::POSTGRES_NEEDS[0],
    support::POSTGRES_NEEDS[1],
    support::POSTGRES_NEEDS[2],
    support::POSTGRES_NEEDS[3],
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

/// The whole scenario; panics on the first broken promise with what Prometheus saw.
fn database_sql_pool_exhaustion_end_to_end() {
    let tools = &Tools::get();
    let started = Instant::now();
    let bin = build(tools);
    let built = started.elapsed();
    let work_dir = tempfile::tempdir().unwrap();
    let work = work_dir.path();

    let pg = Postgres::start(tools, work);
    pg.exec("postgres", &["create database app"]);
    let (app, mut gosql) = start(&bin, work, &pg);
    control(app, "/ping?db=orders");
    control(app, "/ping?db=billing");

    let (_, exposition) = support::http_get(app, "/metrics").unwrap();
    e2e_conformance::assert_live_exposition("go-sql", PRESET, &exposition);

    let (mut prom, dashboard) = support::monitor(tools, work, PRESET, &[("app", app)]);

    // 1. Quiet.
    support::assert_quiet(&mut prom, "quiet service", Duration::from_secs(8));

    // 2. Exhausted: five holders on a pool of two.
    control(app, "/hold?db=orders&n=5&seconds=90");
    let firing = support::wait_firing_for(
        &mut prom,
        ("db_name", "orders"),
        &["ConnectionPoolHighUtilization", "ConnectionPoolExhausted"],
        |prom| {
            gosql.assert_running();
            format!("in use: {:?}", prom.query("go_sql_in_use_connections"))
        },
    );
    for a in &firing {
        assert!(
            a.has("instance", &app.to_string()) && a.has("job", "app"),
            "the alert names its service instance: {a:#?}"
        );
    }

    // 3. Released: waits stop, the wait counter's rate falls back to 0 within a window.
    control(app, "/release?db=orders");
    support::wait_all_clear(&mut prom, Duration::from_secs(60));
    support::assert_quiet(&mut prom, "released service", Duration::from_secs(8));

    let phase4 = Instant::now();
    // 4. Slow acquisitions: six 1 s holds every 3 s on a pool of two: two run at once, two
    // wait 1 s, two wait 2 s, a mean of 1.5 s per wait above the preset's 1 s, and the pool
    // drains before the next round, so waits start and end within every rate window
    // (database/sql counts a wait when it starts and adds its seconds when it ends).
    let mut last_hold: Option<Instant> = None;
    let firing = support::wait_firing_for(
        &mut prom,
        ("db_name", "orders"),
        &["ConnectionPoolSlowAcquisitionMean"],
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
    let mean = firing
        .iter()
        .find(|a| a.name == "ConnectionPoolSlowAcquisitionMean")
        .unwrap();
    assert!(
        mean.has("instance", &app.to_string()) && mean.has("job", "app"),
        "the alert names its service instance: {mean:#?}"
    );
    let fired = phase4.elapsed();
    support::assert_dashboard_has_data(&mut prom, &dashboard);
    control(app, "/release?db=orders");
    // The last round of holds still ends its waits (and database/sql adds their seconds
    // then): let it finish and a whole rate window pass before calling the service quiet,
    // or the mean could come back while the next phase expects nothing but absence.
    let round = Duration::from_secs(3);
    let window = Duration::from_secs(10) + Duration::from_secs(2);
    if let Some(t) = last_hold {
        std::thread::sleep((round + window).saturating_sub(t.elapsed()));
    }
    support::wait_all_clear(&mut prom, Duration::from_secs(60));
    support::assert_quiet(&mut prom, "slow acquisitions over", Duration::from_secs(3));
    eprintln!(
        "e2e database/sql: slow acquisitions fired after {:.1} s, cleared after {:.1} s",
        fired.as_secs_f64(),
        phase4.elapsed().as_secs_f64()
    );

    // 5. The service stops while its target stays configured (`up` is 0): one absence
    // alert for the target, not one for each of its pools.
    drop(gosql);
    support::wait_target_down(&mut prom, "db_name");

    drop(prom);
    drop(pg);
    eprintln!(
        "e2e database/sql: {:.1} s (go build {:.1} s)",
        started.elapsed().as_secs_f64(),
        built.as_secs_f64()
    );
}
