//! The last hop of the end-to-end scenarios: a real Alertmanager (Debian's
//! `prometheus-alertmanager` 0.25) loaded with the route and inhibit rules `poolwatch emit`
//! generates, delivering to a webhook receiver that is a small HTTP server inside the test,
//! so scenarios assert on the notifications a person would get, not on Prometheus's ALERTS.
//! Also a real Prometheus wired to it, whose jobs come from `file_sd_configs` so a scenario
//! can replace a target as a deploy does.
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::e2e_support::{self as support, Proc, Prometheus, Tools, free_port, wait_for};
use crate::harness::Need;

/// Debian's Alertmanager server (package prometheus-alertmanager).
pub(crate) const ALERTMANAGER: Need = Need::Program("/usr/bin/prometheus-alertmanager");

/// The receiver every generated route is rewritten to deliver to.
pub(crate) const ROUTED: &str = "poolwatch-webhook";
/// The root route's receiver: a notification here means an alert no generated route took.
pub(crate) const UNROUTED: &str = "root-default";

/// Alertmanager's grouping waits in the scenarios: short, so a page arrives within seconds
/// of the alert firing, yet long enough that alerts firing at the same evaluation share it.
const GROUP_WAIT: &str = "2s";
const GROUP_INTERVAL: &str = "3s";
/// How long after an alert fires in Prometheus a notification may take: Prometheus sends at
/// once, Alertmanager waits [`GROUP_WAIT`] (or [`GROUP_INTERVAL`] for a group it already
/// notified), plus evaluation and delivery slack.
pub(crate) const DELIVERY: Duration = Duration::from_secs(8);

/// One webhook notification (Alertmanager's webhook payload, version 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notification {
    pub receiver: String,
    pub status: String,
    pub group_labels: BTreeMap<String, String>,
    /// Each alert's status and labels (alertname included).
    pub alerts: Vec<(String, BTreeMap<String, String>)>,
}

impl Notification {
    fn parse(body: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
        let labels = |v: &Value| -> BTreeMap<String, String> {
            v.as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Self {
            receiver: v["receiver"].as_str().unwrap_or("").to_string(),
            status: v["status"].as_str().unwrap_or("").to_string(),
            group_labels: labels(&v["groupLabels"]),
            alerts: v["alerts"]
                .as_array()
                .ok_or_else(|| format!("no alerts in {body}"))?
                .iter()
                .map(|a| {
                    (
                        a["status"].as_str().unwrap_or("").to_string(),
                        labels(&a["labels"]),
                    )
                })
                .collect(),
        })
    }

    /// The names of the firing alerts it carries.
    pub(crate) fn firing(&self) -> Vec<&str> {
        self.alerts
            .iter()
            .filter(|(s, _)| s == "firing")
            .map(|(_, l)| l.get("alertname").map_or("", String::as_str))
            .collect()
    }

    /// Whether every alert it carries has all of `identity`'s label values.
    pub(crate) fn names(&self, identity: &[(&str, &str)]) -> bool {
        !self.alerts.is_empty()
            && self.alerts.iter().all(|(_, l)| {
                identity
                    .iter()
                    .all(|(k, v)| l.get(*k).is_some_and(|x| x == v))
            })
    }
}

