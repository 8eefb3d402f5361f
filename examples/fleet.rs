//! Fleets for benchmarks and scale tests, deterministic for a given size (a small LCG
//! seeded by the size picks the variations):
//!
//! - `cargo run --release --example fleet -- specs 1000 DIR` writes 1,000 service specs of
//!   one to three pools each into DIR (`svc-0000.yaml` ...): a fleet as poolwatch meets it,
//!   many services each with its own spec;
//! - `cargo run --release --example fleet -- pools 1000 > stress.yaml` prints one spec of
//!   1,000 pools, the stress case.
//!
//! Pools use several metric families (K2-style, HikariCP, Go database/sql, pgbouncer-style
//! and service-specific ones), selectors with odd label values (quotes, backslashes,
//! Prometheus template braces, non-ASCII text), kept labels of varying length and per-pool
//! policy overrides.

use std::fmt::Write as _;

/// A minimal linear congruential generator (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// A YAML double-quoted scalar (JSON string escaping is valid YAML).
fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The metric names of one family, by role.
struct Family {
    size: String,
    active: String,
    available: String,
    wait_time: String,
    timeouts: String,
    creation_errors: String,
    query_duration: String,
}

impl Family {
    fn new(prefix: &str, names: [&str; 7]) -> Self {
        let n = |s: &str| format!("{prefix}{s}");
        Self {
            size: n(names[0]),
            active: n(names[1]),
            available: n(names[2]),
            wait_time: n(names[3]),
            timeouts: n(names[4]),
            creation_errors: n(names[5]),
            query_duration: n(names[6]),
        }
    }

    fn catalog(&self, out: &mut String) {
        let entries = [
            (&self.size, "gauge", "connections", "Configured pool size."),
            (&self.active, "gauge", "connections", "Connections in use."),
            (&self.available, "gauge", "connections", "Idle connections."),
            (
                &self.wait_time,
                "histogram",
                "seconds",
                "Time to acquire a connection.",
            ),
            (
                &self.timeouts,
                "counter",
                "events",
                "Acquisitions that timed out.",
            ),
            (
                &self.creation_errors,
                "counter",
                "events",
                "Failed connection opens.",
            ),
            (
                &self.query_duration,
                "histogram",
                "seconds",
                "Query duration.",
            ),
        ];
        for (name, kind, unit, help) in entries {
            let _ = writeln!(
                out,
                "  - {{ name: {name}, type: {kind}, unit: {unit}, labels: [{SELECTOR_LABELS}], \
                 help: {} }}",
                q(help)
            );
        }
    }
}

/// The labels pool selectors read (see `pool`): every metric declares them, as a spec must
/// for each label its selectors name (PW016).
const SELECTOR_LABELS: &str = "service, namespace, env, pool";

const K2: [&str; 7] = [
    "connection_pool_size",
    "connection_pool_active_connections",
    "connection_pool_available_connections",
    "connection_pool_wait_time_seconds",
    "connection_pool_acquisition_timeouts_total",
    "connection_pool_creation_errors_total",
    "query_duration_seconds",
];
const HIKARI: [&str; 7] = [
    "connections_max",
    "connections_active",
    "connections_idle",
    "connections_acquire_seconds",
    "connections_timeout_total",
    "connections_creation_errors_total",
    "connections_usage_seconds",
];
const GO_SQL: [&str; 7] = [
    "max_open_connections",
    "in_use_connections",
    "idle_connections",
    "wait_duration_seconds",
    "wait_timeouts_total",
    "open_errors_total",
    "query_duration_seconds",
];
const PGBOUNCER: [&str; 7] = [
    "pool_size",
    "pool_server_active_connections",
    "pool_server_idle_connections",
    "pool_client_wait_seconds",
    "pool_client_timeouts_total",
    "pool_server_login_errors_total",
    "pool_query_seconds",
];

