//! The generated Alertmanager file (`alertmanager/connection_pool.yml`): merged under a
//! root route, it passes `amtool check-config` for every spec and environment; loaded into
//! a real Alertmanager (Debian's `prometheus-alertmanager`, 127.0.0.1, stopped by PID), its
//! inhibit rules silence exactly what one incident makes redundant, for the pool instance
//! in trouble and never for another.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use poolwatch::conventions;
use poolwatch::pipeline::Generated;
use poolwatch::spec::SpecSource;
use serde_json::{Value, json};

use crate::common;
use crate::e2e_support::{Proc, free_port, http_get, run_bounded, wait_for};
use crate::harness::Need;

pub(crate) const AMTOOL: Need = Need::Tool("amtool");
pub(crate) const ALERTMANAGER_BIN: &str = "/usr/bin/prometheus-alertmanager";
pub(crate) const ALERTMANAGER: Need = Need::Program(ALERTMANAGER_BIN);

/// The root route's receiver in the wrapped configurations: what an alert the generated
/// route does not catch falls to.
pub(crate) const ROOT_RECEIVER: &str = "root-default";

/// K2 naming its receivers: a default one and pagers for its paging severities.
pub(crate) fn k2_with_receivers() -> SpecSource {
    let mut text = SpecSource::builtin().text;
    text.push_str(
        "\ndeploy:\n  alertmanager:\n    receiver: k2-tickets\n    receivers: { high: k2-pager, critical: k2-pager }\n",
    );
    SpecSource {
        name: "specs/k2-receivers.yaml".into(),
        text,
    }
}

/// Every spec and environment the Alertmanager tests run: the suite's specs, every
/// environment of each, and K2 with named receivers.
pub(crate) fn variants() -> Vec<(String, Generated)> {
    let mut specs = common::all_specs();
    specs.push(("k2-receivers".into(), k2_with_receivers()));
    specs
        .iter()
        .flat_map(|(name, source)| {
            common::generate_all(source)
                .into_iter()
                .map(move |(env, g)| (format!("{name}/{env}"), g))
        })
        .collect()
}

/// The generated Alertmanager file of a variant, as a value.
pub(crate) fn generated_file(g: &Generated) -> Value {
    let f = g
        .files
        .iter()
        .find(|f| f.path.ends_with(&conventions::alertmanager_file_path()))
        .expect("the Alertmanager file");
    serde_norway::from_str(&f.contents).unwrap()
}

fn receivers_of(route: &Value, out: &mut BTreeSet<String>) {
    if let Some(r) = route["receiver"].as_str() {
        out.insert(r.to_string());
    }
    for child in route["routes"].as_array().into_iter().flatten() {
        receivers_of(child, out);
    }
}

/// The generated routes under a root route, the generated inhibit rules, and a receiver
/// for every name the routes use, as the README tells a team to merge them. Each receiver
/// posts to the webhook `hook` when given, else has no integration (nothing is sent).
pub(crate) fn wrapped_config(files: &[Value], hook: Option<&str>) -> String {
    let mut names = BTreeSet::from([ROOT_RECEIVER.to_string()]);
    let mut routes = Vec::new();
    let mut inhibit = Vec::new();
    for f in files {
        receivers_of(&f["route"], &mut names);
        routes.push(f["route"].clone());
        inhibit.extend(f["inhibit_rules"].as_array().unwrap().iter().cloned());
    }
    let receivers: Vec<Value> = names
        .iter()
        .map(|n| match hook {
            Some(url) => json!({"name": n, "webhook_configs": [{"url": url}]}),
            None => json!({"name": n}),
        })
        .collect();
    let config = json!({
        "route": {"receiver": ROOT_RECEIVER, "group_by": ["alertname"], "routes": routes},
        "receivers": receivers,
        "inhibit_rules": inhibit,
    });
    serde_norway::to_string(&config).unwrap()
}

