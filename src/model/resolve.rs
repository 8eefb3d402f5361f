//! Lowers a raw spec into a [`Model`], collecting every finding instead of stopping at the first.

mod receivers;

use std::collections::BTreeSet;

use super::{
    Absence, AbsentPolicy, AlertLevel, Capacity, Catalog, Comparison, DashboardOptions, Deploy,
    Level, Metric, Model, Operator, Policies, Policy, Pool, PromDuration, Role, Roles, Signal,
    Suppression, Targets, ValueUnit, Wording,
};
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Sources, Span};
use crate::spec::{
    self, RawEnvironment, RawLevel, RawPolicies, RawPolicy, RawSpec, S, SPEC_VERSION,
};

pub(crate) const VERSION: Code = Code {
    code: "PW002",
    name: "unsupported-version",
};
pub(crate) const INVALID_NAME: Code = Code {
    code: "PW003",
    name: "invalid-name",
};
pub(crate) const DUPLICATE: Code = Code {
    code: "PW004",
    name: "duplicate-definition",
};
pub(crate) const UNKNOWN_METRIC: Code = Code {
    code: "PW005",
    name: "unknown-catalog-metric",
};
pub(crate) const ROLE_MISMATCH: Code = Code {
    code: "PW006",
    name: "role-type-mismatch",
};
pub(crate) const THRESHOLD: Code = Code {
    code: "PW007",
    name: "invalid-threshold",
};
pub(crate) const DURATION: Code = Code {
    code: "PW008",
    name: "invalid-duration",
};
pub(crate) const SEVERITY: Code = Code {
    code: "PW009",
    name: "unknown-severity",
};
pub(crate) const INVALID_VALUE: Code = Code {
    code: "PW010",
    name: "invalid-value",
};
pub(crate) const UNKNOWN_ENV: Code = Code {
    code: "PW012",
    name: "unknown-environment",
};
pub(crate) const IDENTITY: Code = Code {
    code: "PW014",
    name: "identity-label-not-carried",
};
pub(crate) const UNREACHABLE: Code = Code {
    code: "PW015",
    name: "unreachable-threshold",
};

const DEFAULT_SEVERITIES: [&str; 3] = ["info", "warning", "critical"];

/// Resolves a raw spec, with an environment's overlay applied when `env` names one.
/// Returns the model, or every error-level finding.
pub(crate) fn resolve(
    raw: &RawSpec,
    sources: &Sources,
    file: FileId,
    env: Option<&str>,
) -> Result<Model, Vec<Diagnostic>> {
    let mut resolver = Resolver {
        sources,
        file,
        diags: Vec::new(),
    };
    let overlay = match env {
        None => None,
        Some(name) => match raw.environments.get(name) {
            Some(e) => Some((name, &e.value)),
            None => return Err(vec![unknown_env(raw, name)]),
        },
    };
    let mut model = resolver.spec(raw, overlay.map(|(_, e)| e));
    model.environment = overlay.map(|(n, _)| n.to_string());
    if resolver.diags.is_empty() {
        Ok(model)
    } else {
        Err(resolver.diags)
    }
}

