//! A real Prometheus evaluates the generated rules: it loads them from the fast fixture
//! spec (windows and `for`s in seconds), scrapes a saturated K2 pool from an exporter this
//! test serves, and through its HTTP API every rule group is healthy and the utilization
//! alert fires. Everything listens on 127.0.0.1 only; the server is killed on every path.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use poolwatch::conventions;
use serde_json::Value;

/// How long Prometheus gets to start, load, scrape and fire.
const DEADLINE: Duration = Duration::from_secs(60);

/// A K2 pool with every connection busy, in Prometheus's text exposition format.
const SATURATED_POOL: &str = "\
# TYPE k2_connection_pool_size gauge
k2_connection_pool_size 10
# TYPE k2_connection_pool_active_connections gauge
k2_connection_pool_active_connections 10
# TYPE k2_connection_pool_available_connections gauge
k2_connection_pool_available_connections 0
# TYPE k2_connection_pool_acquisition_timeouts_total counter
k2_connection_pool_acquisition_timeouts_total 0
# TYPE k2_connection_pool_creation_errors_total counter
k2_connection_pool_creation_errors_total 0
# TYPE k2_connection_pool_wait_time_seconds histogram
k2_connection_pool_wait_time_seconds_bucket{le=\"1\"} 90
k2_connection_pool_wait_time_seconds_bucket{le=\"+Inf\"} 100
k2_connection_pool_wait_time_seconds_sum 60
k2_connection_pool_wait_time_seconds_count 100
# TYPE k2_query_duration_seconds histogram
k2_query_duration_seconds_bucket{le=\"1\"} 90
k2_query_duration_seconds_bucket{le=\"+Inf\"} 100
k2_query_duration_seconds_sum 60
k2_query_duration_seconds_count 100
";

/// The Prometheus process; killed and reaped when dropped, whatever the test's outcome.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `body` as the metrics page on a loopback port, from a background thread.
fn exporter(body: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // Read the request head, then answer whatever was asked.
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// A port free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over HTTP/1.0, the JSON body if the server answered.
fn get_json(addr: SocketAddr, path: &str) -> Option<Value> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    serde_json::from_str(body).ok()
}

/// Every rule of the rule groups, with its group name; None unless all groups are loaded.
fn rule_health(rules: &Value) -> Option<Vec<(String, String, String)>> {
    let groups = rules["data"]["groups"].as_array()?;
    let mut out = Vec::new();
    for g in groups {
        for r in g["rules"].as_array()? {
            out.push((
                g["name"].as_str()?.to_string(),
                r["name"].as_str()?.to_string(),
                r["health"].as_str()?.to_string(),
            ));
        }
    }
    Some(out)
}

fn write_config(path: &Path, rule_file: &Path, target: SocketAddr) {
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {}\n\
         scrape_configs:\n  - job_name: pool\n    static_configs:\n      - targets: ['{target}']\n",
        serde_json::to_string(&rule_file.display().to_string()).unwrap()
    );
    std::fs::write(path, config).unwrap();
}

fn prometheus_loads_the_rules_and_fires_the_utilization_alert() {
    let prometheus = common::prometheus();
    let (_, spec) = common::all_specs()
        .into_iter()
        .find(|(name, _)| name == "fast")
        .expect("tests/specs/fast.yaml");
    let generated = common::generate(&spec);
    let out = common::write_to_temp(&generated);
    let rule_file = out.path().join(conventions::rule_file_path());
    let expected_rules = common::artifacts(&generated)
        .rules
        .groups
        .iter()
        .map(|g| g.rules.len())
        .sum::<usize>();

    let target = exporter(SATURATED_POOL);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("prometheus.yml");
    write_config(&config, &rule_file, target);
    let log_path = work.path().join("prometheus.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = free_port();
    let web: SocketAddr = ([127, 0, 0, 1], port).into();
    let server = Server(
        Command::new(&prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                work.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );

    let started = Instant::now();
    let (health, firing) = loop {
        let rules = get_json(web, "/api/v1/rules");
        let alerts = get_json(web, "/api/v1/alerts");
        let health = rules.as_ref().and_then(rule_health);
        let firing = alerts.as_ref().and_then(|a| {
            a["data"]["alerts"]
                .as_array()?
                .iter()
                .find(|al| {
                    al["labels"]["alertname"] == "ConnectionPoolHighUtilization"
                        && al["state"] == "firing"
                })
                .cloned()
        });
        let health = health
            .filter(|h| h.len() == expected_rules && h.iter().all(|(_, _, state)| state == "ok"));
        if let (Some(health), Some(firing)) = (health, firing) {
            break (health, firing);
        }
        if started.elapsed() > DEADLINE {
            drop(server);
            panic!(
                "no firing ConnectionPoolHighUtilization with healthy rules within {DEADLINE:?}\n\
                 rules: {:#?}\nalerts: {:#?}\nprometheus log:\n{}",
                rules,
                alerts,
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    drop(server);

    let groups: std::collections::BTreeSet<&str> =
        health.iter().map(|(g, _, _)| g.as_str()).collect();
    assert_eq!(
        groups,
        [conventions::rule_group("k2").as_str()]
            .into_iter()
            .collect()
    );
    assert_eq!(firing["labels"]["pool"], "k2");
    assert_eq!(firing["labels"]["severity"], "warning");
    let description = firing["annotations"]["description"].as_str().unwrap();
    assert!(description.contains("at 100% utilization"), "{description}");
}

use crate::harness::PROMETHEUS;

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [PROMETHEUS] prometheus_loads_the_rules_and_fires_the_utilization_alert,
    ]
}
