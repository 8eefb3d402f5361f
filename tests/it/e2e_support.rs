//! What the end-to-end scenarios share: finding the Debian tools, starting real PostgreSQL,
//! pgbouncer and Prometheus processes on 127.0.0.1 in a temporary folder, bounding every
//! step in time, stopping every process by its PID (also when a test panics: [`Proc`]'s
//! Drop), Prometheus's API, and the preset with its durations shortened so a scenario takes
//! seconds, not the production `for:` windows. The HTTP client and server, the exposition
//! parser and the dashboard queries live in their own modules and are re-exported here.
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Need, PROMETHEUS};

pub(crate) use super::e2e_dashboard::{dashboard_exprs, grafana_substitute};
pub(crate) use super::e2e_exposition::{Family, parse_exposition};
pub(crate) use super::e2e_http::{HttpServer, http_get, url_encode};

/// What a PostgreSQL + pgbouncer scenario needs (Debian: postgresql-15, pgbouncer,
/// prometheus); the server binaries are not on PATH.
pub(crate) const POSTGRES_NEEDS: [Need; 5] = [
    PROMETHEUS,
    Need::Tool("psql"),
    Need::Program("/usr/lib/postgresql/15/bin/initdb"),
    Need::Program("/usr/lib/postgresql/15/bin/postgres"),
    Need::Program("/usr/sbin/pgbouncer"),
];

/// Prometheus's scrape and rule evaluation interval in the scenarios.
pub(crate) const TICK: &str = "1s";
/// Every `for:` of a preset, shortened for the scenarios (several evaluations of [`TICK`]).
pub(crate) const FOR: &str = "4s";
/// The preset's `rate_window`, shortened (ten scrapes).
pub(crate) const RATE_WINDOW: &str = "10s";

/// The programs a scenario runs, all from Debian packages (`.ci/run` installs them).
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    /// PostgreSQL's server binaries: initdb, postgres (`postgresql-15`).
    pub pg_bin: PathBuf,
    pub psql: PathBuf,
    pub pgbouncer: PathBuf,
    pub prometheus: PathBuf,
    /// Only the database/sql scenario needs Go; its harness needs say so.
    pub go: Option<PathBuf>,
}

impl Tools {
    /// Every tool; the harness has checked the test's needs, so a miss here is a failure.
    pub(crate) fn get() -> Self {
        Self::find().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every tool, or the list of those missing.
    pub(crate) fn find() -> Result<Self, String> {
        let mut missing = Vec::new();
        let mut need = |name: &str, found: Option<PathBuf>| {
            if found.is_none() {
                missing.push(name.to_string());
            }
            found.unwrap_or_default()
        };
        let pg_bin = need("postgresql (initdb, postgres)", postgres_bin());
        let psql = need("psql", on_path("psql"));
        let pgbouncer = need("pgbouncer", on_path("pgbouncer"));
        let prometheus = need("prometheus", on_path("prometheus"));
        if !missing.is_empty() {
            return Err(format!("not installed: {}", missing.join(", ")));
        }
        Ok(Self {
            pg_bin,
            psql,
            pgbouncer,
            prometheus,
            go: on_path("go"),
        })
    }
}

/// A program on PATH (or in /usr/sbin, where Debian puts pgbouncer).
fn on_path(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The newest `/usr/lib/postgresql/<major>/bin` holding initdb and postgres, or the folder
/// `POOLWATCH_PG_BIN` names.
fn postgres_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("POOLWATCH_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some((major, bin))
        })
        .collect();
    majors.sort();
    majors.pop().map(|(_, bin)| bin)
}

/// A port free on 127.0.0.1 a moment ago.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether this process runs as root (CI does): PostgreSQL and pgbouncer refuse to, so they
/// are started as `nobody` through setpriv, which execs (the PID we hold is the server's).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The user id servers run as: `nobody` when we are root, else ourselves.
const NOBODY: u32 = 65534;

/// A command that runs `program` as an unprivileged user when we are root.
pub(crate) fn unprivileged(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={NOBODY}"))
            .arg(format!("--regid={NOBODY}"))
            .arg("--clear-groups")
            .arg("--")
            .arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A folder the unprivileged servers may write in. Its parent (the scenario's temporary
/// folder) is opened for traversal: under a umask of 077 it would be root's alone.
pub(crate) fn server_dir(parent: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    if is_root() {
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    dir
}

/// Writes a file a server reads (its configuration), owned by the server's user.
pub(crate) fn write_for_server(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap();
    if is_root() {
        std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
    }
}

/// Runs a command to its end within `limit`; past it the command is killed and the test fails.
pub(crate) fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let what = format!("{cmd:?}");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    // Both pipes are read to the end while waiting, so a full pipe cannot stall the child.
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            signal(pid, "KILL");
            panic!("{what} did not finish within {limit:?}");
        }
    }
}