fn unknown_env(raw: &RawSpec, name: &str) -> Diagnostic {
    let d = Diagnostic::error(
        UNKNOWN_ENV,
        format!("the spec declares no environment `{name}`"),
    );
    match did_you_mean(name, raw.environments.keys().map(String::as_str)) {
        Some(m) => d.help(format!("did you mean `{m}`?")),
        None if raw.environments.is_empty() => {
            d.help("declare it under `environments:` in the spec")
        }
        None => d.help(format!(
            "declared environments: {}",
            raw.environments
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The state of one spec's resolution: where its text is, and every finding so far.
struct Resolver<'a> {
    sources: &'a Sources,
    file: FileId,
    diags: Vec<Diagnostic>,
}

/// Whether `s` is a valid Prometheus metric name.
pub(crate) fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `s` is a valid Prometheus label name (and not a reserved `__` name).
pub(crate) fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

/// Whether `s` is a name poolwatch can use in uids and as a label value: lower-case
/// letters, digits, `_` and `-`, starting with a letter.
pub(crate) fn is_slug(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && s.len() <= 63
}

/// A DNS-1123 label: what Kubernetes accepts as a namespace or object name.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Kubernetes label key: an optional DNS prefix and `/`, then a name of at most 63
/// characters of letters, digits, `-`, `_` and `.`, starting and ending alphanumeric.
pub(crate) fn is_k8s_label_key(s: &str) -> bool {
    let name = s.rsplit_once('/').map_or(s, |(prefix, name)| {
        if prefix.is_empty() || prefix.len() > 253 {
            ""
        } else {
            name
        }
    });
    !name.is_empty() && is_k8s_label_value(name)
}

/// A Kubernetes label value: empty, or at most 63 characters of letters, digits, `-`, `_`
/// and `.`, starting and ending alphanumeric.
pub(crate) fn is_k8s_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Grafana's named colours (with the `dark-`, `semi-dark-`, `light-`, `super-light-` shades)
/// or a `#rrggbb` hex colour.
pub(crate) fn is_color(s: &str) -> bool {
    const BASE: [&str; 7] = ["green", "red", "yellow", "orange", "blue", "purple", "text"];
    if let Some(hex) = s.strip_prefix('#') {
        return (hex.len() == 6 || hex.len() == 3) && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if s == "transparent" {
        return true;
    }
    let base = ["dark-", "semi-dark-", "light-", "super-light-"]
        .iter()
        .find_map(|p| s.strip_prefix(p))
        .unwrap_or(s);
    BASE.contains(&base)
}

pub(crate) use crate::diag::did_you_mean;

impl Resolver<'_> {
    fn span<T>(&self, v: &S<T>) -> Option<Span> {
        spec::span(self.sources, self.file, v)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn spec(&mut self, raw: &RawSpec, env: Option<&RawEnvironment>) -> Model {
        if raw.version.value != SPEC_VERSION {
            let d = Diagnostic::error(
                VERSION,
                format!(
                    "spec version {} is not supported; this poolwatch reads version {SPEC_VERSION}",
                    raw.version.value
                ),
            )
            .at(self.span(&raw.version))
            .label("unsupported version");
            self.push(d);
        }
        if !is_slug(&raw.name.value) {
            let d = Diagnostic::error(
                INVALID_NAME,
                format!("spec name `{}` is not a valid name", raw.name.value),
            )
            .at(self.span(&raw.name))
            .label("expected lower-case letters, digits, `_` or `-`, starting with a letter")
            .help(
                "the name is used in the dashboard uid; use something like `k2` or `billing-api`",
            );
            self.push(d);
        }
        let runbook_url = raw.runbook_url.value.trim().to_string();
        if runbook_url.is_empty() || runbook_url.chars().any(char::is_whitespace) {
            let d = Diagnostic::error(INVALID_VALUE, "runbook_url must be a URL without spaces")
                .at(self.span(&raw.runbook_url))
                .label("not a URL");
            self.push(d);
        }

        let severities = self.severities(raw);
        let rate_window = match &raw.rate_window {
            Some(w) => self.duration(w, false),
            None => PromDuration::from_secs(300),
        };
        let pool_label = match &raw.pool_label {
            Some(l) => {
                self.label_name(l);
                l.value.clone()
            }
            None => "pool".to_string(),
        };
        let catalog = self.catalog(raw);
        let mut defaults = self.policies(&raw.policies, &severities, None);
        if let Some(over) = env.and_then(|e| e.policies.as_ref()) {
            defaults = self.policies(over, &severities, Some(&defaults));
        }
        for (name, e) in &raw.environments {
            if !is_slug(name) {
                let d = Diagnostic::error(
                    INVALID_NAME,
                    format!("environment name `{name}` is not a valid name"),
                )
                .at(self.span(e))
                .label(
                    "expected lower-case letters, digits, `_` or `-`: it names an output folder",
                );
                self.push(d);
            }
        }
        let capacity = self.capacity(raw, env, &severities);

        let mut pools = Vec::new();
        let mut pool_names = BTreeSet::new();
        if raw.pools.is_empty() {
            self.push(
                Diagnostic::error(INVALID_VALUE, "the spec declares no pool")
                    .help("add an entry under `pools:` naming the catalog metric of each role"),
            );
        }
        for rp in &raw.pools {
            if !pool_names.insert(rp.name.value.clone()) {
                let d = Diagnostic::error(
                    DUPLICATE,
                    format!("pool `{}` is declared twice", rp.name.value),
                )
                .at(self.span(&rp.name))
                .label("second declaration");
                self.push(d);
            }
            pools.push(self.pool(
                rp,
                &catalog,
                &defaults,
                &severities,
                &pool_label,
                &raw.labels,
            ));
        }

        let dash = raw.dashboard.as_ref();
        let base_color = dash
            .and_then(|d| d.base_color.as_ref())
            .map_or_else(|| "green".to_string(), |c| self.color(c));
        let refresh = dash.and_then(|d| d.refresh.as_ref()).map_or_else(
            || "30s".to_string(),
            |r| self.duration(r, false).to_string(),
        );
        let time_from = dash
            .and_then(|d| d.time_from.as_ref())
            .map_or_else(|| "6h".to_string(), |r| self.duration(r, false).to_string());

        let deploy = self.deploy(raw, &severities);

        Model {
            source_name: String::new(),
            name: raw.name.value.clone(),
            title: raw
                .title
                .as_ref()
                .map_or_else(|| raw.name.value.clone(), |t| t.value.clone()),
            runbook_url,
            severities,
            rate_window,
            pool_label,
            catalog,
            pools,
            dashboard: DashboardOptions {
                base_color,
                refresh,
                time_from,
            },
            deploy,
            environment: None,
            environments: raw.environments.keys().cloned().collect(),
            capacity,
            lint_ignores: self.lint_ignores(raw),
            wording: self.wording(raw),
        }
    }

    fn bytes(&mut self, v: &S<String>) -> u64 {
        match v.value.trim().parse::<bytesize::ByteSize>() {
            Ok(b) if b.as_u64() > 0 => b.as_u64(),
            _ => {
                let d =
                    Diagnostic::error(INVALID_VALUE, format!("`{}` is not a memory size", v.value))
                        .at(self.span(v))
                        .label("expected a size like `50MB`, `2.5GB` or `512MiB`");
                self.push(d);
                1
            }
        }
    }

    fn capacity(
        &mut self,
        raw: &RawSpec,
        env: Option<&RawEnvironment>,
        severities: &[String],
    ) -> Option<Capacity> {
        let c = &raw.capacity.as_ref()?.value;
        let memory_per_connection = self.bytes(&c.memory_per_connection);
        let budget = env
            .and_then(|e| e.memory_budget.as_ref())
            .or(c.memory_budget.as_ref());
        let memory_budget = budget.map(|b| self.bytes(b));
        let expected_pool_size = env
            .and_then(|e| e.expected_pool_size.as_ref())
            .or(c.expected_pool_size.as_ref())
            .map(|s| s.value);
        let headroom = c.headroom.as_ref().map_or(1.2, |h| {
            if !(h.value.is_finite() && h.value >= 1.0 && h.value <= 10.0) {
                let d = Diagnostic::error(THRESHOLD, "headroom must be a factor from 1 to 10")
                    .at(self.span(h))
                    .label("1.2 adds the runbook's 20% buffer");
                self.push(d);
            }
            h.value
        });
        let peak_quantile = c.peak_quantile.as_ref().map_or(0.99, |q| {
            if !(q.value.is_finite() && q.value > 0.0 && q.value <= 1.0) {
                let d = Diagnostic::error(THRESHOLD, "peak_quantile must be in (0, 1]")
                    .at(self.span(q));
                self.push(d);
            }
            q.value
        });
        let peak_window = c
            .peak_window
            .as_ref()
            .map_or(PromDuration::from_secs(86_400), |w| self.duration(w, false));
        let undersized = c.undersized.as_ref().map(|u| AbsentPolicy {
            severity: self.severity(&u.value.severity, severities),
            for_: self.duration(&u.value.for_, true),
            span: self.span(u),
        });
        Some(Capacity {
            memory_per_connection,
            memory_budget,
            expected_pool_size,
            headroom,
            peak_quantile,
            peak_window,
            undersized,
        })
    }

    fn deploy(&mut self, raw: &RawSpec, severities: &[String]) -> Deploy {
        let d = raw.deploy.as_ref();
        let operator = d.and_then(|d| d.operator.as_ref()).map(|op| {
            let o = &op.value;
            for (k, v) in &o.labels {
                if !is_k8s_label_key(k) {
                    let d = Diagnostic::error(
                        INVALID_NAME,
                        format!("`{k}` is not a valid Kubernetes label key"),
                    )
                    .at(self.span(v));
                    self.push(d);
                }
                if !is_k8s_label_value(&v.value) {
                    let d = Diagnostic::error(
                        INVALID_VALUE,
                        format!("`{}` is not a valid Kubernetes label value", v.value),
                    )
                    .at(self.span(v))
                    .label("at most 63 characters: letters, digits, `-`, `_`, `.`");
                    self.push(d);
                }
            }
            if o.labels.is_empty() {
                let d = Diagnostic::error(
                    INVALID_VALUE,
                    "a PrometheusRule needs the labels your Prometheus's `ruleSelector` matches",
                )
                .at(self.span(op))
                .help("without them the rules are silently never loaded; e.g. `labels: {release: kube-prometheus-stack}`");
                self.push(d);
            }
            let name = o.name.as_ref().map_or_else(
                || format!("{}-connection-pool", raw.name.value.replace('_', "-")),
                |n| n.value.clone(),
            );
            for (what, v) in [("namespace", o.namespace.value.as_str()), ("name", name.as_str())] {
                if !is_dns_label(v) {
                    let d = Diagnostic::error(
                        INVALID_NAME,
                        format!("PrometheusRule {what} `{v}` is not a valid Kubernetes name"),
                    )
                    .at(self.span(op))
                    .label("lower-case letters, digits and `-`, at most 63 characters");
                    self.push(d);
                }
            }
            Operator {
                name,
                namespace: o.namespace.value.clone(),
                labels: o
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect(),
            }
        });
        let mimir_namespace = d
            .and_then(|d| d.mimir.as_ref())
            .map_or_else(|| raw.name.value.clone(), |m| m.namespace.value.clone());
        let grafana = d.and_then(|d| d.grafana.as_ref());
        let receivers = self.receivers(d.and_then(|d| d.alertmanager.as_ref()), severities);
        Deploy {
            operator,
            mimir_namespace,
            receivers,
            grafana_folder: grafana
                .and_then(|g| g.folder.as_ref())
                .map_or_else(|| "Connection pools".to_string(), |f| f.value.clone()),
            grafana_path: grafana.and_then(|g| g.path.as_ref()).map_or_else(
                || "/var/lib/grafana/dashboards/poolwatch".to_string(),
                |p| p.value.clone(),
            ),
        }
    }

    /// The wording; template overrides must name a known alert key (compiled with the
    /// built-in templates, where a syntax error is reported).
    fn wording(&mut self, raw: &RawSpec) -> Wording {
        let Some(w) = &raw.wording else {
            return Wording::default();
        };
        let mut templates = std::collections::BTreeMap::new();
        let keys: Vec<&str> = Signal::THRESHOLDED
            .iter()
            .chain(&[Signal::Absent, Signal::Undersized])
            .map(|s| s.key())
            .collect();
        for (k, v) in &w.templates {
            if !keys.contains(&k.as_str()) {
                let mut d = Diagnostic::error(
                    INVALID_NAME,
                    format!("`{k}` is not an alert key a template can override"),
                )
                .at(self.span(v))
                .help(format!("alert keys: {}", keys.join(", ")));
                if let Some(m) = did_you_mean(k, keys.iter().copied()) {
                    d = d.help(format!("did you mean `{m}`?"));
                }
                self.push(d);
                continue;
            }
            templates.insert(k.clone(), v.value.clone());
        }
        Wording {
            size_setting: w
                .size_setting
                .as_ref()
                .map(|s| s.value.trim().to_string())
                .unwrap_or_default(),
            templates,
        }
    }

    /// The spec's suppressions; their codes and rule names are checked with the rules.
    fn lint_ignores(&self, raw: &RawSpec) -> Vec<Suppression> {
        raw.lint
            .iter()
            .flat_map(|l| &l.ignore)
            .map(|i| Suppression {
                rule: i.rule.value.clone(),
                code: i.code.value.trim().to_string(),
                reason: i.reason.value.trim().to_string(),
                span: self.span(&i.code),
            })
            .collect()
    }

    fn severities(&mut self, raw: &RawSpec) -> Vec<String> {
        let Some(list) = &raw.severities else {
            return DEFAULT_SEVERITIES.iter().map(|s| s.to_string()).collect();
        };
        let mut out = Vec::new();
        for s in list {
            if !is_slug(&s.value) {
                let d = Diagnostic::error(
                    INVALID_NAME,
                    format!("severity `{}` is not a valid name", s.value),
                )
                .at(self.span(s))
                .label("expected lower-case letters, digits, `_` or `-`");
                self.push(d);
            } else if out.contains(&s.value) {
                let d =
                    Diagnostic::error(DUPLICATE, format!("severity `{}` is listed twice", s.value))
                        .at(self.span(s));
                self.push(d);
            } else {
                out.push(s.value.clone());
            }
        }
        out
    }

    fn catalog(&mut self, raw: &RawSpec) -> Catalog {
        let mut catalog = Catalog::default();
        for m in &raw.catalog {
            let name = &m.name.value;
            if !is_metric_name(name) {
                let d = Diagnostic::error(
                    INVALID_NAME,
                    format!("`{name}` is not a valid Prometheus metric name"),
                )
                .at(self.span(&m.name))
                .label("expected [a-zA-Z_:][a-zA-Z0-9_:]*");
                self.push(d);
                continue;
            }
            for suffix in ["_bucket", "_sum", "_count"] {
                if m.kind.value == spec::MetricKind::Histogram && name.ends_with(suffix) {
                    let d = Diagnostic::error(
                        INVALID_NAME,
                        format!("histogram `{name}` is named with its `{suffix}` series"),
                    )
                    .at(self.span(&m.name))
                    .help(format!(
                        "name the histogram itself: `{}`",
                        name.trim_end_matches(suffix)
                    ));
                    self.push(d);
                }
            }
            let mut labels: Vec<String> = Vec::new();
            for l in &m.labels {
                if self.label_name(l) && !labels.contains(&l.value) {
                    labels.push(l.value.clone());
                }
            }
            let buckets = m.buckets.as_ref().map(|b| self.buckets(m, b));
            let metric = Metric {
                name: name.clone(),
                kind: m.kind.value,
                unit: m.unit.value,
                help: m.help.value.trim().to_string(),
                labels,
                buckets,
            };
            if !catalog.insert(metric) {
                let d = Diagnostic::error(
                    DUPLICATE,
                    format!("metric `{name}` is declared twice in the catalog"),
                )
                .at(self.span(&m.name))
                .label("second declaration");
                self.push(d);
            }
        }
        catalog
    }

    /// A histogram's bucket bounds: finite, ascending, on a histogram.
    fn buckets(&mut self, m: &spec::RawMetric, b: &S<Vec<S<f64>>>) -> Vec<f64> {
        if m.kind.value != spec::MetricKind::Histogram {
            let d = Diagnostic::error(
                INVALID_VALUE,
                format!(
                    "`{}` is a {}: only a histogram has buckets",
                    m.name.value, m.kind.value
                ),
            )
            .at(self.span(b));
            self.push(d);
        }
        if b.value.is_empty() {
            let d = Diagnostic::error(
                INVALID_VALUE,
                "a histogram needs at least one finite bucket",
            )
            .at(self.span(b));
            self.push(d);
        }
        let mut out: Vec<f64> = Vec::new();
        for v in &b.value {
            if !v.value.is_finite() {
                let d =
                    Diagnostic::error(INVALID_VALUE, "bucket bounds are finite; `+Inf` is implied")
                        .at(self.span(v));
                self.push(d);
                continue;
            }
            if out.last().is_some_and(|p| *p >= v.value) {
                let d = Diagnostic::error(INVALID_VALUE, "bucket bounds must be ascending")
                    .at(self.span(v))
                    .label(format!(
                        "{} follows {}",
                        crate::conventions::number(v.value),
                        crate::conventions::number(out.last().copied().unwrap_or_default())
                    ));
                self.push(d);
                continue;
            }
            out.push(v.value);
        }
        out
    }

    fn label_name(&mut self, l: &S<String>) -> bool {
        if is_label_name(&l.value) {
            return true;
        }
        let d = Diagnostic::error(
            INVALID_NAME,
            format!("`{}` is not a valid Prometheus label name", l.value),
        )
        .at(self.span(l))
        .label("expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with `__`");
        self.push(d);
        false
    }

    fn pool(
        &mut self,
        rp: &spec::RawPool,
        catalog: &Catalog,
        defaults: &Policies,
        severities: &[String],
        pool_label: &str,
        spec_labels: &std::collections::BTreeMap<String, S<String>>,
    ) -> Pool {
        if !is_slug(&rp.name.value) {
            let d = Diagnostic::error(
                INVALID_NAME,
                format!("pool name `{}` is not a valid name", rp.name.value),
            )
            .at(self.span(&rp.name))
            .label("expected lower-case letters, digits, `_` or `-`, starting with a letter");
            self.push(d);
        }
        let mut selector = Vec::new();
        for (k, v) in &rp.selector {
            if !is_label_name(k) {
                let d = Diagnostic::error(
                    INVALID_NAME,
                    format!("selector label `{k}` is not a valid Prometheus label name"),
                )
                .at(self.span(v))
                .object(format!("pool {}", rp.name.value));
                self.push(d);
            }
            if v.value.contains('\u{FFFD}') {
                // Prometheus reads U+FFFD back as a decoding error when it re-parses a query.
                let d = Diagnostic::error(
                    INVALID_VALUE,
                    format!("selector value of `{k}` contains U+FFFD (the replacement character)"),
                )
                .at(self.span(v))
                .label("Prometheus cannot query this value")
                .help("this usually means the text was mis-decoded; write the intended characters");
                self.push(d);
            }
            selector.push((k.clone(), v.value.clone()));
        }
        let keep = self.grouping_labels(&rp.keep_labels, pool_label, "a kept label", "kept");
        let identity = self.identity(rp, pool_label);
        let mut labels: Vec<(String, String)> = Vec::new();
        for (k, v) in spec_labels.iter().chain(&rp.labels) {
            if !self.static_label(k, v, pool_label, &identity) {
                continue;
            }
            labels.retain(|(lk, _)| lk != k);
            labels.push((k.clone(), v.value.clone()));
        }
        labels.sort();
        let r = &rp.metrics;
        let mut bound: Vec<(Role, &S<spec::RawBinding>)> =
            vec![(Role::Size, &r.size), (Role::Active, &r.active)];
        for (role, b) in [
            (Role::Available, &r.available),
            (Role::WaitTime, &r.wait_time),
            (Role::AcquisitionTimeouts, &r.acquisition_timeouts),
            (Role::CreationErrors, &r.creation_errors),
            (Role::QueryDuration, &r.query_duration),
            (Role::Waiting, &r.waiting),
            (Role::WaitCount, &r.wait_count),
            (Role::WaitDuration, &r.wait_duration),
            (Role::MaxWait, &r.max_wait),
        ] {
            if let Some(b) = b {
                bound.push((role, b));
            }
        }
        let mut names: Vec<(Role, String)> = Vec::new();
        let mut matches = Vec::new();
        let mut coverage = Vec::new();
        for (role, b) in bound {
            let name = self.role(b, role, catalog);
            if let Some(metric) = catalog.get(&name) {
                let covered = self.coverage(rp, role, b, metric, &identity, &keep);
                coverage.push((role, covered));
            }
            if !b.value.matches.is_empty() {
                matches.push((role, b.value.matches.clone()));
            }
            names.push((role, name));
        }
        let get = |role: Role| {
            names
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, n)| n.clone())
        };
        let roles = Roles::from_fn(get, matches);
        let mut policies = match &rp.policies {
            Some(over) => self.policies(over, severities, Some(defaults)),
            None => defaults.clone(),
        };
        // A signal whose metric this pool lacks has no alert for it.
        policies.thresholds.retain(|p| roles.supports(p.signal));
        self.reachable(rp, &roles, &policies, catalog);
        self.absence_targets(rp, &identity, &policies);
        Pool {
            name: rp.name.value.clone(),
            title: rp
                .title
                .as_ref()
                .map_or_else(|| rp.name.value.clone(), |t| t.value.clone()),
            selector,
            keep_labels: keep,
            identity,
            labels,
            coverage,
            roles,
            policies,
            span: self.span(&rp.name),
        }
    }

    /// The absence alert joins the scrape's `up` on `(job, instance)`: both must be identity
    /// labels, or the join matches nothing and a target that stopped exporting never pages.
    fn absence_targets(&mut self, rp: &spec::RawPool, identity: &[String], policies: &Policies) {
        let Some(absence) = policies
            .absent
            .as_ref()
            .filter(|a| a.targets == Targets::Up)
        else {
            return;
        };
        let missing: Vec<&str> = super::TARGET_LABELS
            .into_iter()
            .filter(|l| !identity.iter().any(|i| i == l))
            .collect();
        if missing.is_empty() {
            return;
        }
        let mut d = Diagnostic::error(
            IDENTITY,
            format!(
                "the absence alert of pool `{}` reads the scrape's `up` by (job, instance), \
                 but its identity lacks {}",
                rp.name.value,
                missing
                    .iter()
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        )
        .object(format!("pool {}", rp.name.value))
        .help(
            "add `job` and `instance` to `identity`, or set `policies.absent.targets: none` \
             (an instance that stops exporting then pages, a replaced one too)",
        );
        d = match rp.identity.as_ref() {
            Some(i) => d.at(self.span(i)),
            None => d.at(absence.policy.span.clone()),
        };
        self.push(d);
    }

    /// The pool's identity labels (default: the scrape target's `job` and `instance`).
    fn identity(&mut self, rp: &spec::RawPool, pool_label: &str) -> Vec<String> {
        match &rp.identity {
            None => super::TARGET_LABELS.iter().map(|l| l.to_string()).collect(),
            Some(list) => self.grouping_labels(
                &list.value,
                pool_label,
                "an identity label",
                "an identity label",
            ),
        }
    }

    /// Labels a pool's rules group by (`identity`, `keep_labels`): valid, distinct, and
    /// neither `le` nor the pool label. `what` names one in errors ("a kept label"), `twice`
    /// says how it repeats ("kept": "label `x` is kept twice").
    fn grouping_labels(
        &mut self,
        list: &[S<String>],
        pool_label: &str,
        what: &str,
        twice: &str,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for l in list {
            if !self.label_name(l) {
                continue;
            }
            if l.value == "le" || l.value == pool_label {
                let d = Diagnostic::error(INVALID_NAME, format!("`{}` cannot be {what}", l.value))
                    .at(self.span(l))
                    .label(if l.value == "le" {
                        "`le` is the histogram bucket label; quantiles aggregate it away"
                    } else {
                        "this is the pool label poolwatch sets on every rule"
                    });
                self.push(d);
                continue;
            }
            if out.contains(&l.value) {
                let d =
                    Diagnostic::error(DUPLICATE, format!("label `{}` is {twice} twice", l.value))
                        .at(self.span(l));
                self.push(d);
                continue;
            }
            out.push(l.value.clone());
        }
        out
    }

    /// A static alert label: a valid name that does not overwrite one poolwatch sets.
    fn static_label(
        &mut self,
        k: &str,
        v: &S<String>,
        pool_label: &str,
        identity: &[String],
    ) -> bool {
        if !is_label_name(k) {
            let d = Diagnostic::error(
                INVALID_NAME,
                format!("static label `{k}` is not a valid Prometheus label name"),
            )
            .at(self.span(v));
            self.push(d);
            return false;
        }
        if k == "severity" || k == pool_label || identity.iter().any(|i| i == k) {
            let d = Diagnostic::error(
                INVALID_NAME,
                format!("static label `{k}` would overwrite a label poolwatch sets"),
            )
            .at(self.span(v))
            .label("severity, the pool label and the identity labels come from the spec");
            self.push(d);
            return false;
        }
        true
    }

    /// The grouping labels a role's series carry, with a located error for every identity
    /// label a plainly bound metric lacks: its alerts would aggregate the label away and
    /// fire for no instance in particular.
    fn coverage(
        &mut self,
        rp: &spec::RawPool,
        role: Role,
        b: &S<spec::RawBinding>,
        metric: &Metric,
        identity: &[String],
        keep: &[String],
    ) -> Vec<String> {
        let mut covered = Vec::new();
        for (id_label, metric_label) in &b.value.matches {
            if !identity.contains(id_label) {
                let d = Diagnostic::error(
                    IDENTITY,
                    format!(
                        "`match` names `{id_label}`, which is not an identity label of pool `{}`",
                        rp.name.value
                    ),
                )
                .at(self.span(b))
                .help(format!("identity: [{}]", identity.join(", ")));
                self.push(d);
            }
            if !metric.carries(metric_label) {
                let d = Diagnostic::error(
                    IDENTITY,
                    format!(
                        "`{}` does not carry the label `{metric_label}`",
                        metric.name
                    ),
                )
                .at(self.span(b))
                .help(format!(
                    "declare it in the catalog: `labels: [{metric_label}]` on `{}`",
                    metric.name
                ));
                self.push(d);
            }
        }
        for l in identity {
            let matched = b.value.matches.iter().any(|(i, _)| i == l);
            if matched || metric.carries(l) {
                covered.push(l.clone());
            } else if b.value.matches.is_empty() {
                let d = Diagnostic::error(
                    IDENTITY,
                    format!(
                        "identity label `{l}` of pool `{}` is not carried by `{}` (role `{}`)",
                        rp.name.value,
                        metric.name,
                        role.key()
                    ),
                )
                .at(self.span(b))
                .label("this metric lacks the label")
                .help(format!(
                    "declare the label in the catalog (`labels: [{l}]` on `{}`), bind the role \
                     in long form with `match: {{{l}: <the metric's label>}}`, or remove `{l}` \
                     from the pool's `identity`",
                    metric.name
                ));
                self.push(d);
            }
        }
        for k in keep {
            if !covered.contains(k) {
                covered.push(k.clone());
            }
        }
        covered
    }

    /// A quantile threshold at or above the histogram's largest finite bucket can never be
    /// exceeded (histogram_quantile returns at most that bound): refuse it, offering the
    /// share above the top bucket instead. The share needs declared buckets.
    fn reachable(
        &mut self,
        rp: &spec::RawPool,
        roles: &Roles,
        policies: &Policies,
        catalog: &Catalog,
    ) {
        for p in &policies.thresholds {
            let role = match p.signal {
                Signal::WaitTimeP99 => Role::WaitTime,
                Signal::QueryDurationP99 | Signal::SlowQueries => Role::QueryDuration,
                _ => continue,
            };
            let Some(metric) = roles.get(role).and_then(|m| catalog.get(m)) else {
                continue;
            };
            let top = metric.top_bucket();
            if p.signal == Signal::SlowQueries {
                if top.is_none() {
                    let d = Diagnostic::error(
                        UNREACHABLE,
                        format!(
                            "policy `slow_queries` needs the buckets of `{}` (pool `{}`)",
                            metric.name, rp.name.value
                        ),
                    )
                    .at(p.span.clone())
                    .help(format!(
                        "declare them in the catalog: `buckets: [...]` on `{}`",
                        metric.name
                    ));
                    self.push(d);
                }
                continue;
            }
            let Some(top) = top else { continue };
            for (level, _) in p.alert_levels() {
                if level.value >= top {
                    let n = crate::conventions::number;
                    let d = Diagnostic::error(
                        UNREACHABLE,
                        format!(
                            "policy `{}` of pool `{}` can never fire: the p99 of `{}` is at most \
                             its largest finite bucket, {}s, and the threshold is {}s",
                            p.signal.key(),
                            rp.name.value,
                            metric.name,
                            n(top),
                            n(level.value)
                        ),
                    )
                    .at(level.span.clone())
                    .label("unreachable threshold")
                    .help(format!(
                        "alert on the share of observations above the top bucket instead: \
                         `(rate({m}_count[5m]) - rate({m}_bucket{{le=\"{t}\"}}[5m])) / \
                         rate({m}_count[5m]) > 0.01`{policy}",
                        m = metric.name,
                        t = n(top),
                        policy = if role == Role::QueryDuration {
                            ", which is policy `slow_queries` with `value: 0.01`"
                        } else {
                            ""
                        }
                    ))
                    .help("or lower the threshold below the largest bucket");
                    self.push(d);
                }
            }
        }
    }

    fn role(&mut self, b: &S<spec::RawBinding>, role: Role, catalog: &Catalog) -> String {
        let name = b;
        let value = &b.value.metric;
        let Some(metric) = catalog.get(value) else {
            let mut d = Diagnostic::error(
                UNKNOWN_METRIC,
                format!(
                    "role `{}` names `{}`, which is not in the catalog",
                    role.key(),
                    value
                ),
            )
            .at(self.span(name))
            .label("unknown metric");
            if let Some(s) = did_you_mean(value, catalog.names()) {
                d = d.help(format!("did you mean `{s}`?"));
            } else {
                d = d.help("declare it under `catalog:` with its type and unit");
            }
            self.push(d);
            return value.clone();
        };
        if metric.kind != role.kind() {
            let d = Diagnostic::error(
                ROLE_MISMATCH,
                format!(
                    "role `{}` needs a {} but `{}` is a {}",
                    role.key(),
                    role.kind(),
                    metric.name,
                    metric.kind
                ),
            )
            .at(self.span(name))
            .label("wrong metric type");
            self.push(d);
        } else if metric.unit != role.unit() {
            let d = Diagnostic::error(
                ROLE_MISMATCH,
                format!(
                    "role `{}` is measured in {} but `{}` is in {}",
                    role.key(),
                    role.unit(),
                    metric.name,
                    metric.unit
                ),
            )
            .at(self.span(name))
            .label("wrong unit");
            self.push(d);
        }
        metric.name.clone()
    }

    fn duration(&mut self, d: &S<String>, allow_zero: bool) -> PromDuration {
        match PromDuration::parse(&d.value) {
            Ok(v) if v.is_zero() && !allow_zero => {
                let diag = Diagnostic::error(DURATION, "a zero duration is not allowed here")
                    .at(self.span(d))
                    .label("zero");
                self.push(diag);
                PromDuration::from_secs(60)
            }
            Ok(v) => v,
            Err(msg) => {
                let diag = Diagnostic::error(DURATION, msg)
                    .at(self.span(d))
                    .label("invalid duration");
                self.push(diag);
                PromDuration::from_secs(60)
            }
        }
    }

    fn color(&mut self, c: &S<String>) -> String {
        if !is_color(&c.value) {
            let d = Diagnostic::error(
                INVALID_VALUE,
                format!("`{}` is not a Grafana colour", c.value),
            )
            .at(self.span(c))
            .label("unknown colour")
            .help("use green, yellow, orange, red, blue, purple (optionally dark-/light- shades) or #rrggbb");
            self.push(d);
        }
        c.value.clone()
    }

    fn severity(&mut self, s: &S<String>, severities: &[String]) -> String {
        if !severities.contains(&s.value) {
            let mut d = Diagnostic::error(
                SEVERITY,
                format!("severity `{}` is not in the spec's severities", s.value),
            )
            .at(self.span(s))
            .label("unknown severity")
            .help(format!("known severities: {}", severities.join(", ")));
            if let Some(m) = did_you_mean(&s.value, severities.iter().map(String::as_str)) {
                d = d.help(format!("did you mean `{m}`?"));
            }
            self.push(d);
        }
        s.value.clone()
    }

    fn policies(
        &mut self,
        raw: &RawPolicies,
        severities: &[String],
        defaults: Option<&Policies>,
    ) -> Policies {
        let entries: [(Signal, &Option<S<RawPolicy>>); 9] = [
            (Signal::Utilization, &raw.utilization),
            (Signal::AcquisitionTimeouts, &raw.acquisition_timeouts),
            (Signal::CreationErrors, &raw.creation_errors),
            (Signal::WaitTimeP99, &raw.wait_time_p99),
            (Signal::QueryDurationP99, &raw.query_duration_p99),
            (Signal::Exhausted, &raw.exhausted),
            (Signal::SlowQueries, &raw.slow_queries),
            (Signal::WaitTimeMean, &raw.wait_time_mean),
            (Signal::MaxWait, &raw.max_wait),
        ];
        let mut thresholds = Vec::new();
        for (signal, p) in entries {
            match p {
                Some(p) => thresholds.push(self.policy(signal, p, severities)),
                None => {
                    if let Some(d) = defaults.and_then(|d| d.get(signal)) {
                        thresholds.push(d.clone());
                    }
                }
            }
        }
        let absent = match &raw.absent {
            Some(a) => Some(Absence {
                policy: AbsentPolicy {
                    severity: self.severity(&a.value.severity, severities),
                    for_: self.duration(&a.value.for_, true),
                    span: self.span(a),
                },
                targets: a
                    .value
                    .targets
                    .as_ref()
                    .map(|t| t.value)
                    .unwrap_or_default(),
            }),
            None => defaults.and_then(|d| d.absent.clone()),
        };
        Policies { thresholds, absent }
    }

    fn policy(&mut self, signal: Signal, p: &S<RawPolicy>, severities: &[String]) -> Policy {
        let mut levels: Vec<Level> = Vec::new();
        if p.value.levels.is_empty() {
            let d = Diagnostic::error(
                THRESHOLD,
                format!("policy `{}` has no levels", signal.key()),
            )
            .at(self.span(p))
            .help("give at least one level, or remove the policy to turn its alert off");
            self.push(d);
        }
        for l in &p.value.levels {
            let level = self.level(signal, l, severities);
            if let Some(prev) = levels.last() {
                let ordered = match signal.comparison() {
                    Comparison::Above => level.value > prev.value,
                    Comparison::AtOrBelow => level.value < prev.value,
                };
                if !ordered && level.value.is_finite() && prev.value.is_finite() {
                    let dir = match signal.comparison() {
                        Comparison::Above => "ascending",
                        Comparison::AtOrBelow => "descending",
                    };
                    let d = Diagnostic::error(
                        THRESHOLD,
                        format!(
                            "levels of `{}` must be in {dir} order, least severe first",
                            signal.key()
                        ),
                    )
                    .at(self.span(&l.value.value))
                    .label(format!(
                        "{} follows {}",
                        crate::conventions::number(level.value),
                        crate::conventions::number(prev.value)
                    ));
                    self.push(d);
                }
            }
            levels.push(level);
        }
        if !levels.is_empty() && !levels.iter().any(|l| l.alert.is_some()) {
            let d = Diagnostic::error(
                THRESHOLD,
                format!(
                    "policy `{}` has no level with a severity: it raises no alert",
                    signal.key()
                ),
            )
            .at(self.span(p))
            .help("give the level that should page a `severity` and a `for`");
            self.push(d);
        }
        Policy {
            signal,
            levels,
            span: self.span(p),
        }
    }

    fn level(&mut self, signal: Signal, l: &S<RawLevel>, severities: &[String]) -> Level {
        let raw = &l.value;
        let value = raw.value.value;
        let bad = if !value.is_finite() {
            Some("the threshold must be a finite number")
        } else if value < 0.0 {
            Some("the threshold cannot be negative")
        } else if signal.unit() == ValueUnit::Ratio && value > 1.0 {
            Some("a utilization threshold is a 0..1 ratio (0.9 means 90%)")
        } else {
            None
        };
        if let Some(msg) = bad {
            let d = Diagnostic::error(THRESHOLD, msg)
                .at(self.span(&raw.value))
                .label(format!(
                    "{} in `{}`",
                    crate::conventions::number(value),
                    signal.key()
                ));
            self.push(d);
        }
        let color = self.color(&raw.color);
        let alert = match (&raw.severity, &raw.for_) {
            (Some(s), Some(f)) => Some(AlertLevel {
                severity: self.severity(s, severities),
                for_: self.duration(f, true),
            }),
            (Some(s), None) => {
                let d = Diagnostic::error(
                    INVALID_VALUE,
                    "a level with a severity needs a `for` (use `for: 0s` to fire at once)",
                )
                .at(self.span(s));
                self.push(d);
                None
            }
            (None, Some(f)) => {
                let d = Diagnostic::error(
                    INVALID_VALUE,
                    "a level with a `for` needs a severity, or it raises no alert",
                )
                .at(self.span(f));
                self.push(d);
                None
            }
            (None, None) => None,
        };
        Level {
            value,
            color,
            alert,
            span: self.span(l),
        }
    }
}