/// The webhook receiver: an HTTP server on 127.0.0.1 that records every POSTed body as a
/// [`Notification`] and answers 200. Stops accepting when dropped.
#[derive(Debug)]
pub(crate) struct Webhook {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Notification>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Webhook {
    pub(crate) fn start() -> Self {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (sink, stopped) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                match read_post(stream) {
                    Ok(body) => match Notification::parse(&body) {
                        Ok(n) => sink.lock().unwrap().push(n),
                        Err(e) => eprintln!("webhook: unreadable notification: {e}"),
                    },
                    Err(e) => eprintln!("webhook: {e}"),
                }
            }
        });
        Self {
            addr,
            received,
            stop,
        }
    }

    /// Every notification received so far, in arrival order.
    pub(crate) fn all(&self) -> Vec<Notification> {
        self.received.lock().unwrap().clone()
    }

    /// How many have arrived: a phase's notifications are those after its mark.
    pub(crate) fn mark(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// The notifications received since `mark`.
    pub(crate) fn since(&self, mark: usize) -> Vec<Notification> {
        self.received.lock().unwrap()[mark..].to_vec()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// Reads one HTTP request (head, then `Content-Length` bytes of body), answers 200 and
/// returns the body.
fn read_post(stream: TcpStream) -> Result<String, String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().map_err(|_| format!("bad length {v}"))?;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    let mut stream = reader.into_inner();
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Alertmanager's configuration for a scenario: the generated `route` under the root's
/// `routes:`, each of its `receiver:` rewritten to the webhook's [`ROUTED`] receiver (its
/// matchers and `group_by` kept), the generated `inhibit_rules` as they are, and a root
/// whose own receiver ([`UNROUTED`]) catches what no generated route takes.
pub(crate) fn config(generated: &Path, webhook: SocketAddr) -> String {
    let text = std::fs::read_to_string(generated)
        .unwrap_or_else(|e| panic!("{}: {e}", generated.display()));
    let g: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut route = g
        .get("route")
        .unwrap_or_else(|| panic!("{}: no `route:`", generated.display()))
        .clone();
    let receivers = rewrite_receivers(&mut route);
    assert!(
        receivers > 0,
        "{}: the route names no receiver",
        generated.display()
    );
    let inhibit = g
        .get("inhibit_rules")
        .unwrap_or_else(|| panic!("{}: no `inhibit_rules:`", generated.display()))
        .clone();
    let url = format!("http://{webhook}/");
    let mut root: serde_norway::Value = serde_norway::from_str(&format!(
        "route:\n  receiver: {UNROUTED}\n  group_by: ['alertname']\n  group_wait: {GROUP_WAIT}\n  \
         group_interval: {GROUP_INTERVAL}\n  repeat_interval: 1h\n\
         receivers:\n  - name: {UNROUTED}\n    webhook_configs: [{{url: '{url}', send_resolved: false}}]\n  \
         - name: {ROUTED}\n    webhook_configs: [{{url: '{url}', send_resolved: false}}]\n"
    ))
    .unwrap();
    root["route"]
        .as_mapping_mut()
        .unwrap()
        .insert("routes".into(), serde_norway::Value::Sequence(vec![route]));
    root.as_mapping_mut()
        .unwrap()
        .insert("inhibit_rules".into(), inhibit);
    serde_norway::to_string(&root).unwrap()
}

/// Points every `receiver:` of a route tree at [`ROUTED`] and shortens its timers to the
/// scenario's; how many receivers it rewrote.
fn rewrite_receivers(route: &mut serde_norway::Value) -> usize {
    let Some(m) = route.as_mapping_mut() else {
        return 0;
    };
    let mut n = 0;
    if m.contains_key("receiver") {
        m.insert("receiver".into(), ROUTED.into());
        n += 1;
    }
    for (key, value) in [
        ("group_wait", GROUP_WAIT),
        ("group_interval", GROUP_INTERVAL),
        ("repeat_interval", "1h"),
    ] {
        if m.contains_key(key) {
            m.insert(key.into(), value.into());
        }
    }
    if let Some(serde_norway::Value::Sequence(children)) = m.get_mut("routes") {
        n += children.iter_mut().map(rewrite_receivers).sum::<usize>();
    }
    n
}

/// A real Alertmanager on 127.0.0.1: its own storage folder, no clustering (an empty
/// `--cluster.listen-address`), stopped by PID when dropped.
#[derive(Debug)]
pub(crate) struct Alertmanager {
    pub web: SocketAddr,
    pub proc: Proc,
}

impl Alertmanager {
    pub(crate) fn start(work: &Path, config: &str) -> Self {
        let dir = work.join("alertmanager");
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let config_path = dir.join("alertmanager.yml");
        std::fs::write(&config_path, config).unwrap();
        let web: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let proc = Proc::spawn(
            "alertmanager",
            Command::new("/usr/bin/prometheus-alertmanager")
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!("--storage.path={}", dir.join("data").display()))
                .arg(format!("--web.listen-address={web}"))
                .arg("--cluster.listen-address=")
                .arg("--log.level=warn")
                .current_dir(&dir),
            work.join("alertmanager.log"),
            "TERM",
        );
        let mut am = Self { web, proc };
        support::wait_ready(&mut am.proc, am.web);
        am
    }

    /// Every alert Alertmanager holds (API v2), with its state (`active`, `suppressed`)
    /// and what inhibits it.
    pub(crate) fn alerts(&mut self) -> Result<Vec<Value>, String> {
        self.proc.assert_running();
        let (status, body) = support::http_get(self.web, "/api/v2/alerts")?;
        if status != 200 {
            return Err(format!("HTTP {status}: {body}"));
        }
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }
}

/// A file_sd target list Prometheus watches: rewritten atomically (a temporary file renamed
/// over it), as a deploy tool or a sidecar would.
#[derive(Debug)]
pub(crate) struct FileSd {
    pub path: PathBuf,
}

impl FileSd {
    pub(crate) fn new(work: &Path, job: &str) -> Self {
        let dir = work.join("file_sd");
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            path: dir.join(format!("{job}.json")),
        }
    }

    pub(crate) fn set(&self, targets: &[SocketAddr]) {
        let list: Vec<String> = targets.iter().map(ToString::to_string).collect();
        let text = serde_json::json!([{ "targets": list }]).to_string();
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &self.path).unwrap();
    }
}

