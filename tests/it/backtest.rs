//! `poolwatch backtest` against a real Prometheus on 127.0.0.1 whose TSDB holds a week
//! built by `promtool tsdb create-blocks-from openmetrics`: one K2 replica with a daily
//! peak at 80% and two real incidents (100% for 30 minutes, 95% for 45 minutes) beside an
//! idle replica. The report must count exactly those, before and after a threshold change.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::{
    self,
    process::{code, poolwatch, stderr},
};
use crate::e2e_support::{Proc, free_port, http_get, run_ok, wait_for};
use crate::harness::{GIT, PROMETHEUS, PROMTOOL};
use crate::review::git;
use poolwatch::spec::BUILTIN_K2;

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![[PROMETHEUS, PROMTOOL, GIT] a_week_replayed_counts_the_real_incidents]
}

const DAY: i64 = 1440;

/// A week of one-minute samples ending an hour ago, as OpenMetrics: the size (20) and
/// active connections of a hot and an idle replica. The hot one runs at 40%, peaks at 80%
/// from 10:00 to 12:00 of each day of the data, and has two incidents: day 2 from 03:00,
/// 20 of 20 for 30 minutes; day 5 from 20:00, 19 of 20 for 45 minutes.
fn week(end: i64) -> String {
    let start = end - 7 * DAY * 60 + 3 * 3600;
    let minutes = (end - start) / 60;
    let hot = |m: i64| {
        let (day, minute) = (m / DAY, m % DAY);
        if day == 2 && (180..210).contains(&minute) {
            20
        } else if day == 5 && (1200..1245).contains(&minute) {
            19
        } else if (600..720).contains(&minute) {
            16
        } else {
            8
        }
    };
    let mut out = String::new();
    let replicas = [("api-1:8080", true), ("api-2:8080", false)];
    for (metric, size) in [
        ("k2_connection_pool_size", true),
        ("k2_connection_pool_active_connections", false),
    ] {
        let _ = writeln!(out, "# TYPE {metric} gauge");
        for (instance, is_hot) in replicas {
            for m in 0..minutes {
                let v = match (size, is_hot) {
                    (true, _) => 20,
                    (false, true) => hot(m),
                    (false, false) => 6,
                };
                let _ = writeln!(
                    out,
                    "{metric}{{job=\"k2\",instance=\"{instance}\",service=\"k2\"}} {v} {}",
                    start + m * 60
                );
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

fn a_week_replayed_counts_the_real_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let end = now - now % 60 - 3600;
    std::fs::write(d.join("week.om"), week(end)).unwrap();
    let data = d.join("data");
    run_ok(
        Command::new(common::promtool())
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(d.join("week.om"))
            .arg(&data),
        Duration::from_secs(120),
    );
    std::fs::write(
        d.join("prometheus.yml"),
        "global:\n  evaluation_interval: 1m\n",
    )
    .unwrap();
    let web: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut prom = Proc::spawn(
        "prometheus",
        Command::new(common::prometheus())
            .arg(format!(
                "--config.file={}",
                d.join("prometheus.yml").display()
            ))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=30d")
            .arg(format!("--web.listen-address={web}"))
            .arg("--log.level=warn"),
        d.join("prometheus.log"),
        "TERM",
    );
    wait_for("Prometheus is ready", Duration::from_secs(30), || {
        prom.assert_running();
        match http_get(web, "/-/ready") {
            Ok((200, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    let url = format!("http://{web}");

    // The change: the base spec's utilization alert from 90% to 75%.
    let repo = d.join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("spec.yaml"), BUILTIN_K2).unwrap();
    git(&repo, &["add", "spec.yaml"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let from = "{ value: 0.9, color: red, severity: warning, for: 5m }";
    assert!(BUILTIN_K2.contains(from));
    let edited = BUILTIN_K2.replacen(
        from,
        "{ value: 0.75, color: red, severity: warning, for: 5m }",
        1,
    );
    std::fs::write(repo.join("spec.yaml"), edited).unwrap();
    let args = [
        "backtest",
        "--spec",
        "spec.yaml",
        "--base",
        "HEAD",
        "--prometheus",
        &url,
        "--range",
        "7d",
    ];
    let out = poolwatch(&[&args[..], &["--format", "json"]].concat(), &repo);
    assert_eq!(code(&out), 0, "{}\n{}", stderr(&out), prom.log_text());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Only the changed alert is replayed, and only the hot replica ever fired.
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report:#}");
    let row = &rows[0];
    assert_eq!(row["alert"], "ConnectionPoolHighUtilization");
    assert_eq!(row["identity"], "instance=\"api-1:8080\", job=\"k2\"");
    // Before: the two incidents, each firing after its 5 minutes pending:
    // 30 - 5 = 25 minutes and 45 - 5 = 40 minutes.
    assert_eq!(row["before"]["times"], 2, "{report:#}");
    assert_eq!(row["before"]["seconds"], (25 + 40) * 60, "{report:#}");
    // After: the seven daily peaks (120 - 5 minutes each) as well.
    assert_eq!(row["after"]["times"], 9, "{report:#}");
    assert_eq!(
        row["after"]["seconds"],
        (7 * 115 + 25 + 40) * 60,
        "{report:#}"
    );

    let md = poolwatch(&[&args[..], &["--format", "markdown"]].concat(), &repo);
    assert_eq!(code(&md), 0, "{}", stderr(&md));
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.contains("| `ConnectionPoolHighUtilization` | `instance=\"api-1:8080\", job=\"k2\"` | 2 times, 1h05m | 9 times, 14h30m |"),
        "{md}"
    );

    // Errors: exit 2, nothing on stdout. A spec whose metrics this server has never seen:
    std::fs::write(
        repo.join("pgbouncer.yaml"),
        poolwatch::spec::preset("pgbouncer").unwrap(),
    )
    .unwrap();
    let out = poolwatch(
        &["backtest", "--spec", "pgbouncer.yaml", "--prometheus", &url],
        &repo,
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("has no series of pgbouncer_databases_pool_size"),
        "{}",
        stderr(&out)
    );
    // A range Prometheus would refuse:
    let out = poolwatch(
        &[
            "backtest",
            "--spec",
            "spec.yaml",
            "--prometheus",
            &url,
            "--range",
            "30d",
        ],
        &repo,
    );
    assert_eq!(code(&out), 2);
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("Prometheus answers at most 11000"),
        "{}",
        stderr(&out)
    );
    drop(prom);
    // The server gone:
    let out = poolwatch(
        &["backtest", "--spec", "spec.yaml", "--prometheus", &url],
        &repo,
    );
    assert_eq!(code(&out), 2);
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains(&format!("cannot reach Prometheus at {url}")),
        "{}",
        stderr(&out)
    );
}
