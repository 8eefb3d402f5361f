//! End to end, native histograms: the Go program of tests/e2e/gosql run with
//! `-acquire-histogram` (two real `*sql.DB` pools on a real PostgreSQL, `orders` made to
//! wait, `billing` idle) exports the seconds each acquisition waited in `db.Conn` as a
//! histogram with both forms (client_golang 1.14's `Buckets` and
//! `NativeHistogramBucketFactor`). A real Prometheus 2.42 with
//! `--enable-feature=native-histograms` scrapes it twice: job `protobuf` on `/metrics`, where
//! it negotiates protobuf and stores ONLY the native histogram (no `_bucket` series), and job
//! `text` on `/metrics-text`, which always answers the text format, so that target's
//! histogram is stored classic. It evaluates the rules `poolwatch emit` generates from
//! tests/e2e/gosql/acquire_wait.yaml, one variant per histogram form of the spec (the pool
//! named after its form), side by side.
//!
//! What it proves, on the Prometheus HTTP API:
//! - the storage is what the scenario claims: native samples and no `_bucket` for `protobuf`,
//!   `_bucket` and no native samples for `text`;
//! - each form's generated alert fires for `orders` where its form is stored and never for
//!   `billing`; the classic form on the natively stored target stays silent (the silent
//!   failure native storage brings to a classic rule) while it fires on the classic target;
//! - the alert's value, evaluated at one instant, is the p99 of the waits the holds make
//!   (not their median, not a bucket bound out of range), and the idle pool's p99, queried,
//!   is a value far below the threshold (quiet because it does not wait, not for lack of data);
//!   `both` gives, per target, the value of the form stored there;
//! - every form's recorded series (bucket rates, p50/p95/p99, mean) exist per pool exactly
//!   where the form is stored, with values in the waits' ranges: these, and the alert, are
//!   what the native variant's generated promtool tests leave to this scenario (promtool
//!   2.42 has no native input series), and the scenario checks that list is covered;
//! - once the holds stop, every alert clears.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::e2e_gosql::{self as gosql, control};
use super::e2e_support::{self as support, Postgres, Prometheus, Tools, url_encode, wait_for};
use crate::harness::{Need, PROMETHEUS};

/// Like `assert!`, but returns the message as an error, so that the caller may look again.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Like `assert_eq!`, but returns the message and both sides as an error.
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($msg:tt)+) => {
        if $left != $right {
            return Err(format!("{}: {:?} != {:?}", format!($($msg)+), $left, $right));
        }
    };
}

/// The spec under test; its variants differ in the histogram's `storage`, and in their
/// names and pool names, which tell their rules apart in one Prometheus.
const SPEC: &str = "tests/e2e/gosql/acquire_wait.yaml";
/// The histogram the spec's `wait_time` role reads.
const HISTOGRAM: &str = "app_sql_acquire_wait_seconds";
/// The generated alert on the p99 wait (`wait_time_p99`).
const ALERT: &str = "ConnectionPoolSlowAcquisition";
/// The scrape job that negotiates protobuf: the histogram is stored native.
const NATIVE_JOB: &str = "protobuf";
/// The scrape job of `/metrics-text`: the histogram is stored classic.
const CLASSIC_JOB: &str = "text";
/// The spec's `rate_window`.
const WINDOW: &str = "10s";

/// How a variant of the spec stores its histogram: its catalog entry's `storage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `storage: classic`, the default.
    Classic,
    /// `storage: native`.
    Native,
    /// `storage: both`: native where an identity has it, else classic.
    Both,
}

impl Form {
    /// The variant's pool (and spec) name, which tells its alerts apart.
    fn pool(self) -> &'static str {
        match self {
            Form::Classic => "classic",
            Form::Native => "native",
            Form::Both => "both",
        }
    }

    /// The `storage` value the variant's catalog entry says.
    fn storage(self) -> &'static str {
        match self {
            Form::Classic => "classic",
            Form::Native => "native",
            Form::Both => "both",
        }
    }

    /// The scrape jobs on whose stored form this variant's expressions have data.
    fn sees(self) -> &'static [&'static str] {
        match self {
            Form::Classic => &[CLASSIC_JOB],
            Form::Native => &[NATIVE_JOB],
            Form::Both => &[NATIVE_JOB, CLASSIC_JOB],
        }
    }
}

