//! End to end, pgbouncer: a real PostgreSQL, a real pgbouncer with a tiny pool
//! (`default_pool_size = 2`) and two users, real `psql` clients, the prometheus-community
//! exporter's metrics served by a test-only bridge over pgbouncer's admin console (see
//! e2e_pgbouncer_bridge.rs: the Go exporter cannot be built here), and a real Prometheus
//! evaluating the rules `poolwatch emit` generates from specs/presets/pgbouncer.yaml (its
//! `for:` and rate windows shortened, nothing else changed).
//!
//! Prometheus sends to a real Alertmanager loaded with the generated route and inhibit
//! rules (e2e_alertmanager.rs); the story is asserted on the notifications a person would
//! get, and on Prometheus's HTTP API for what must not even be pending:
//! 1. quiet: both users have used their pool once; nothing is pending or firing;
//! 2. exhausted: six clients of `alice` run `select pg_sleep(..)` on a pool of two; one
//!    notification each for Exhausted and, once a queued client has waited past its
//!    threshold, LongWait, both for (database shop, user alice), none for bob;
//!    HighUtilization fires in Prometheus but the inhibit rule holds it back;
//!    every query of the generated dashboard returns data;
//! 3. idle again: the clients are gone, every alert clears, and nothing pages for longer
//!    than `server_check_delay` (servers move from sv_idle to sv_used: the old preset's
//!    `server_idle <= 0` fired here);
//! 4. pgbouncer stops while the exporter answers scrapes: one absence page for each pool
//!    (database, user) of this bouncer, nothing else;
//! 5. the exporter stops too (its target is down): one absence page, for the target.
//!
//! Before each phase asserts silence or firing it asserts that every rule is healthy and
//! every series the alerts read is there for each pool, (database, user) or for the pool
//! size the database's `name`, with a value in the phase's range.
//!
//! The pgbouncer database `shop` points at PostgreSQL's `app`, so the pool's `database`
//! label (shop) differs from SHOW DATABASES' `database` column (app): a size matched on the
//! wrong label finds nothing.
use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::{Duration, Instant};

use super::e2e_alertmanager::{self as alertmanager, Stack};
use super::e2e_checks::{self as checks, Expect};
use super::e2e_conformance;
use super::e2e_pgbouncer_bridge::{self as bridge, AdminConsole};
use super::e2e_support::{self as support, Postgres, Proc, Tools, free_port, server_dir, wait_for};

/// pgbouncer's `server_check_delay` in the scenario, in seconds (default 30).
const SERVER_CHECK_DELAY: u64 = 2;
/// Clients of the exhausted pool: two get a server, four wait.
const CLIENTS: usize = 6;
/// The preset under test.
const PRESET: &str = "specs/presets/pgbouncer.yaml";
/// The scrape job of the exporter.
const JOB: &str = "pgbouncer";
/// A quiet phase: longer than a shortened `for:` plus Alertmanager's delivery.
const QUIET: Duration = Duration::from_secs(10);

/// A pgbouncer of our own on 127.0.0.1, in front of `pg`. Stopped with SIGTERM (immediate
/// shutdown) when dropped.
#[derive(Debug)]
pub(crate) struct Pgbouncer {
    pub port: u16,
    pub proc: Proc,
}

