//! A test-only stand-in for prometheus-community/pgbouncer_exporter: it reads a real
//! pgbouncer's admin console (`SHOW LISTS`, `SHOW DATABASES`, `SHOW POOLS`,
//! `SHOW STATS_TOTALS`, `SHOW CONFIG`, `SHOW CLIENTS`, `SHOW VERSION`, through `psql --csv`)
//! and serves the rows under exactly that exporter's metric names, label names and types.
//!
//! Why a bridge: the real exporter is a Go module that cannot be built here (no Go module
//! proxy), and Debian's `prometheus-pgbouncer-exporter` is a different program (see
//! specs/presets/pgbouncer.yaml). The reference for every name, label, type and scale factor
//! below is the exporter's collector, release v0.12.1:
//! https://github.com/prometheus-community/pgbouncer_exporter/blob/v0.12.1/collector.go
//! (`metricMaps`, `listsMap`, `configMap`, `clientConnectionsDesc`, `bouncerVersionDesc`,
//! `scrapeSuccessDesc`; metric names are `pgbouncer_<SHOW command>_<metric>`, labels are
//! the columns mapped as LABEL, NULL values become NaN). HELP texts are left out: they are
//! the exporter's prose, and the catalog conformance needs only names, types and labels.
//! What the bridge does not reproduce: the exporter's own `process_*`/`go_*` metrics and
//! `pgbouncer_exporter_build_info`, which carry no pool data; and timing: the exporter
//! queries the console when scraped, the bridge every [`REFRESH`] in the background and
//! serves the latest result, because seven `psql` runs per scrape can outlast a 1 s scrape
//! timeout on a busy machine (values are then at most one refresh old).
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::e2e_support::{HttpServer, csv_rows, psql_cmd, run_bounded};

/// A column of a `SHOW` result published as a metric: (column, metric name after
/// `pgbouncer_<command>_`, type, factor to the metric's unit).
type Column = (&'static str, &'static str, Kind, f64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// One `SHOW` command mapped column by column (collector.go's `metricMaps`).
struct Mapping {
    /// The admin command, and the metric name's middle part.
    command: &'static str,
    /// Columns that become labels, in the exporter's set (order does not matter to
    /// Prometheus).
    labels: &'static [&'static str],
    columns: &'static [Column],
}

const MAPPINGS: [Mapping; 3] = [
    Mapping {
        command: "databases",
        labels: &[
            "name",
            "host",
            "port",
            "database",
            "force_user",
            "pool_mode",
        ],
        columns: &[
            ("pool_size", "pool_size", Kind::Gauge, 1.0),
            ("reserve_pool", "reserve_pool", Kind::Gauge, 1.0),
            // pgbouncer >= 1.24 renamed the column; the exporter maps both to one name.
            ("reserve_pool_size", "reserve_pool", Kind::Gauge, 1.0),
            ("max_connections", "max_connections", Kind::Gauge, 1.0),
            (
                "current_connections",
                "current_connections",
                Kind::Gauge,
                1.0,
            ),
            ("paused", "paused", Kind::Gauge, 1.0),
            ("disabled", "disabled", Kind::Gauge, 1.0),
        ],
    },
    Mapping {
        // Before exporter v0.11.0 these were `pgbouncer_stats_*` (from `SHOW STATS`); the
        // exporter's README still shows the old names.
        command: "stats_totals",
        labels: &["database"],
        columns: &[
            ("query_count", "queries_pooled_total", Kind::Counter, 1.0),
            (
                "query_time",
                "queries_duration_seconds_total",
                Kind::Counter,
                1e-6,
            ),
            ("bytes_received", "received_bytes_total", Kind::Counter, 1.0),
            ("requests", "queries_total", Kind::Counter, 1.0),
            ("bytes_sent", "sent_bytes_total", Kind::Counter, 1.0),
            (
                "wait_time",
                "client_wait_seconds_total",
                Kind::Counter,
                1e-6,
            ),
            (
                "xact_count",
                "sql_transactions_pooled_total",
                Kind::Counter,
                1.0,
            ),
            (
                "xact_time",
                "server_in_transaction_seconds_total",
                Kind::Counter,
                1e-6,
            ),
            (
                "client_parse_count",
                "client_parses_total",
                Kind::Counter,
                1.0,
            ),
            (
                "server_parse_count",
                "server_parses_total",
                Kind::Counter,
                1.0,
            ),
            ("bind_count", "binds_total", Kind::Counter, 1.0),
            (
                "server_assignment_count",
                "server_assignments_total",
                Kind::Counter,
                1.0,
            ),
        ],
    },
    Mapping {
        command: "pools",
        labels: &["database", "user"],
        columns: &[
            ("cl_active", "client_active_connections", Kind::Gauge, 1.0),
            (
                "cl_active_cancel_req",
                "client_active_cancel_connections",
                Kind::Gauge,
                1.0,
            ),
            ("cl_waiting", "client_waiting_connections", Kind::Gauge, 1.0),
            (
                "cl_waiting_cancel_req",
                "client_waiting_cancel_connections",
                Kind::Gauge,
                1.0,
            ),
            ("sv_active", "server_active_connections", Kind::Gauge, 1.0),
            (
                "sv_active_cancel",
                "server_active_cancel_connections",
                Kind::Gauge,
                1.0,
            ),
            (
                "sv_being_canceled",
                "server_being_canceled_connections",
                Kind::Gauge,
                1.0,
            ),
            ("sv_idle", "server_idle_connections", Kind::Gauge, 1.0),
            ("sv_used", "server_used_connections", Kind::Gauge, 1.0),
            ("sv_tested", "server_testing_connections", Kind::Gauge, 1.0),
            ("sv_login", "server_login_connections", Kind::Gauge, 1.0),
            // Whole seconds: the exporter ignores the `maxwait_us` column.
            ("maxwait", "client_maxwait_seconds", Kind::Gauge, 1.0),
        ],
    },
];