/// Label values that exercise escaping in PromQL, YAML, JSON and Prometheus templates.
const ODD_VALUES: [&str; 8] = [
    "prod",
    "eu-west-1",
    "team \"payments\"",
    r"C:\pools\main",
    "{{ $labels.job }}",
    "zürich-ünïcode",
    "a,b=c}",
    "line\nbreak",
];
const NAMESPACES: [&str; 5] = ["default", "payments", "search", "billing", "kube-system"];
const KEEP: [&[&str]; 4] = [
    &[],
    &["namespace"],
    &["namespace", "instance"],
    &["cluster", "namespace", "instance"],
];
const COLORS: [&str; 4] = ["red", "dark-red", "orange", "semi-dark-orange"];
const FORS: [&str; 5] = ["1m", "2m", "5m", "10m", "15m"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = |s: &String| s.parse::<usize>().ok().filter(|n| *n > 0);
    match args.as_slice() {
        [kind, size] if kind == "pools" && n(size).is_some() => {
            print!("{}", stress_spec(n(size).unwrap_or(1)));
        }
        [kind, size, dir] if kind == "specs" && n(size).is_some() => {
            let dir = std::path::Path::new(dir);
            let written = std::fs::create_dir_all(dir).and_then(|()| {
                service_specs(n(size).unwrap_or(1))
                    .iter()
                    .try_for_each(|(name, text)| std::fs::write(dir.join(name), text))
            });
            if let Err(e) = written {
                eprintln!("fleet: cannot write into {}: {e}", dir.display());
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("usage: fleet pools N > spec.yaml   (one spec of N pools)");
            eprintln!("       fleet specs N DIR          (N service specs of 1 to 3 pools)");
            std::process::exit(2);
        }
    }
}

/// The shared metric families, and one service-specific family per `own` block.
fn families(own: usize) -> (Vec<Family>, Vec<Family>) {
    let shared = vec![
        Family::new("k2_", K2),
        Family::new("hikaricp_", HIKARI),
        Family::new("go_sql_", GO_SQL),
        Family::new("pgbouncer_", PGBOUNCER),
    ];
    let own = (0..own)
        .map(|i| Family::new(&format!("svc{i:03}_"), K2))
        .collect();
    (shared, own)
}

/// Pool `i`'s family: one in five pools has a service-specific one (one family per 25
/// pools), the others one of the shared families.
fn family<'a>(i: usize, shared: &'a [Family], own: &'a [Family]) -> &'a Family {
    if i % 5 == 4 {
        &own[i / 25]
    } else {
        &shared[i % 5]
    }
}

fn header(out: &mut String, name: &str, title: &str) {
    let _ = write!(
        out,
        "version: 1\nname: {name}\ntitle: {}\n\
         runbook_url: https://runbooks.example.com/platform/connection-pools.md\n\
         severities: [info, warning, high, critical]\nrate_window: 5m\ncatalog:\n",
        q(title)
    );
}

fn footer(out: &mut String) {
    out.push_str(DEFAULT_POLICIES);
    out.push_str("dashboard: { base_color: green, refresh: 1m, time_from: 12h }\n");
}

/// One spec of `n` pools, as YAML text: the stress case.
pub fn stress_spec(n: usize) -> String {
    let mut rng = Lcg(n as u64);
    let (shared, own) = families(n.div_ceil(25));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `cargo run --release --example fleet -- pools {n}`: {n} pools."
    );
    header(&mut out, "fleet", "Platform fleet");
    for f in shared.iter().chain(&own) {
        f.catalog(&mut out);
    }
    out.push_str("pools:\n");
    for i in 0..n {
        pool(&mut out, &mut rng, i, family(i, &shared, &own));
    }
    footer(&mut out);
    out
}

/// `n` service specs of one to three pools each, as (file name, YAML text). Pools are
/// numbered across the fleet, so every pool name and service selector is unique.
pub fn service_specs(n: usize) -> Vec<(String, String)> {
    let mut rng = Lcg(n as u64);
    let mut sizes = Vec::with_capacity(n);
    for _ in 0..n {
        sizes.push(1 + rng.below(3));
    }
    let pools: usize = sizes.iter().sum();
    let (shared, own) = families(pools.div_ceil(25));
    let mut next = 0;
    sizes
        .iter()
        .enumerate()
        .map(|(s, size)| {
            let name = format!("svc-{s:04}");
            let mut out = String::new();
            let _ = writeln!(
                out,
                "# Generated by `cargo run --release --example fleet -- specs {n} DIR`."
            );
            header(&mut out, &name, &format!("Service {s}"));
            let used: Vec<&Family> = (next..next + size)
                .map(|i| family(i, &shared, &own))
                .collect();
            let mut listed: Vec<&str> = Vec::new();
            for f in &used {
                if !listed.contains(&f.size.as_str()) {
                    listed.push(&f.size);
                    f.catalog(&mut out);
                }
            }
            out.push_str("pools:\n");
            for (i, f) in (next..next + size).zip(used) {
                pool(&mut out, &mut rng, i, f);
            }
            next += size;
            footer(&mut out);
            (format!("{name}.yaml"), out)
        })
        .collect()
}