/// Every variant the scenario loads.
const FORMS: [Form; 3] = [Form::Classic, Form::Native, Form::Both];

/// PostgreSQL and Prometheus, Go and Debian's Go sources of client_golang (with native
/// histograms: 1.14's histogram.go) and lib/pq.
const NEEDS: [Need; 8] = [
    PROMETHEUS,
    support::POSTGRES_NEEDS[1],
    support::POSTGRES_NEEDS[2],
    support::POSTGRES_NEEDS[3],
    Need::Tool("go"),
    Need::Program(
        "/usr/share/gocode/src/github.com/prometheus/client_golang/prometheus/histogram.go",
    ),
    Need::Program(
        "/usr/share/gocode/src/github.com/prometheus/client_golang/prometheus/promhttp/http.go",
    ),
    Need::Program("/usr/share/gocode/src/github.com/lib/pq/conn.go"),
];

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    vec![crate::harness::Test {
        name: "native_histogram_wait_end_to_end",
        needs: &NEEDS,
        run: native_histogram_wait_end_to_end,
    }]
}

/// One variant of the spec: its name, its pool and the histogram's `storage` set per `form`.
fn variant(text: &str, form: Form) -> String {
    use serde_norway::Value as Y;
    let mut v: Y = serde_norway::from_str(text).unwrap();
    v["name"] = Y::String(format!("go-acquire-wait-{}", form.pool()));
    v["pools"][0]["name"] = Y::String(form.pool().into());
    let Y::Sequence(catalog) = &mut v["catalog"] else {
        panic!("{SPEC}: no catalog list")
    };
    let entry = catalog
        .iter_mut()
        .find(|m| m["name"].as_str() == Some(HISTOGRAM))
        .unwrap_or_else(|| panic!("{SPEC}: no {HISTOGRAM} in the catalog"));
    entry["storage"] = Y::String(form.storage().into());
    serde_norway::to_string(&v).unwrap()
}

/// Prometheus's configuration: both scrapes of the one program, every variant's rules.
fn config(app: SocketAddr, rule_files: &[PathBuf]) -> String {
    let files: Vec<String> = rule_files
        .iter()
        .map(|f| {
            format!(
                "  - {}\n",
                serde_json::to_string(&f.display().to_string()).unwrap()
            )
        })
        .collect();
    format!(
        "global:\n  scrape_interval: {tick}\n  scrape_timeout: {tick}\n  evaluation_interval: {tick}\n\
         rule_files:\n{files}scrape_configs:\n\
         \x20 - job_name: {NATIVE_JOB}\n    static_configs:\n      - targets: ['{app}']\n\
         \x20 - job_name: {CLASSIC_JOB}\n    metrics_path: /metrics-text\n    static_configs:\n      - targets: ['{app}']\n",
        tick = support::TICK,
        files = files.concat(),
    )
}