/// `SHOW LISTS` rows published, as (list, metric name) (collector.go's `listsMap`); other
/// lists (pgbouncer 1.18's `dns_pending`) are skipped as the exporter skips them.
const LISTS: [(&str, &str); 11] = [
    ("databases", "pgbouncer_databases"),
    ("users", "pgbouncer_users"),
    ("pools", "pgbouncer_pools"),
    ("free_clients", "pgbouncer_free_clients"),
    ("used_clients", "pgbouncer_used_clients"),
    ("login_clients", "pgbouncer_login_clients"),
    ("free_servers", "pgbouncer_free_servers"),
    ("used_servers", "pgbouncer_used_servers"),
    ("dns_names", "pgbouncer_cached_dns_names"),
    ("dns_zones", "pgbouncer_cached_dns_zones"),
    ("dns_queries", "pgbouncer_in_flight_dns_queries"),
];

/// `SHOW CONFIG` keys published (collector.go's `configMap`).
const CONFIG: [(&str, &str); 2] = [
    ("max_client_conn", "pgbouncer_config_max_client_connections"),
    (
        "max_user_connections",
        "pgbouncer_config_max_user_connections",
    ),
];

/// How often the bridge reads the admin console.
pub(crate) const REFRESH: Duration = Duration::from_millis(300);

/// The bridge serving on 127.0.0.1; stops reading and serving when dropped.
#[derive(Debug)]
pub(crate) struct Bridge {
    pub server: HttpServer,
    stop: Arc<AtomicBool>,
}

impl Bridge {
    /// Reads the console once (so the first scrape has data), then serves `/metrics`.
    pub(crate) fn start(console: AdminConsole) -> Self {
        let latest = Arc::new(Mutex::new(scrape(&console)));
        let stop = Arc::new(AtomicBool::new(false));
        let (writer, stopped) = (latest.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                let page = scrape(&console);
                *writer.lock().unwrap_or_else(|e| e.into_inner()) = page;
                std::thread::sleep(REFRESH);
            }
        });
        let server = HttpServer::start(move |path| {
            if path.starts_with("/metrics") {
                latest.lock().unwrap_or_else(|e| e.into_inner()).clone()
            } else {
                String::new()
            }
        });
        Self { server, stop }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Where the bridge finds the admin console.
#[derive(Debug, Clone)]
pub(crate) struct AdminConsole {
    pub psql: PathBuf,
    pub port: u16,
    pub user: String,
}