/// Like [`run_bounded`], and the command must succeed; its stdout.
pub(crate) fn run_ok(cmd: &mut Command, limit: Duration) -> String {
    let what = format!("{cmd:?}");
    let out = run_bounded(cmd, limit);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Sends a signal to one process, by PID (`kill -SIG PID`: no signal crate needed).
fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A process this test started. Dropping it (the scenario ending, or a panic unwinding)
/// sends its polite stop signal, waits a few seconds, then kills it; by its PID only.
#[derive(Debug)]
pub(crate) struct Proc {
    pub name: String,
    child: Child,
    stop: &'static str,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with its output in `log`; `stop` is the signal that ends it cleanly
    /// (PostgreSQL: INT, fast shutdown; pgbouncer and Prometheus: TERM). It runs under
    /// coreutils' `timeout`, which passes our stop signal on and ends the process after
    /// [`LIFETIME`] even if this test is killed before its Drop guards run.
    pub(crate) fn spawn(name: &str, cmd: &mut Command, log: PathBuf, stop: &'static str) -> Self {
        let file = std::fs::File::create(&log).unwrap();
        let mut bounded = Command::new("timeout");
        bounded
            .arg(format!("--signal={stop}"))
            .arg("--kill-after=10")
            .arg(LIFETIME.as_secs().to_string())
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => bounded.env(k, v),
                None => bounded.env_remove(k),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            bounded.current_dir(dir);
        }
        let child = bounded
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Self {
            name: name.to_string(),
            child,
            stop,
            log,
        }
    }

    /// Wraps a child spawned by the caller (e.g. one whose stdin it keeps).
    pub(crate) fn adopt(name: &str, child: Child, log: PathBuf, stop: &'static str) -> Self {
        Self {
            name: name.to_string(),
            child,
            stop,
            log,
        }
    }

    /// Panics with the log if the process has exited.
    pub(crate) fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}):\n{}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Starts a service of the test's own (the Go program, a K2 replica) that prints
/// `listening on ADDR` first and exits when its standard input closes: (ADDR, the process).
/// Its stderr goes to `work/NAME.log`.
pub(crate) fn spawn_service(name: &str, cmd: &mut Command, work: &Path) -> (SocketAddr, Proc) {
    use std::io::BufRead as _;
    let log = work.join(format!("{name}.log"));
    let mut child = cmd
        // Its stdin stays open while we hold the child; when we are gone, it exits.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let proc = Proc::adopt(name, child, log, "TERM");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{name} did not start:\n{}", proc.log_text()));
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{name} said {line:?}:\n{}", proc.log_text()));
    (addr, proc)
}

/// The longest any process of a scenario may live (`timeout` ends it then).
const LIFETIME: Duration = Duration::from_secs(600);