/// The whole scenario; panics on the first broken promise with what was seen.
fn native_histogram_wait_end_to_end() {
    let tools = &Tools::get();
    let started = Instant::now();
    let bin = gosql::build_in(tools, "e2e-native");
    let work_dir = tempfile::tempdir().unwrap();
    let work = work_dir.path();

    let pg = Postgres::start(tools, work);
    pg.exec("postgres", &["create database app"]);
    let (app, mut program) = gosql::start_with(&bin, work, &pg, "gosql", &["-acquire-histogram"]);
    control(app, "/ping?db=orders");
    control(app, "/ping?db=billing");

    let text = std::fs::read_to_string(support::repo().join(SPEC)).unwrap();
    let rule_files: Vec<PathBuf> = FORMS
        .iter()
        .map(|form| {
            let out = work.join(form.pool());
            std::fs::create_dir_all(&out).unwrap();
            support::emit(&variant(&text, *form), &out, &out.join("generated"));
            out.join("generated/rules/connection_pool.yml")
        })
        .collect();
    assert_covers_native_header(&work.join("native/generated/tests/connection_pool.test.yml"));
    let mut prom = Prometheus::start_config_with(
        tools,
        work,
        &config(app, &rule_files),
        &["--enable-feature=native-histograms"],
    );
    prom.wait_healthy(FORMS.len());

    // The waiting pool: six 1 s holds every 3 s on two connections: two run at once, two
    // wait about 1 s, two about 2 s. The idle pool: one 1 s hold every 3 s, which never
    // waits. Both pools' histograms have fresh observations in every rate window once the
    // traffic has run for a window and a round: only then does each p99 have a value (a rate
    // over a window without an observation has a count of 0, and its quantile is NaN) that
    // counts every kind of wait.
    let warm = Duration::from_secs(10 + 3);
    let traffic_started = Instant::now();
    let mut last_round: Option<Instant> = None;
    let mut traffic = |program: &mut support::Proc| {
        program.assert_running();
        if last_round.is_none_or(|t| t.elapsed() >= Duration::from_secs(3)) {
            control(app, "/hold?db=orders&n=6&seconds=1");
            control(app, "/hold?db=billing&n=1&seconds=1");
            last_round = Some(Instant::now());
        }
    };
    wait_for(
        "every form's alert fires for orders where it has data",
        Duration::from_secs(60),
        || {
            traffic(&mut program);
            let alerts = alerts_by_identity(&mut prom)?;
            let firing: Vec<(String, String)> = alerts
                .iter()
                .filter(|(_, state)| *state == "firing")
                .map(|(k, _)| k.clone())
                .collect();
            let want = expected();
            if firing == want && traffic_started.elapsed() >= warm {
                Ok(())
            } else {
                Err(format!("want firing {want:?}, have {alerts:?}"))
            }
        },
    );
    // Under load an evaluation may lag a scrape, so the values are read again (the traffic
    // going on) until all of them hold at one instant; what failed before is printed.
    let mut misses = Vec::new();
    wait_for(
        "the stored forms, each form's alert value and recorded series, at one instant",
        Duration::from_secs(30),
        || {
            traffic(&mut program);
            alerts_by_identity(&mut prom)?;
            let checked = check_storage(&mut prom).and_then(|()| check_values(&mut prom));
            if let Err(e) = &checked {
                misses.push(e.clone());
            }
            checked
        },
    );
    if let Some(first) = misses.first() {
        eprintln!(
            "e2e native histograms: values held after {} misses; the first: {first}",
            misses.len()
        );
    }
    let fired = started.elapsed();

    // The holds stop: every alert clears once the waits leave the rate window.
    control(app, "/release?db=orders");
    control(app, "/release?db=billing");
    support::wait_all_clear(&mut prom, Duration::from_secs(60));
    program.assert_running();
    drop(prom);
    drop(program);
    drop(pg);
    eprintln!(
        "e2e native histograms: fired after {:.1} s, all clear after {:.1} s",
        fired.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// (pool, job) of every alert the forms should raise for the waiting pool, sorted.
fn expected() -> Vec<(String, String)> {
    let mut want: Vec<(String, String)> = FORMS
        .iter()
        .flat_map(|f| {
            f.sees()
                .iter()
                .map(move |job| (f.pool().to_string(), job.to_string()))
        })
        .collect();
    want.sort();
    want
}

/// Every pending or firing alert as ((pool, job), state); fails at once on an alert that must
/// never be: another alert than the p99 wait, one for the idle pool, or one of a form on a
/// target where that form is not stored.
fn alerts_by_identity(prom: &mut Prometheus) -> Result<BTreeMap<(String, String), String>, String> {
    let mut out = BTreeMap::new();
    let allowed = expected();
    for a in prom.alerts()? {
        assert!(
            a.name == ALERT && a.has("db_name", "orders"),
            "only {ALERT} for orders may be raised; raised: {a:#?}"
        );
        let key = |l: &str| a.labels.get(l).cloned().unwrap_or_default();
        let at = (key("pool"), key("job"));
        assert!(
            allowed.contains(&at),
            "(pool, job) {at:?} reads a form not stored there, yet raised: {a:#?}"
        );
        out.insert(at, a.state.clone());
    }
    Ok(out)
}

/// The storage the scenario claims: `protobuf`'s histogram native only, `text`'s classic only.
fn check_storage(prom: &mut Prometheus) -> Result<(), String> {
    let native = prom.query(&format!("{HISTOGRAM}{{job=\"{NATIVE_JOB}\"}}"))?;
    ensure!(
        native.len() == 2 && native.iter().all(|s| s.get("histogram").is_some()),
        "{NATIVE_JOB}: one native histogram per pool expected: {native:?}"
    );
    let buckets = prom.query(&format!("{HISTOGRAM}_bucket{{job=\"{NATIVE_JOB}\"}}"))?;
    ensure_eq!(
        buckets,
        Vec::<Value>::new(),
        "{NATIVE_JOB}: classic buckets stored beside native"
    );
    let classic = prom.query(&format!("{HISTOGRAM}_bucket{{job=\"{CLASSIC_JOB}\"}}"))?;
    // Eleven finite bounds and +Inf per pool.
    ensure_eq!(
        classic.len(),
        2 * 12,
        "{CLASSIC_JOB}: classic buckets: {classic:?}"
    );
    let native_there = prom.query(&format!("{HISTOGRAM}{{job=\"{CLASSIC_JOB}\"}}"))?;
    ensure_eq!(
        native_there,
        Vec::<Value>::new(),
        "{CLASSIC_JOB}: a native histogram stored"
    );
    Ok(())
}

/// One instant vector evaluated at `at` (seconds since the epoch): (job, db_name) → value.
fn query_at(
    prom: &mut Prometheus,
    expr: &str,
    at: f64,
) -> Result<BTreeMap<(String, String), f64>, String> {
    let data = prom
        .api(&format!(
            "/api/v1/query?query={}&time={at:.3}",
            url_encode(expr)
        ))
        .map_err(|e| format!("{expr}: {e}"))?;
    let series = data["result"]
        .as_array()
        .ok_or_else(|| format!("{expr}: not a vector: {data}"))?;
    series
        .iter()
        .map(|s| {
            let label = |l: &str| s["metric"][l].as_str().unwrap_or("").to_string();
            let value = s["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{expr}: not a float sample: {s}"))?;
            Ok(((label("job"), label("db_name")), value))
        })
        .collect()
}

/// The query of each form's generated alert, as Prometheus loaded it: pool → PromQL.
fn alert_queries(prom: &mut Prometheus) -> BTreeMap<String, String> {
    let rules = prom.api("/api/v1/rules").unwrap();
    let mut out = BTreeMap::new();
    for g in rules["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            if r["type"] == "alerting" && r["name"] == ALERT {
                let pool = r["labels"]["pool"].as_str().unwrap().to_string();
                out.insert(pool, r["query"].as_str().unwrap().to_string());
            }
        }
    }
    out
}