/// Prometheus scraping `job` from `sd` (re-read within a second of a change), evaluating
/// `rule_file`, sending to `am`.
pub(crate) fn prometheus(
    tools: &Tools,
    work: &Path,
    rule_file: &Path,
    job: &str,
    sd: &FileSd,
    am: &Alertmanager,
) -> Prometheus {
    let mut config = Prometheus::config(&[], rule_file);
    config.push_str(&format!(
        "  - job_name: {job}\n    file_sd_configs:\n      - files: [{}]\n        refresh_interval: 1s\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\n",
        serde_json::to_string(&sd.path.display().to_string()).unwrap(),
        am.web
    ));
    Prometheus::start_config(tools, work, &config)
}

/// Everything a notification scenario runs besides its subject: the webhook, Alertmanager
/// with the generated route and inhibit rules, and Prometheus with the generated rules.
#[derive(Debug)]
pub(crate) struct Stack {
    pub webhook: Webhook,
    pub am: Alertmanager,
    pub prom: Prometheus,
    pub sd: FileSd,
}

impl Stack {
    /// `out` holds `poolwatch emit`'s output; `job`'s targets start as `targets`.
    pub(crate) fn start(
        tools: &Tools,
        work: &Path,
        out: &Path,
        job: &str,
        targets: &[SocketAddr],
    ) -> Self {
        let webhook = Webhook::start();
        let am = Alertmanager::start(
            work,
            &config(&out.join("alertmanager/connection_pool.yml"), webhook.addr),
        );
        let sd = FileSd::new(work, job);
        sd.set(targets);
        let prom = prometheus(
            tools,
            work,
            &out.join("rules/connection_pool.yml"),
            job,
            &sd,
            &am,
        );
        Self {
            webhook,
            am,
            prom,
            sd,
        }
    }