impl Pgbouncer {
    pub(crate) fn start(tools: &Tools, work: &Path, pg: &Postgres) -> Self {
        let dir = server_dir(work, "pgbouncer");
        let port = free_port();
        let userlist = dir.join("userlist.txt");
        support::write_for_server(
            &userlist,
            "\"alice\" \"\"\n\"bob\" \"\"\n\"pgbouncer\" \"\"\n",
        );
        let ini = dir.join("pgbouncer.ini");
        support::write_for_server(
            &ini,
            &format!(
                "[databases]\n\
                 shop = host=127.0.0.1 port={pg_port} dbname=app\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {userlist}\n\
                 admin_users = pgbouncer\n\
                 pool_mode = session\n\
                 default_pool_size = 2\n\
                 max_client_conn = 50\n\
                 server_check_delay = {SERVER_CHECK_DELAY}\n\
                 server_login_retry = 1\n\
                 query_wait_timeout = 60\n",
                pg_port = pg.port,
                userlist = userlist.display(),
            ),
        );
        let proc = Proc::spawn(
            "pgbouncer",
            support::unprivileged(&tools.pgbouncer)
                .arg(&ini)
                .current_dir(&dir),
            work.join("pgbouncer.log"),
            "TERM",
        );
        let mut b = Self { port, proc };
        let console = b.console(tools);
        wait_for(
            "pgbouncer's admin console answers",
            Duration::from_secs(20),
            || {
                b.proc.assert_running();
                let out = support::run_bounded(
                    &mut support::psql_cmd(
                        &console.psql,
                        port,
                        "pgbouncer",
                        "pgbouncer",
                        "SHOW VERSION",
                    ),
                    Duration::from_secs(10),
                );
                if out.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&out.stderr).into_owned())
                }
            },
        );
        b
    }

    pub(crate) fn console(&self, tools: &Tools) -> AdminConsole {
        AdminConsole {
            psql: tools.psql.clone(),
            port: self.port,
            user: "pgbouncer".into(),
        }
    }

    /// A client of `user` on database `shop` running `sql`; killed when dropped.
    fn client(&self, tools: &Tools, work: &Path, user: &str, sql: &str, n: usize) -> Proc {
        Proc::spawn(
            &format!("psql client {user} #{n}"),
            &mut support::psql_cmd(&tools.psql, self.port, user, "shop", sql),
            work.join(format!("client-{user}-{n}.log")),
            "KILL",
        )
    }

    /// One short query of `user`, to the end.
    fn query_once(&self, tools: &Tools, user: &str) {
        support::run_ok(
            &mut support::psql_cmd(&tools.psql, self.port, user, "shop", "select 1"),
            Duration::from_secs(20),
        );
    }
}

/// The scenario's needs: PostgreSQL, pgbouncer, Prometheus and Alertmanager.
const NEEDS: [crate::harness::Need; 6] = [
    support::POSTGRES_NEEDS[0],
    support::POSTGRES_NEEDS[1],
    support::POSTGRES_NEEDS[2],
    support::POSTGRES_NEEDS[3],
    support::POSTGRES_NEEDS[4],
    alertmanager::ALERTMANAGER,
];

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    vec![crate::harness::Test {
        name: "pgbouncer_pool_exhaustion_end_to_end",
        needs: &NEEDS,
        run: pgbouncer_pool_exhaustion_end_to_end,
    }]
}