/// The range of the waiting pool's p99 per stored form. The waits are about 0, 1 and 2 s in
/// equal shares, so the p99 lies among the 2 s waits: native buckets (factor 1.1 or finer)
/// resolve it near 2 s; the classic bound above 1 s is 2.5, and histogram_quantile
/// interpolates to about 2.48 inside (1, 2.5]. The median (about 1 s) or the mean falls
/// outside both ranges.
fn p99_range(job: &str) -> RangeInclusive<f64> {
    if job == NATIVE_JOB {
        1.8..=2.4
    } else {
        2.0..=2.5
    }
}

/// Each form's alert expression evaluated at one instant: the series it yields are exactly
/// the waiting pool's where its form is stored, each with a plausible p99; the idle pool's
/// p99, queried directly on each stored form, is far below the threshold.
fn check_values(prom: &mut Prometheus) -> Result<(), String> {
    let queries = alert_queries(prom);
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 1.0;
    let mut alone = BTreeMap::new();
    for form in FORMS {
        let query = &queries[form.pool()];
        let got = query_at(prom, query, at)?;
        let jobs: Vec<&str> = got.keys().map(|(job, _)| job.as_str()).collect();
        ensure_eq!(jobs, form.sees(), "{form:?}: {query} yields {got:?}");
        for ((job, db), value) in &got {
            ensure_eq!(db, "orders", "{form:?}: {query} yields {got:?}");
            ensure!(
                p99_range(job).contains(value),
                "{form:?} on {job}: p99 {value} outside {:?} ({query})",
                p99_range(job)
            );
            if form.sees().len() == 1 {
                alone.insert(job.clone(), *value);
            }
        }
        // `both` is, per identity, the value of the form stored there: the same number the
        // form's own alert computes at the same instant.
        if form == Form::Both {
            let per_job: BTreeMap<String, f64> =
                got.iter().map(|((job, _), v)| (job.clone(), *v)).collect();
            ensure_eq!(
                per_job,
                alone,
                "{form:?}: {query} differs from each form alone"
            );
        }
        check_recorded(prom, form, at)?;
    }
    let ids = "job, instance, db_name";
    let idle = [
        (
            NATIVE_JOB,
            format!(
                "histogram_quantile(0.99, sum by ({ids}) (rate({HISTOGRAM}{{job=\"{NATIVE_JOB}\"}}[{WINDOW}])))"
            ),
        ),
        (
            CLASSIC_JOB,
            format!(
                "histogram_quantile(0.99, sum by ({ids}, le) (rate({HISTOGRAM}_bucket{{job=\"{CLASSIC_JOB}\"}}[{WINDOW}])))"
            ),
        ),
    ];
    for (job, expr) in idle {
        let got = query_at(prom, &expr, at)?;
        let billing = got.get(&(job.to_string(), "billing".to_string()));
        ensure!(
            billing.is_some_and(|v| (0.0..0.05).contains(v)),
            "{job}: the idle pool's p99 should be a value near 0: {expr} yields {got:?}"
        );
    }
    Ok(())
}

