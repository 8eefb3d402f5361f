//! Spec-wide settings: capacity planning, deploy targets, wording, lint suppressions and
//! the severity vocabulary.

use super::{
    DEFAULT_SEVERITIES, DUPLICATE, INVALID_NAME, INVALID_VALUE, Resolver, THRESHOLD, did_you_mean,
    is_dns_label, is_k8s_label_key, is_k8s_label_value, is_slug,
};
use crate::diag::Diagnostic;
use crate::model::{AbsentPolicy, Capacity, Deploy, Operator, PromDuration, Suppression, Wording};
use crate::spec::{RawEnvironment, RawSpec, S};

impl Resolver<'_> {
    pub(super) fn bytes(&mut self, v: &S<String>) -> u64 {
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

    pub(super) fn capacity(
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

    pub(super) fn deploy(&mut self, raw: &RawSpec, severities: &[String]) -> Deploy {
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
    pub(super) fn wording(&mut self, raw: &RawSpec) -> Wording {
        let Some(w) = &raw.wording else {
            return Wording::default();
        };
        let mut templates = std::collections::BTreeMap::new();
        let keys: Vec<&str> = self.signals.iter().map(|s| s.key()).collect();
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
    pub(super) fn lint_ignores(&self, raw: &RawSpec) -> Vec<Suppression> {
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

    pub(super) fn severities(&mut self, raw: &RawSpec) -> Vec<String> {
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
}