fn amtool_check_config_accepts_every_generated_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, g) in variants() {
        let path = dir.path().join("alertmanager.yml");
        let text = wrapped_config(&[generated_file(&g)], None);
        std::fs::write(&path, &text).unwrap();
        let out = run_bounded(
            Command::new("amtool").arg("check-config").arg(&path),
            Duration::from_secs(30),
        );
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}:\n{said}\n{text}");
        let rules = generated_file(&g)["inhibit_rules"]
            .as_array()
            .unwrap()
            .len();
        assert!(
            said.contains(&format!(" - {rules} inhibit rules")),
            "{name}: {said}"
        );
    }
    // amtool is no rubber stamp: a rule with an invalid matcher is refused.
    let path = dir.path().join("broken.yml");
    let g = common::generate(&SpecSource::builtin());
    let mut file = generated_file(&g);
    file["inhibit_rules"][0]["equal"] = json!(["not a label"]);
    std::fs::write(&path, wrapped_config(&[file], None)).unwrap();
    let out = run_bounded(
        Command::new("amtool").arg("check-config").arg(&path),
        Duration::from_secs(30),
    );
    assert!(!out.status.success(), "an invalid `equal` was accepted");
}

/// A real Alertmanager on 127.0.0.1 with a configuration of our own, stopped by PID.
pub(crate) struct Alertmanager {
    pub(crate) addr: SocketAddr,
    _proc: Proc,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    pub(crate) fn start(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alertmanager.yml");
        std::fs::write(&path, config).unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut cmd = Command::new(ALERTMANAGER_BIN);
        cmd.arg(format!("--config.file={}", path.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            // No gossip: a lone instance, and nothing listening beyond 127.0.0.1.
            .arg("--cluster.listen-address=");
        let mut proc = Proc::spawn("alertmanager", &mut cmd, dir.path().join("log"), "TERM");
        wait_for("Alertmanager ready", Duration::from_secs(20), || {
            proc.assert_running();
            match http_get(addr, "/-/ready") {
                Ok((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        });
        Alertmanager {
            addr,
            _proc: proc,
            _dir: dir,
        }
    }

    /// Posts alerts (label sets) as Prometheus does, firing from now on.
    pub(crate) fn post(&self, alerts: &[BTreeMap<String, String>]) {
        let body: Vec<Value> = alerts.iter().map(|l| json!({"labels": l})).collect();
        let body = serde_json::to_string(&body).unwrap();
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "POST /api/v2/alerts HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
            "{response}"
        );
    }

    /// Every alert Alertmanager holds: its labels, and the labels of the alerts
    /// inhibiting it (`status.inhibitedBy` gives their fingerprints).
    pub(crate) fn alerts(&self) -> Result<Vec<(Labels, Vec<Labels>)>, String> {
        let (status, body) = http_get(self.addr, "/api/v2/alerts")?;
        if status != 200 {
            return Err(format!("{status}: {body}"));
        }
        let alerts: Vec<Value> = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let labels = |a: &Value| -> Labels { serde_json::from_value(a["labels"].clone()).unwrap() };
        let by_fingerprint: BTreeMap<&str, Labels> = alerts
            .iter()
            .map(|a| (a["fingerprint"].as_str().unwrap(), labels(a)))
            .collect();
        Ok(alerts
            .iter()
            .map(|a| {
                let by = a["status"]["inhibitedBy"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| {
                        by_fingerprint
                            .get(f.as_str().unwrap())
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect();
                (labels(a), by)
            })
            .collect())
    }
}

pub(crate) type Labels = BTreeMap<String, String>;

/// One alert of the scenario: which instance, and its labels.
#[derive(Debug, Clone)]
struct Posted {
    instance: char,
    /// The signal's key.
    signal: &'static str,
    labels: Labels,
}

/// The spec's severities, least severe first (the spec's default when it names none).
fn severities(spec_text: &str) -> Vec<String> {
    let doc: Value = serde_norway::from_str(spec_text).unwrap();
    match doc["severities"].as_array() {
        Some(list) => list
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect(),
        None => ["info", "warning", "critical"].map(String::from).to_vec(),
    }
}

/// The alerts a spec's scenario posts. Per pool: instance `a` exhausted (in every other
/// pool only highly utilised, so a neighbour pool's exhaustion on the same labels is
/// seen not to reach it), instance `b` highly utilised, instance `c` absent with every
/// other alert of the pool still firing. Each alert carries its rule's labels and the
/// instance's identity values (the absence alert the labels its inhibit rule compares).
fn scenario(g: &Generated, file: &Value) -> Vec<Posted> {
    let mut out = Vec::new();
    let alerts: Vec<_> = g
        .artifacts
        .rules
        .groups
        .iter()
        .flat_map(|gr| &gr.rules)
        .filter(|r| r.alert.is_some())
        .collect();
    for (i, pool) in g.model.pools.iter().enumerate() {
        let own: Vec<_> = alerts
            .iter()
            .filter(|r| r.origin.pool == pool.name)
            .collect();
        let absent_equal: Vec<String> = file["inhibit_rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["source_matchers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m.as_str().unwrap() == "alertname=\"ConnectionPoolMetricsAbsent\"")
                    && r["source_matchers"].as_array().unwrap().iter().any(|m| {
                        m.as_str().unwrap() == format!("{}=\"{}\"", g.model.pool_label, pool.name)
                    })
            })
            .map(|r| serde_json::from_value(r["equal"].clone()).unwrap())
            .unwrap_or_default();
        let mut post = |instance: char, signal: &'static str, alert: &str, rule_labels: &Labels| {
            let mut labels = rule_labels.clone();
            labels.insert("alertname".into(), alert.to_string());
            for l in pool.group_labels() {
                if signal != "absent" || absent_equal.iter().any(|e| e == l) {
                    labels.insert(l.to_string(), format!("{instance}-{l}"));
                }
            }
            out.push(Posted {
                instance,
                signal,
                labels,
            });
        };
        for r in &own {
            let signal = r.origin.signal.unwrap().key();
            let alert = r.alert.as_deref().unwrap();
            if signal == "utilization" || (signal == "exhausted" && i % 2 == 0) {
                post('a', signal, alert, &r.labels);
            }
            if signal == "utilization" {
                post('b', signal, alert, &r.labels);
            }
            post('c', signal, alert, &r.labels);
        }
    }
    out
}

/// Whether `source` should silence `target`, in the words of the README: the same pool
/// instance (pool label, identity, static labels), and exhaustion over a no louder high
/// utilization, a louder level over a quieter one of the same alert, absence over
/// anything else.
fn should_silence(src: &Posted, tgt: &Posted, severities: &[String], same_instance: bool) -> bool {
    let rank = |p: &Posted| severities.iter().position(|s| *s == p.labels["severity"]);
    if !same_instance {
        return false;
    }
    match (src.signal, tgt.signal) {
        ("exhausted", "utilization") => rank(tgt) <= rank(src),
        ("absent", t) => t != "absent",
        (s, t) => s == t && rank(src) > rank(tgt),
    }
}

fn same_instance(a: &Posted, b: &Posted, pool_label: &str) -> bool {
    // Static labels and the pool label: every label both carry but the alert's own.
    let skip = ["alertname", "severity"];
    let shared: Vec<&String> = a
        .labels
        .keys()
        .filter(|k| !skip.contains(&k.as_str()) && b.labels.contains_key(*k))
        .collect();
    a.instance == b.instance
        && a.labels[pool_label] == b.labels[pool_label]
        && shared.iter().all(|k| a.labels[*k] == b.labels[*k])
}

fn a_real_alertmanager_inhibits_only_within_one_pool_instance() {
    // K2's heaviest environment (two levels of utilization), the presets, and two pools
    // sharing identity labels, all loaded into one Alertmanager.
    let mut chosen: Vec<(String, String, Generated)> = Vec::new();
    for (name, source) in common::all_specs() {
        let pick = match name.as_str() {
            "k2" => Some("production-heavy"),
            n if n.starts_with("preset-") || n == "two_pools" => Some("base"),
            _ => None,
        };
        if let Some(env) = pick {
            let g = common::generate_all(&source)
                .into_iter()
                .find(|(e, _)| e == env)
                .unwrap()
                .1;
            chosen.push((name, source.text, g));
        }
    }
    let files: Vec<Value> = chosen.iter().map(|(_, _, g)| generated_file(g)).collect();
    let am = Alertmanager::start(&wrapped_config(&files, None));
    let mut expected: Vec<(Labels, BTreeSet<Labels>)> = Vec::new();
    let mut posted = Vec::new();
    for ((name, text, g), file) in chosen.iter().zip(&files) {
        let sev = severities(text);
        let alerts = scenario(g, file);
        assert!(
            alerts.iter().any(|a| a.signal == "exhausted"),
            "{name}: the scenario exhausts no pool"
        );
        for tgt in &alerts {
            let by: BTreeSet<Labels> = alerts
                .iter()
                .filter(|src| {
                    should_silence(src, tgt, &sev, same_instance(src, tgt, &g.model.pool_label))
                })
                .map(|src| src.labels.clone())
                .collect();
            expected.push((tgt.labels.clone(), by));
        }
        posted.extend(alerts.iter().map(|a| a.labels.clone()));
    }
    am.post(&posted);
    let expected: BTreeMap<Labels, BTreeSet<Labels>> = expected.into_iter().collect();
    let seen = wait_for(
        "Alertmanager's inhibitions",
        Duration::from_secs(20),
        || {
            let got: BTreeMap<Labels, BTreeSet<Labels>> = am
                .alerts()?
                .into_iter()
                .map(|(l, by)| (l, by.into_iter().collect()))
                .collect();
            // Alertmanager names the first rule's source it finds, not every one that
            // would do: each alert must be inhibited exactly when some source should
            // silence it, and only by such a source.
            let fits = |l: &Labels, by: &BTreeSet<Labels>| {
                got.get(l)
                    .is_some_and(|g| g.is_empty() == by.is_empty() && g.is_subset(by))
            };
            if got.len() == expected.len() && expected.iter().all(|(l, by)| fits(l, by)) {
                Ok(got)
            } else {
                let diff: Vec<String> = expected
                    .iter()
                    .filter(|(l, by)| !fits(l, by))
                    .map(|(l, by)| format!("{l:?}\n  expected {by:?}\n  got {:?}", got.get(l)))
                    .collect();
                Err(diff.join("\n"))
            }
        },
    );
    // The brief's case in plain words: an exhausted instance `a` silences its own high
    // utilization and not instance `b`'s.
    let inhibited = |instance: &str, alert: &str| {
        seen.iter()
            .filter(|(l, _)| {
                l["alertname"] == alert
                    && l.values().any(|v| v.starts_with(&format!("{instance}-")))
            })
            .map(|(_, by)| !by.is_empty())
            .collect::<Vec<bool>>()
    };
    assert!(inhibited("a", "ConnectionPoolHighUtilization").contains(&true));
    assert!(inhibited("b", "ConnectionPoolHighUtilization").contains(&false));
    assert!(inhibited("a", "ConnectionPoolExhausted").iter().all(|i| !i));
    assert!(
        inhibited("c", "ConnectionPoolMetricsAbsent")
            .iter()
            .all(|i| !i)
    );
    assert!(inhibited("c", "ConnectionPoolExhausted").iter().all(|i| *i));
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [AMTOOL] amtool_check_config_accepts_every_generated_file,
        [ALERTMANAGER] a_real_alertmanager_inhibits_only_within_one_pool_instance,
    ]
}