/// Sends a signal to the processes whose parent is `pid` (the program `timeout` runs).
fn signal_children(pid: u32, sig: &str) {
    let _ = Command::new("pkill")
        .arg(format!("-{sig}"))
        .arg("-P")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.child.id();
        // `timeout` passes a catchable signal on to its program; KILL it cannot.
        if self.stop == "KILL" {
            signal_children(pid, "KILL");
        }
        signal(pid, self.stop);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal_children(pid, "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until a server answers 200 on `/-/ready` (Prometheus, Alertmanager), failing with
/// its log if it exits first.
pub(crate) fn wait_ready(proc: &mut Proc, web: SocketAddr) {
    wait_for(
        &format!("{} is ready", proc.name),
        Duration::from_secs(30),
        || {
            proc.assert_running();
            match http_get(web, "/-/ready") {
                Ok((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    );
}

/// Polls `check` every 200 ms until it returns Some, or panics with `what` and the last
/// observation (`describe`) after `limit`.
pub(crate) fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) if start.elapsed() > limit => {
                panic!("{what}: not within {limit:?}; last seen:\n{last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// A PostgreSQL cluster of our own: initdb'd in a temporary folder, listening on 127.0.0.1
/// only (and a Unix socket in its folder), trust authentication, fsync off. Stopped with
/// SIGINT (fast shutdown) when dropped.
#[derive(Debug)]
pub(crate) struct Postgres {
    pub port: u16,
    psql: PathBuf,
    pub proc: Proc,
}

impl Postgres {
    pub(crate) fn start(tools: &Tools, work: &Path) -> Self {
        let dir = server_dir(work, "pg");
        let data = dir.join("data");
        run_ok(
            unprivileged(&tools.pg_bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "--auth=trust", "--no-sync"])
                .args(["-E", "UTF8", "--locale=C"])
                .env("HOME", &dir)
                .current_dir(&dir),
            Duration::from_secs(60),
        );
        let port = free_port();
        let proc = Proc::spawn(
            "postgres",
            unprivileged(&tools.pg_bin.join("postgres"))
                .arg("-D")
                .arg(&data)
                .arg("-p")
                .arg(port.to_string())
                .arg("-k")
                .arg(&dir)
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args(["-c", "fsync=off", "-c", "max_connections=40"])
                .current_dir(&dir),
            work.join("postgres.log"),
            "INT",
        );
        let mut pg = Self {
            port,
            psql: tools.psql.clone(),
            proc,
        };
        wait_for(
            "PostgreSQL accepts connections",
            Duration::from_secs(30),
            || {
                pg.proc.assert_running();
                let out = run_bounded(
                    &mut pg.psql_cmd("postgres", "postgres", "select 1"),
                    Duration::from_secs(10),
                );
                if out.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&out.stderr).into_owned())
                }
            },
        );
        pg
    }

    /// `psql` as `user` on `db` over TCP, running one command, CSV out, failing on error.
    pub(crate) fn psql_cmd(&self, user: &str, db: &str, sql: &str) -> Command {
        psql_cmd(&self.psql, self.port, user, db, sql)
    }

    /// Runs SQL statements as the superuser, each on its own (CREATE DATABASE cannot share
    /// a transaction).
    pub(crate) fn exec(&self, db: &str, statements: &[&str]) {
        for sql in statements {
            run_ok(
                &mut self.psql_cmd("postgres", db, sql),
                Duration::from_secs(20),
            );
        }
    }
}

/// `psql --csv` against 127.0.0.1:`port`, bounded connection time, no password prompt.
pub(crate) fn psql_cmd(psql: &Path, port: u16, user: &str, db: &str, sql: &str) -> Command {
    let mut c = Command::new(psql);
    c.args([
        "-X",
        "--csv",
        "-v",
        "ON_ERROR_STOP=1",
        "-w",
        "-h",
        "127.0.0.1",
    ])
    .arg("-p")
    .arg(port.to_string())
    .args(["-U", user, "-d", db, "-c", sql])
    .env("PGCONNECT_TIMEOUT", "5")
    .env_remove("PGPASSWORD")
    .env_remove("PGSERVICE");
    c
}

/// Rows of a `psql --csv` result as maps column → value. pgbouncer's admin console has no
/// quoted commas in the columns we read, but quoting is handled anyway.
pub(crate) fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let header = csv_fields(header);
    lines
        .filter(|l| !l.is_empty())
        .map(|l| header.iter().cloned().zip(csv_fields(l)).collect())
        .collect()
}

fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

/// One alert as Prometheus's `/api/v1/alerts` reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Alert {
    pub name: String,
    pub state: String,
    pub labels: BTreeMap<String, String>,
}

impl Alert {
    pub(crate) fn has(&self, label: &str, value: &str) -> bool {
        self.labels.get(label).is_some_and(|v| v == value)
    }
}

/// A real Prometheus server (Debian's `prometheus`), on 127.0.0.1, scraping the given jobs
/// every [`TICK`] and evaluating `rule_file` as often. Stopped with SIGTERM when dropped.
#[derive(Debug)]
pub(crate) struct Prometheus {
    pub web: SocketAddr,
    pub proc: Proc,
}

impl Prometheus {
    /// The scenarios' configuration: [`TICK`] intervals, `rule_file`, one static job per
    /// `jobs` entry. Callers may append more (alerting, file_sd jobs).
    pub(crate) fn config(jobs: &[(&str, SocketAddr)], rule_file: &Path) -> String {
        let mut config = format!(
            "global:\n  scrape_interval: {TICK}\n  scrape_timeout: {TICK}\n  evaluation_interval: {TICK}\n\
             rule_files:\n  - {}\nscrape_configs:\n",
            serde_json::to_string(&rule_file.display().to_string()).unwrap()
        );
        for (job, addr) in jobs {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['{addr}']\n"
            ));
        }
        config
    }

    /// A server with this whole configuration text, ready to answer.
    pub(crate) fn start_config(tools: &Tools, work: &Path, config: &str) -> Self {
        Self::start_config_with(tools, work, config, &[])
    }

    /// Like [`Prometheus::start_config`], with more command-line flags (e.g.
    /// `--enable-feature=native-histograms`).
    pub(crate) fn start_config_with(
        tools: &Tools,
        work: &Path,
        config: &str,
        flags: &[&str],
    ) -> Self {
        let dir = work.join("prometheus");
        std::fs::create_dir_all(&dir).unwrap();
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let web: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let proc = Proc::spawn(
            "prometheus",
            Command::new(&tools.prometheus)
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address={web}"))
                .arg("--log.level=warn")
                .args(flags)
                .current_dir(&dir),
            work.join("prometheus.log"),
            "TERM",
        );
        let mut p = Self { web, proc };
        wait_ready(&mut p.proc, p.web);
        p
    }

    pub(crate) fn api(&mut self, path: &str) -> Result<Value, String> {
        self.proc.assert_running();
        let (status, body) = http_get(self.web, path)?;
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        if status != 200 || v["status"] != "success" {
            return Err(format!("{path}: HTTP {status}: {body}"));
        }
        Ok(v["data"].clone())
    }

    /// Every pending or firing alert.
    pub(crate) fn alerts(&mut self) -> Result<Vec<Alert>, String> {
        let data = self.api("/api/v1/alerts")?;
        let mut out: Vec<Alert> = data["alerts"]
            .as_array()
            .ok_or("no alerts array")?
            .iter()
            .map(|a| Alert {
                name: a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                state: a["state"].as_str().unwrap_or("").to_string(),
                labels: a["labels"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// An instant query's result vector (or matrix/scalar as returned).
    pub(crate) fn query(&mut self, expr: &str) -> Result<Vec<Value>, String> {
        let data = self.api(&format!("/api/v1/query?query={}", url_encode(expr)))?;
        match &data["result"] {
            Value::Array(a) => Ok(a.clone()),
            // A scalar or string result is one value.
            other if !other.is_null() => Ok(vec![other.clone()]),
            _ => Err(format!("no result for {expr}: {data}")),
        }
    }

    /// Waits until every rule group of the rule file is loaded with all rules healthy, and
    /// every target is up: (group, rule) names.
    pub(crate) fn wait_healthy(&mut self, groups: usize) -> Vec<(String, String)> {
        let names = wait_for(
            "rules loaded and healthy, targets up",
            Duration::from_secs(60),
            || {
                let targets = self.api("/api/v1/targets")?;
                let active = targets["activeTargets"].as_array().ok_or("no targets")?;
                let down: Vec<&Value> = active.iter().filter(|t| t["health"] != "up").collect();
                if active.is_empty() || !down.is_empty() {
                    return Err(format!("targets not up: {targets}"));
                }
                let rules = self.api("/api/v1/rules")?;
                let gs = rules["groups"].as_array().ok_or("no groups")?;
                let mut names = Vec::new();
                for g in gs {
                    for r in g["rules"].as_array().ok_or("no rules")? {
                        if r["health"] != "ok" {
                            return Err(format!("rule not healthy yet: {r}"));
                        }
                        names.push((
                            g["name"].as_str().unwrap_or("").to_string(),
                            r["name"].as_str().unwrap_or("").to_string(),
                        ));
                    }
                }
                if gs.len() < groups {
                    return Err(format!("{} of {groups} groups loaded", gs.len()));
                }
                Ok(names)
            },
        );
        // Before its first scrape a fresh server sees no series at all, so absence alerts
        // (whose `for:` the scenarios shorten below the start-up time) may have fired; they
        // resolve at the next evaluations. A pool alert that stays is caught by the quiet phase.
        wait_for(
            "start-up alerts resolve once targets are scraped",
            Duration::from_secs(20),
            || match self.alerts()? {
                a if a.is_empty() => Ok(()),
                a => Err(format!("{a:#?}")),
            },
        );
        names
    }

    /// Every query of the generated dashboard, Grafana variables replaced (`$__rate_interval`
    /// by a window of real scrapes, the identity/template variables by the match-all regex),
    /// answered by the real server: the queries that returned no series.
    pub(crate) fn empty_dashboard_queries(&mut self, dashboard: &Value) -> Vec<String> {
        let mut empty = Vec::new();
        for expr in dashboard_exprs(dashboard) {
            let concrete = grafana_substitute(&expr);
            match self.query(&concrete) {
                Ok(r) if !r.is_empty() => {}
                Ok(_) => empty.push(format!("{expr}\n    as {concrete}: no series")),
                Err(e) => empty.push(format!("{expr}\n    as {concrete}: {e}")),
            }
        }
        empty
    }
}

/// Runs `poolwatch emit` (the binary under test) on a spec text, into `out`.
pub(crate) fn emit(spec_text: &str, work: &Path, out: &Path) {
    let spec = work.join("spec.yaml");
    std::fs::write(&spec, spec_text).unwrap();
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_poolwatch"))
            .args(["emit", "--spec"])
            .arg(&spec)
            .arg("--out")
            .arg(out),
        Duration::from_secs(60),
    );
}

/// A preset with its time scales shortened for a scenario: every `for:` becomes [`FOR`] and
/// the `rate_window` [`RATE_WINDOW`]. Thresholds, roles, identity and texts stay the
/// preset's own, so the scenario proves the preset's logic on real data.
pub(crate) fn fast_preset(text: &str) -> String {
    fn walk(v: &mut serde_norway::Value) {
        match v {
            serde_norway::Value::Mapping(m) => {
                for (k, v) in m.iter_mut() {
                    match k.as_str() {
                        Some("for") => *v = serde_norway::Value::String(FOR.into()),
                        Some("rate_window") => *v = serde_norway::Value::String(RATE_WINDOW.into()),
                        _ => walk(v),
                    }
                }
            }
            serde_norway::Value::Sequence(s) => s.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v: serde_norway::Value = serde_norway::from_str(text).unwrap();
    walk(&mut v);
    if let serde_norway::Value::Mapping(m) = &mut v {
        m.insert("rate_window".into(), RATE_WINDOW.into());
    }
    serde_norway::to_string(&v).unwrap()
}

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Watches Prometheus for `span`: no alert may be pending or firing at any moment.
pub(crate) fn assert_quiet(prom: &mut Prometheus, phase: &str, span: Duration) {
    let start = Instant::now();
    while start.elapsed() < span {
        let alerts = prom.alerts().unwrap_or_else(|e| panic!("{phase}: {e}"));
        assert!(
            alerts.is_empty(),
            "{phase}: alerts pending or firing after {:.1} s: {alerts:#?}",
            start.elapsed().as_secs_f64()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Every query of the dashboard returns data now.
pub(crate) fn assert_dashboard_has_data(prom: &mut Prometheus, dashboard: &Value) {
    let empty = prom.empty_dashboard_queries(dashboard);
    assert!(
        empty.is_empty(),
        "dashboard queries without data while the pool is exhausted:\n{}",
        empty.join("\n")
    );
}

/// Waits until no alert is pending or firing.
pub(crate) fn wait_all_clear(prom: &mut Prometheus, limit: Duration) {
    wait_for("every alert clears", limit, || {
        let alerts = prom.alerts()?;
        if alerts.is_empty() {
            Ok(())
        } else {
            Err(format!("{alerts:#?}"))
        }
    });
}

/// The exporter is gone: the absence alert fires for every pool instance it exported, each
/// named by its whole identity (every label of `identities`' entries), and no other alert
/// fires.
pub(crate) fn wait_absent_for(prom: &mut Prometheus, identities: &[&[(&str, &str)]]) {
    wait_only_absence(
        prom,
        &format!("ConnectionPoolMetricsAbsent fires for each of {identities:?}"),
        |alerts| {
            identities.iter().all(|identity| {
                alerts
                    .iter()
                    .any(|a| a.state == "firing" && identity.iter().all(|(k, v)| a.has(k, v)))
            })
        },
    );
}

/// The exporter's process is gone while its target stays in service discovery (`up` is 0):
/// the absence alert fires once, for the target (`job`, `instance`) alone, not for each pool
/// instance it served (no `label`), and no other alert fires.
pub(crate) fn wait_target_down(prom: &mut Prometheus, label: &str) {
    wait_only_absence(
        prom,
        &format!("ConnectionPoolMetricsAbsent fires once for the down target, without {label}"),
        |alerts| {
            alerts.len() == 1
                && alerts[0].state == "firing"
                && alerts[0].labels.contains_key("instance")
                && !alerts[0].labels.contains_key(label)
        },
    );
}

/// Waits until the alerts satisfy `done`, failing at once if any alert but absence is
/// pending or firing.
fn wait_only_absence(prom: &mut Prometheus, what: &str, done: impl Fn(&[Alert]) -> bool) {
    wait_for(what, Duration::from_secs(45), || {
        let alerts = prom.alerts()?;
        let other: Vec<&Alert> = alerts
            .iter()
            .filter(|a| a.name != "ConnectionPoolMetricsAbsent")
            .collect();
        assert!(other.is_empty(), "alerts besides absence: {other:#?}");
        if done(&alerts) {
            Ok(())
        } else {
            Err(format!("{alerts:#?}"))
        }
    });
}