fn pool(out: &mut String, rng: &mut Lcg, i: usize, f: &Family) {
    let service = format!("svc-{i:04}");
    let _ = writeln!(
        out,
        "  - name: {service}-{}",
        ["main", "replica", "batch"][i % 3]
    );
    let odd = rng.pick(&ODD_VALUES);
    let _ = writeln!(
        out,
        "    title: {}",
        q(&format!("Service {i} pool ({odd})"))
    );
    let _ = write!(out, "    selector: {{ service: {}", q(&service));
    if rng.below(2) == 0 {
        let _ = write!(out, ", namespace: {}", q(rng.pick(&NAMESPACES)));
    }
    if rng.below(3) == 0 {
        let _ = write!(out, ", env: {}", q(odd));
    }
    if i % 5 == 1 {
        let _ = write!(out, ", pool: {}", q(&format!("HikariPool-{}", 1 + i % 4)));
    }
    out.push_str(" }\n");
    let keep = rng.pick(&KEEP);
    let _ = writeln!(out, "    keep_labels: [{}]", keep.join(", "));
    let _ = writeln!(
        out,
        "    metrics:\n      size: {}\n      active: {}\n      available: {}\n      \
         wait_time: {}\n      acquisition_timeouts: {}\n      creation_errors: {}\n      \
         query_duration: {}",
        f.size, f.active, f.available, f.wait_time, f.timeouts, f.creation_errors, f.query_duration
    );
    let mut overrides = String::new();
    if rng.below(3) == 0 {
        let warn = 0.6 + 0.05 * rng.below(6) as f64;
        let crit = warn + 0.05 + 0.01 * rng.below(5) as f64;
        let _ = write!(
            overrides,
            "      utilization:\n        levels:\n          \
             - {{ value: {warn:.2}, color: {}, severity: warning, for: {} }}\n          \
             - {{ value: {crit:.2}, color: dark-red, severity: critical, for: {} }}\n",
            rng.pick(&COLORS),
            rng.pick(&FORS),
            rng.pick(&FORS)
        );
    }
    if rng.below(4) == 0 {
        let v = [0.25, 0.5, 1.0, 2.0, 3.0][rng.below(5)];
        let _ = write!(
            overrides,
            "      wait_time_p99:\n        levels:\n          \
             - {{ value: {v}, color: yellow }}\n          \
             - {{ value: {}, color: red, severity: high, for: {} }}\n",
            v * 4.0,
            rng.pick(&FORS)
        );
    }
    if rng.below(5) == 0 {
        let _ = write!(
            overrides,
            "      query_duration_p99:\n        levels:\n          \
             - {{ value: {}, color: red, severity: warning, for: {} }}\n",
            [1, 2, 5, 30][rng.below(4)],
            rng.pick(&FORS)
        );
    }
    if rng.below(6) == 0 {
        let _ = write!(
            overrides,
            "      absent:\n        severity: {}\n        for: {}\n",
            ["warning", "critical"][rng.below(2)],
            rng.pick(&FORS)
        );
    }
    if !overrides.is_empty() {
        out.push_str("    policies:\n");
        out.push_str(&overrides);
    }
}

const DEFAULT_POLICIES: &str = "\
policies:
  utilization:
    levels:
      - { value: 0.7, color: yellow }
      - { value: 0.9, color: red, severity: warning, for: 5m }
  acquisition_timeouts:
    levels:
      - { value: 0, color: red, severity: high, for: 2m }
  creation_errors:
    levels:
      - { value: 0, color: red, severity: critical, for: 1m }
  wait_time_p99:
    levels:
      - { value: 1, color: yellow }
      - { value: 5, color: red, severity: warning, for: 5m }
  query_duration_p99:
    levels:
      - { value: 10, color: red, severity: warning, for: 5m }
  exhausted:
    levels:
      - { value: 0, color: red, severity: warning, for: 5m }
  absent:
    severity: warning
    for: 10m
";
