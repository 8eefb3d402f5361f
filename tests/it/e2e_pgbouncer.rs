//! End to end, pgbouncer: a real PostgreSQL, a real pgbouncer with a tiny pool
//! (`default_pool_size = 2`) and two users, real `psql` clients, the prometheus-community
//! exporter's metrics served by a test-only bridge over pgbouncer's admin console (see
//! e2e_pgbouncer_bridge.rs: the Go exporter cannot be built here), and a real Prometheus
//! evaluating the rules `poolwatch emit` generates from specs/presets/pgbouncer.yaml (its
//! `for:` and rate windows shortened, nothing else changed).
//!
//! The story, asserted through Prometheus's HTTP API:
//! 1. quiet: both users have used their pool once; nothing is pending or firing;
//! 2. exhausted: six clients of `alice` run `select pg_sleep(..)` on a pool of two; the
//!    utilization and exhaustion alerts, and the longest-wait one once a queued client has
//!    waited past its threshold, fire for (database shop, user alice), none for bob;
//!    every query of the generated dashboard returns data;
//! 3. idle again: the clients are gone, every alert clears, and stays clear for longer than
//!    `server_check_delay` (servers move from sv_idle to sv_used: the old preset's
//!    `server_idle <= 0` fired here);
//! 4. pgbouncer stops while the exporter answers scrapes: the absence alert fires for each
//!    pool (database, user) of this bouncer, nothing else;
//! 5. the exporter stops too (its target is down): one absence alert, for the target.
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

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    vec![crate::harness::Test {
        name: "pgbouncer_pool_exhaustion_end_to_end",
        needs: &support::POSTGRES_NEEDS,
        run: pgbouncer_pool_exhaustion_end_to_end,
    }]
}

/// The whole scenario; panics on the first broken promise with what Prometheus saw.
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

    let (mut prom, dashboard) =
        support::monitor(tools, work, PRESET, &[("pgbouncer", exporter.server.addr)]);

    let read = checks::read_by_alerts(
        &work.join("generated/rules/connection_pool.yml"),
        &e2e_conformance::catalog(&std::fs::read_to_string(support::repo().join(PRESET)).unwrap())
            .into_iter()
            .map(|e| e.name)
            .collect::<Vec<_>>(),
    );
    let instance = exporter.server.addr.to_string();
    let data = |prom: &mut support::Prometheus, phase: &str, alice: Pool, bob: Pool| {
        assert_data(
            prom,
            phase,
            &read,
            &instance,
            &[("alice", alice), ("bob", bob)],
        );
    };

    // 1. Quiet: a few `for:` spans with nothing pending or firing.
    data(&mut prom, "quiet bouncer", Pool::IDLE, Pool::IDLE);
    support::assert_quiet(&mut prom, "quiet bouncer", Duration::from_secs(8));

    // 2. Exhausted: alice's pool has 2 servers and 6 clients; bob's stays idle.
    let clients: Vec<Proc> = (0..CLIENTS)
        .map(|n| bouncer.client(tools, work, "alice", "select pg_sleep(90)", n))
        .collect();
    checks::wait_until(
        &mut prom,
        "pgbouncer_pools_client_waiting_connections{user=\"alice\"} >= 4",
    );
    let exhausted = Pool {
        active: 2.0..=2.0,
        waiting: 4.0..=4.0,
        maxwait: 0.0..=f64::MAX,
    };
    data(&mut prom, "alice exhausted", exhausted, Pool::IDLE);
    let firing = support::wait_firing_for(
        &mut prom,
        ("user", "alice"),
        // The longest-wait alert too, once the oldest of alice's queued clients has waited
        // past the preset's 10 s (maxwait, SHOW POOLS).
        &[
            "ConnectionPoolHighUtilization",
            "ConnectionPoolExhausted",
            "ConnectionPoolLongWait",
        ],
        |prom| {
            format!(
                "waiting now: {:?}, longest: {:?}",
                prom.query("pgbouncer_pools_client_waiting_connections"),
                prom.query("pgbouncer_pools_client_maxwait_seconds")
            )
        },
    );
    for a in &firing {
        assert!(
            a.has("database", "shop")
                && a.has("instance", &exporter.server.addr.to_string())
                && a.has("job", "pgbouncer"),
            "the alert names its bouncer and pool: {a:#?}"
        );
    }
    support::assert_dashboard_has_data(&mut prom, &dashboard);

    // 3. Idle again: clients gone (killed by PID), alice uses her pool once more.
    drop(clients);
    bouncer.query_once(tools, "alice");
    support::wait_all_clear(&mut prom, Duration::from_secs(45));
    data(&mut prom, "idle bouncer", Pool::IDLE, Pool::IDLE);
    // Longer than server_check_delay plus a `for:`: idle servers become sv_used.
    support::assert_quiet(
        &mut prom,
        "idle bouncer past server_check_delay",
        Duration::from_secs(SERVER_CHECK_DELAY + 8),
    );
    let used = prom
        .query("pgbouncer_pools_server_used_connections > 0")
        .unwrap();
    assert!(
        !used.is_empty(),
        "the idle phase did not reach sv_used (server_check_delay): {:?}",
        prom.query("pgbouncer_pools_server_idle_connections")
    );

    // 4. pgbouncer stops while its exporter answers scrapes (`pgbouncer_up` 0, no pool
    // series): absence for each (database, user) pool of this bouncer.
    drop(bouncer);
    checks::assert_rules_healthy(&mut prom, "pgbouncer stopped");
    checks::wait_until(&mut prom, "pgbouncer_up == 0");
    let job = ("job", "pgbouncer");
    let at = ("instance", instance.as_str());
    support::wait_absent_for(
        &mut prom,
        &[
            &[job, at, ("database", "shop"), ("user", "alice")],
            &[job, at, ("database", "shop"), ("user", "bob")],
            &[job, at, ("database", "pgbouncer"), ("user", "pgbouncer")],
        ],
    );

    // 5. The exporter stops too: its target is down, one absence alert for the target (the
    // pools' own absence gives way to it).
    drop(exporter);
    checks::wait_until(&mut prom, "up{job=\"pgbouncer\"} == 0");
    checks::assert_rules_healthy(&mut prom, "exporter stopped");
    support::wait_target_down(&mut prom, "database");

    drop(prom);
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