    /// Watches for `span`: no notification may arrive. A span proves a quiet phase only if
    /// it is longer than the shortened `for:` plus [`DELIVERY`], so that an alert that went
    /// pending at its start would have paged before its end.
    pub(crate) fn assert_no_page(&mut self, phase: &str, span: Duration) {
        let mark = self.webhook.mark();
        let start = Instant::now();
        while start.elapsed() < span {
            self.am.proc.assert_running();
            let got = self.webhook.since(mark);
            assert!(
                got.is_empty(),
                "{phase}: paged after {:.1} s: {got:#?}\nPrometheus alerts: {:#?}",
                start.elapsed().as_secs_f64(),
                self.prom.alerts()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Waits (up to `limit`) until the notifications since `mark` carry every alert of
    /// `names` firing; fails at once if one is for anything but `identity` or arrived at
    /// the root's default receiver. `observe` runs on every poll (to keep load going and to
    /// say what the data was). The notifications since `mark`.
    pub(crate) fn wait_pages(
        &mut self,
        mark: usize,
        identity: &[(&str, &str)],
        names: &[&str],
        limit: Duration,
        mut observe: impl FnMut(&mut Prometheus) -> String,
    ) -> Vec<Notification> {
        let what = format!("notifications of {names:?} for {identity:?}");
        wait_for(&what, limit, || {
            let seen = observe(&mut self.prom);
            let got = self.webhook.since(mark);
            for n in &got {
                assert!(
                    n.receiver == ROUTED && n.names(identity),
                    "a notification that is not for {identity:?} through the generated \
                     route: {n:#?}\nall: {got:#?}"
                );
            }
            let fired: Vec<&str> = got.iter().flat_map(Notification::firing).collect();
            if names.iter().all(|n| fired.contains(n)) {
                Ok(got)
            } else {
                Err(format!(
                    "{got:#?}\nPrometheus: {:#?}\n{seen}",
                    self.prom.alerts()
                ))
            }
        })
    }

    /// Waits until no alert is pending in Prometheus, then for delivery: every page the
    /// alerts firing now will cause has arrived.
    pub(crate) fn settle(&mut self) {
        wait_for("no alert pending", Duration::from_secs(30), || {
            let pending: Vec<_> = self
                .prom
                .alerts()?
                .into_iter()
                .filter(|a| a.state == "pending")
                .collect();
            if pending.is_empty() {
                Ok(())
            } else {
                Err(format!("{pending:#?}"))
            }
        });
        std::thread::sleep(DELIVERY);
    }

    /// After the pages of a phase arrived, a group interval and delivery time more: the
    /// phase's notifications since `mark` are exactly `n`.
    pub(crate) fn assert_page_count(
        &mut self,
        phase: &str,
        mark: usize,
        n: usize,
    ) -> Vec<Notification> {
        std::thread::sleep(DELIVERY);
        let got = self.webhook.since(mark);
        assert_eq!(got.len(), n, "{phase}: notifications: {got:#?}");
        got
    }

    /// Rewrites the file_sd list to `targets` and waits until Prometheus scrapes exactly
    /// those of `job`, each up.
    pub(crate) fn deploy(&mut self, job: &str, targets: &[SocketAddr]) {
        self.sd.set(targets);
        let mut want: Vec<String> = targets.iter().map(ToString::to_string).collect();
        want.sort();
        wait_for(
            &format!("Prometheus scrapes {want:?}"),
            Duration::from_secs(30),
            || {
                let data = self.prom.api("/api/v1/targets")?;
                let mut up: Vec<String> = data["activeTargets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|t| t["labels"]["job"] == job && t["health"] == "up")
                    .map(|t| t["labels"]["instance"].as_str().unwrap_or("").to_string())
                    .collect();
                up.sort();
                if up == want {
                    Ok(())
                } else {
                    Err(format!("{data}"))
                }
            },
        );
    }

    /// Alertmanager holds `alert` for `identity` and shows it suppressed by an inhibit rule.
    pub(crate) fn assert_inhibited(&mut self, alert: &str, identity: &[(&str, &str)]) {
        wait_for(
            &format!("{alert} for {identity:?} is inhibited"),
            Duration::from_secs(15),
            || {
                let alerts = self.am.alerts()?;
                let mine: Vec<&Value> = alerts
                    .iter()
                    .filter(|a| {
                        a["labels"]["alertname"] == alert
                            && identity.iter().all(|(k, v)| a["labels"][*k] == *v)
                    })
                    .collect();
                match mine.as_slice() {
                    [a] if a["status"]["state"] == "suppressed"
                        && a["status"]["inhibitedBy"]
                            .as_array()
                            .is_some_and(|i| !i.is_empty()) =>
                    {
                        Ok(())
                    }
                    _ => Err(format!("{alerts:#?}")),
                }
            },
        );
    }
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [Need::Program("/usr/bin/amtool")] scenario_alertmanager_configs_pass_amtool,
        every_route_receiver_is_rewritten_and_grouping_kept,
        webhook_payloads_read_as_notifications,
    ]
}

/// The configuration a scenario loads, built from each generated Alertmanager file of K2
/// and the presets, is one Alertmanager accepts.
fn scenario_alertmanager_configs_pass_amtool() {
    let dir = tempfile::tempdir().unwrap();
    let webhook: SocketAddr = ([127, 0, 0, 1], 9).into();
    for (name, source) in crate::common::all_specs()
        .into_iter()
        .filter(|(n, _)| n == "k2" || n.starts_with("preset-"))
    {
        let out = dir.path().join(&name);
        support::emit(&source.text, dir.path(), &out);
        let file = dir.path().join(format!("{name}-alertmanager.yml"));
        std::fs::write(
            &file,
            config(&out.join("alertmanager/connection_pool.yml"), webhook),
        )
        .unwrap();
        support::run_ok(
            Command::new("/usr/bin/amtool")
                .arg("check-config")
                .arg(&file),
            Duration::from_secs(30),
        );
    }
}

fn every_route_receiver_is_rewritten_and_grouping_kept() {
    let mut route: serde_norway::Value = serde_norway::from_str(
        "receiver: team\ngroup_by: [alertname, job]\ngroup_wait: 30s\n\
         routes:\n  - receiver: pager\n    matchers: ['severity=\"critical\"']\n  - matchers: ['x=\"y\"']\n",
    )
    .unwrap();
    assert_eq!(rewrite_receivers(&mut route), 2);
    assert_eq!(route["receiver"], ROUTED);
    assert_eq!(route["routes"][0]["receiver"], ROUTED);
    assert!(route["routes"][1].get("receiver").is_none());
    assert_eq!(route["group_wait"], GROUP_WAIT);
    assert_eq!(
        route["group_by"],
        serde_norway::from_str::<serde_norway::Value>("[alertname, job]").unwrap()
    );
}

fn webhook_payloads_read_as_notifications() {
    let n = Notification::parse(
        r#"{"version":"4","receiver":"poolwatch-webhook","status":"firing",
            "groupLabels":{"job":"app","instance":"a:1"},
            "alerts":[
              {"status":"firing","labels":{"alertname":"ConnectionPoolExhausted","job":"app","instance":"a:1","db_name":"orders"}},
              {"status":"resolved","labels":{"alertname":"ConnectionPoolHighUtilization","job":"app","instance":"a:1","db_name":"orders"}}
            ]}"#,
    )
    .unwrap();
    assert_eq!(n.receiver, ROUTED);
    assert_eq!(n.group_labels["instance"], "a:1");
    assert_eq!(n.firing(), ["ConnectionPoolExhausted"]);
    assert!(n.names(&[("job", "app"), ("db_name", "orders")]));
    assert!(!n.names(&[("db_name", "billing")]));
    assert!(Notification::parse(r#"{"status":"firing"}"#).is_err());
}