impl AdminConsole {
    fn show(&self, what: &str) -> Result<Vec<BTreeMap<String, String>>, String> {
        let out = run_bounded(
            &mut psql_cmd(
                &self.psql,
                self.port,
                &self.user,
                "pgbouncer",
                &format!("SHOW {what}"),
            ),
            Duration::from_secs(10),
        );
        if !out.status.success() {
            return Err(format!(
                "SHOW {what}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(csv_rows(&String::from_utf8_lossy(&out.stdout)))
    }
}

/// Renders one scrape: every family the exporter would publish for this pgbouncer, then
/// `pgbouncer_up` (1 when every query answered, as the exporter's `Collect` decides).
pub(crate) fn scrape(console: &AdminConsole) -> String {
    let mut out = String::new();
    let mut up = true;

    match console.show("VERSION") {
        Ok(rows) => {
            out.push_str("# TYPE pgbouncer_version_info gauge\n");
            for row in rows {
                let version = row.get("version").cloned().unwrap_or_default();
                writeln!(
                    out,
                    "pgbouncer_version_info{{version=\"{}\"}} 1",
                    escape(&version)
                )
                .unwrap();
            }
        }
        Err(_) => up = false,
    }

    up &= key_value_gauges(&mut out, console.show("LISTS"), ("list", "items"), &LISTS);
    up &= key_value_gauges(&mut out, console.show("CONFIG"), ("key", "value"), &CONFIG);

    match console.show("CLIENTS") {
        Ok(rows) => {
            // Counted per (database, user, application_name, state), as the exporter does.
            let mut counts: BTreeMap<[String; 4], u64> = BTreeMap::new();
            for row in rows {
                let get = |k: &str| row.get(k).cloned().unwrap_or_default();
                *counts
                    .entry([
                        get("database"),
                        get("user"),
                        get("application_name"),
                        get("state"),
                    ])
                    .or_default() += 1;
            }
            out.push_str("# TYPE pgbouncer_client_connections gauge\n");
            for ([database, user, app, state], n) in counts {
                writeln!(
                    out,
                    "pgbouncer_client_connections{{database=\"{}\",user=\"{}\",application_name=\"{}\",state=\"{}\"}} {n}",
                    escape(&database),
                    escape(&user),
                    escape(&app),
                    escape(&state)
                )
                .unwrap();
            }
        }
        Err(_) => up = false,
    }

    for mapping in &MAPPINGS {
        let rows = match console.show(mapping.command) {
            Ok(rows) => rows,
            Err(_) => {
                up = false;
                continue;
            }
        };
        let Some(first) = rows.first() else { continue };
        for &(column, metric, kind, factor) in mapping.columns {
            // A column this pgbouncer version does not have publishes nothing.
            if !first.contains_key(column) {
                continue;
            }
            let name = format!("pgbouncer_{}_{metric}", mapping.command);
            // Two columns may share a metric (reserve_pool); its TYPE is written once.
            if !out.contains(&format!("# TYPE {name} ")) {
                writeln!(out, "# TYPE {name} {}", kind.as_str()).unwrap();
            }
            for row in &rows {
                let labels: Vec<String> = mapping
                    .labels
                    .iter()
                    .map(|l| format!("{l}=\"{}\"", escape(row.get(*l).map_or("", String::as_str))))
                    .collect();
                let value = row.get(column).map_or("", String::as_str);
                writeln!(
                    out,
                    "{name}{{{}}} {}",
                    labels.join(","),
                    number(value, factor)
                )
                .unwrap();
            }
        }
    }

    writeln!(
        out,
        "# TYPE pgbouncer_up gauge\npgbouncer_up {}",
        if up { 1 } else { 0 }
    )
    .unwrap();
    out
}

/// Rows that are (key, value) pairs (`SHOW LISTS`, `SHOW CONFIG`): a gauge for each key the
/// exporter publishes, under its name. False when the query failed.
fn key_value_gauges(
    out: &mut String,
    rows: Result<Vec<BTreeMap<String, String>>, String>,
    (key_column, value_column): (&str, &str),
    published: &[(&str, &str)],
) -> bool {
    let Ok(rows) = rows else { return false };
    for (key, metric) in published {
        if let Some(row) = rows
            .iter()
            .find(|r| r.get(key_column).is_some_and(|k| k == key))
        {
            let value = row.get(value_column).map_or("NaN", String::as_str);
            writeln!(
                out,
                "# TYPE {metric} gauge\n{metric} {}",
                number(value, 1.0)
            )
            .unwrap();
        }
    }
    true
}

/// A cell as the exporter converts it: a number times the factor; NULL (empty in CSV) NaN.
fn number(cell: &str, factor: f64) -> String {
    match cell.trim().parse::<f64>() {
        Ok(v) => format!("{}", v * factor),
        Err(_) => "NaN".to_string(),
    }
}

/// A label value escaped for the text exposition format.
fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