/// The recorded series of a pool's wait histogram, as `record` names (the dashboard and
/// the alerts read them): the quantiles and the mean.
fn recorded() -> [String; 4] {
    let ids = "pool_job_instance_db_name";
    [
        format!("{ids}:{HISTOGRAM}:p50_rate{WINDOW}"),
        format!("{ids}:{HISTOGRAM}:p95_rate{WINDOW}"),
        format!("{ids}:{HISTOGRAM}:p99_rate{WINDOW}"),
        format!("{ids}:{HISTOGRAM}:mean{WINDOW}"),
    ]
}

/// The form's recorded series: each has a series for each pool on each target whose stored
/// form it reads, and none elsewhere. The waiting pool's p99 lies in its range, its p50 and
/// p95 below it in order, its mean near the waits' 1 s; the idle pool's values near 0.
fn check_recorded(prom: &mut Prometheus, form: Form, at: f64) -> Result<(), String> {
    let want: Vec<(String, String)> = form
        .sees()
        .iter()
        .flat_map(|job| ["billing", "orders"].map(|db| (job.to_string(), db.to_string())))
        .collect();
    let [p50, p95, p99, mean] = recorded();
    let pool = format!("{{pool=\"{}\"}}", form.pool());
    let mut values = Vec::new();
    for name in [&p50, &p95, &p99, &mean] {
        let got = query_at(prom, &format!("{name}{pool}"), at)?;
        ensure_eq!(
            got.keys().cloned().collect::<Vec<_>>(),
            want,
            "{name}: {got:?}"
        );
        values.push(got);
    }
    for ((job, db), p99_value) in &values[2] {
        let id = (job.clone(), db.clone());
        let (p50_value, p95_value, mean_value) = (values[0][&id], values[1][&id], values[3][&id]);
        let (p99_range, mean_range) = if db == "orders" {
            (p99_range(job), 0.7..=1.4)
        } else {
            (0.0..=0.05, 0.0..=0.05)
        };
        ensure!(
            p99_range.contains(p99_value)
                && (0.0..=p95_value).contains(&p50_value)
                && p95_value <= *p99_value
                && mean_range.contains(&mean_value),
            "{form:?} on ({job}, {db}): p50 {p50_value}, p95 {p95_value}, p99 {p99_value} \
             (want in {p99_range:?}, in that order), mean {mean_value} (want in {mean_range:?})"
        );
    }
    Ok(())
}

/// The rules the generated promtool tests of the native variant leave to this scenario (its
/// header lists them: promtool 2.42 cannot write native input series) are the ones it checks.
fn assert_covers_native_header(tests_file: &std::path::Path) {
    let text = std::fs::read_to_string(tests_file).unwrap();
    let left: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let item = l.strip_prefix("# - ")?;
            let name = item
                .strip_prefix("alert ")
                .or(item.strip_prefix("recording rule "))?;
            name.split_whitespace().next()
        })
        .collect();
    assert!(
        !left.is_empty(),
        "{}: no rule left to the scenario:\n{text}",
        tests_file.display()
    );
    let checked: Vec<String> = recorded().into_iter().chain([ALERT.to_string()]).collect();
    for name in left {
        assert!(
            checked.iter().any(|c| c == name),
            "{} leaves {name} to this scenario, which does not check it",
            tests_file.display()
        );
    }
}