/// The whole scenario; panics on the first broken promise with what was seen.
fn pgbouncer_pool_exhaustion_end_to_end() {
    let tools = &Tools::get();
    let started = Instant::now();
    let work_dir = tempfile::tempdir().unwrap();
    let work = work_dir.path();

    let pg = Postgres::start(tools, work);
    pg.exec(
        "postgres",
        &[
            "create role alice login",
            "create role bob login",
            "create database app",
        ],
    );
    let bouncer = Pgbouncer::start(tools, work, &pg);
    let console = bouncer.console(tools);
    let exporter = bridge::Bridge::start(console);

    // Both pools exist (each user has had a server once) before anything is measured.
    bouncer.query_once(tools, "alice");
    bouncer.query_once(tools, "bob");

    // The bridge's exposition: every preset catalog entry is in it, as typed and labelled.
    std::thread::sleep(bridge::REFRESH * 3);
    let (_, exposition) = support::http_get(exporter.server.addr, "/metrics").unwrap();
    e2e_conformance::assert_live_exposition("pgbouncer", PRESET, &exposition);

    let text = std::fs::read_to_string(support::repo().join(PRESET)).unwrap();
    let out = work.join("generated");
    support::emit(&support::fast_preset(&text), work, &out);
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("dashboards/connection_pool.json")).unwrap(),
    )
    .unwrap();
    let mut stack = Stack::start(tools, work, &out, JOB, &[exporter.server.addr]);
    stack.prom.wait_healthy(1);
    assert_eq!(stack.webhook.all(), vec![], "paged at start-up");

    let read = checks::read_by_alerts(
        &out.join("rules/connection_pool.yml"),
        &e2e_conformance::catalog(&text)
            .into_iter()
            .map(|e| e.name)
            .collect::<Vec<_>>(),
    );
    let instance = exporter.server.addr.to_string();
    let data = |stack: &mut Stack, phase: &str, alice: Pool, bob: Pool| {
        assert_data(
            &mut stack.prom,
            phase,
            &read,
            &instance,
            &[("alice", alice), ("bob", bob)],
        );
    };
    let job = ("job", JOB);
    let at = ("instance", instance.as_str());
    let alice = [job, at, ("database", "shop"), ("user", "alice")];

    // 1. Quiet: a few `for:` spans with nothing pending or firing, so nothing can page.
    let mark = stack.webhook.mark();
    data(&mut stack, "quiet bouncer", Pool::IDLE, Pool::IDLE);
    support::assert_quiet(&mut stack.prom, "quiet bouncer", QUIET);
    assert_eq!(stack.webhook.since(mark), vec![], "quiet bouncer: paged");

    // 2. Exhausted: alice's pool has 2 servers and 6 clients; bob's stays idle.
    let mark = stack.webhook.mark();
    let clients: Vec<Proc> = (0..CLIENTS)
        .map(|n| bouncer.client(tools, work, "alice", "select pg_sleep(90)", n))
        .collect();
    checks::wait_until(
        &mut stack.prom,
        "pgbouncer_pools_client_waiting_connections{user=\"alice\"} >= 4",
    );
    let exhausted = Pool {
        active: 2.0..=2.0,
        waiting: 4.0..=4.0,
        maxwait: 0.0..=f64::MAX,
    };
    data(&mut stack, "alice exhausted", exhausted, Pool::IDLE);
    // Exhausted pages, and the longest-wait alert once the oldest of alice's queued clients
    // has waited past the preset's 10 s (maxwait, SHOW POOLS); every notification names
    // alice's pool on this bouncer, none bob's.
    stack.wait_pages(
        mark,
        &alice,
        &["ConnectionPoolExhausted", "ConnectionPoolLongWait"],
        Duration::from_secs(60),
        |prom| {
            format!(
                "waiting now: {:?}, longest: {:?}",
                prom.query("pgbouncer_pools_client_waiting_connections"),
                prom.query("pgbouncer_pools_client_maxwait_seconds")
            )
        },
    );
    // HighUtilization fires in Prometheus, and the generated inhibit rule holds it back
    // under Exhausted for the same pool.
    stack.assert_inhibited("ConnectionPoolHighUtilization", &alice);
    support::assert_dashboard_has_data(&mut stack.prom, &dashboard);
    stack.settle();
    let pages = stack.webhook.since(mark);
    for name in ["ConnectionPoolExhausted", "ConnectionPoolLongWait"] {
        let carrying = pages.iter().filter(|n| n.firing().contains(&name)).count();
        assert_eq!(
            carrying, 1,
            "alice exhausted: {name} in {carrying} notifications: {pages:#?}"
        );
    }
    assert!(
        pages.iter().all(|n| n.names(&alice)),
        "alice exhausted: a notification not for alice's pool: {pages:#?}"
    );

    // 3. Idle again: clients gone (killed by PID), alice uses her pool once more. Longer than
    // server_check_delay plus a `for:` (idle servers become sv_used): nothing pages.
    drop(clients);
    bouncer.query_once(tools, "alice");
    support::wait_all_clear(&mut stack.prom, Duration::from_secs(45));
    let mark = stack.webhook.mark();
    data(&mut stack, "idle bouncer", Pool::IDLE, Pool::IDLE);
    support::assert_quiet(
        &mut stack.prom,
        "idle bouncer past server_check_delay",
        Duration::from_secs(SERVER_CHECK_DELAY) + QUIET,
    );
    assert_eq!(stack.webhook.since(mark), vec![], "idle bouncer: paged");
    let used = stack
        .prom
        .query("pgbouncer_pools_server_used_connections > 0")
        .unwrap();
    assert!(
        !used.is_empty(),
        "the idle phase did not reach sv_used (server_check_delay): {:?}",
        stack.prom.query("pgbouncer_pools_server_idle_connections")
    );

    // 4. pgbouncer stops while its exporter answers scrapes (`pgbouncer_up` 0, no pool
    // series): one absence page for each (database, user) pool of this bouncer.
    let mark = stack.webhook.mark();
    drop(bouncer);
    checks::assert_rules_healthy(&mut stack.prom, "pgbouncer stopped");
    checks::wait_until(&mut stack.prom, "pgbouncer_up == 0");
    let pools: [&[(&str, &str)]; 3] = [
        &alice,
        &[job, at, ("database", "shop"), ("user", "bob")],
        &[job, at, ("database", "pgbouncer"), ("user", "pgbouncer")],
    ];
    support::wait_absent_for(&mut stack.prom, &pools);
    stack.settle();
    let pages = stack.assert_page_count("pgbouncer stopped", mark, pools.len());
    for pool in pools {
        assert_eq!(
            pages
                .iter()
                .filter(|n| n.names(pool) && n.firing() == ["ConnectionPoolMetricsAbsent"])
                .count(),
            1,
            "pgbouncer stopped: one absence page for {pool:?}: {pages:#?}"
        );
    }

    // 5. The exporter stops too: its target is down, one page for the target, without a
    // pool's labels (the pools' own absence gives way to it).
    let mark = stack.webhook.mark();
    drop(exporter);
    checks::wait_until(&mut stack.prom, &format!("up{{job=\"{JOB}\"}} == 0"));
    checks::assert_rules_healthy(&mut stack.prom, "exporter stopped");
    support::wait_target_down(&mut stack.prom, "database");
    stack.wait_pages(
        mark,
        &[job, at],
        &["ConnectionPoolMetricsAbsent"],
        Duration::from_secs(30),
        |_| String::new(),
    );
    stack.settle();
    let pages = stack.assert_page_count("exporter stopped", mark, 1);
    assert!(
        pages[0]
            .alerts
            .iter()
            .all(|(_, l)| !l.contains_key("database")),
        "exporter stopped: the page is for the target, not a pool: {pages:#?}"
    );

    drop(stack);
    drop(pg);
    eprintln!("e2e pgbouncer: {:.1} s", started.elapsed().as_secs_f64());
}

/// One pool's state in a phase: its servers linked to clients, its queued clients, and how
/// long the oldest has waited (seconds).
struct Pool {
    active: RangeInclusive<f64>,
    waiting: RangeInclusive<f64>,
    maxwait: RangeInclusive<f64>,
}

impl Pool {
    /// No client queued; a server may still be linked for a moment after a query.
    const IDLE: Pool = Pool {
        active: 0.0..=2.0,
        waiting: 0.0..=0.0,
        maxwait: 0.0..=0.0,
    };
}

/// Rule health, and every series the alerts read for each user's pool of database `shop`
/// on this bouncer: the pool metrics per (database, user), the size per database (`name`,
/// the pgbouncer database, set to 2 by `default_pool_size`).
fn assert_data(
    prom: &mut support::Prometheus,
    phase: &str,
    read: &BTreeSet<String>,
    instance: &str,
    pools: &[(&str, Pool)],
) {
    let mut expects = Vec::new();
    for (user, pool) in pools {
        let identity = [
            ("job", "pgbouncer"),
            ("instance", instance),
            ("database", "shop"),
            ("user", user),
        ];
        for m in read {
            let (identity, range) = match m.as_str() {
                "pgbouncer_databases_pool_size" => {
                    (&[identity[0], identity[1], ("name", "shop")][..], 2.0..=2.0)
                }
                "pgbouncer_pools_server_active_connections" => (&identity[..], pool.active.clone()),
                "pgbouncer_pools_client_waiting_connections" => {
                    (&identity[..], pool.waiting.clone())
                }
                "pgbouncer_pools_client_maxwait_seconds" => (&identity[..], pool.maxwait.clone()),
                other => panic!(
                    "{phase}: the alerts read {other}, which this scenario has no expectation for"
                ),
            };
            expects.push(Expect::new(m, identity, range));
        }
    }
    checks::assert_data(prom, phase, read, &expects);
}
