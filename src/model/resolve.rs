//! Lowers a raw spec into a [`Model`], collecting every finding instead of stopping at the first.

mod receivers;

use std::collections::BTreeSet;

use super::{
    Catalog, DashboardOptions, HistogramStorage, Metric, Model, Policies, Pool, PromDuration,
    PrometheusVersion, Role, Roles, Signal, Targets,
};
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Sources, Span};
use crate::spec::{self, RawEnvironment, RawSpec, S, SPEC_VERSION};

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
pub(crate) const SELECTOR_LABEL: Code = Code {
    code: "PW016",
    name: "selector-label-not-carried",
};

const DEFAULT_SEVERITIES: [&str; 3] = ["info", "warning", "critical"];

/// Resolves a raw spec, with an environment's overlay applied when `env` names one, against
/// the signals there are (`signals::handles()`: the model names none of its own).
/// Returns the model, or every error-level finding.
pub(crate) fn resolve(
    raw: &RawSpec,
    sources: &Sources,
    file: FileId,
    env: Option<&str>,
    signals: &[Signal],
) -> Result<Model, Vec<Diagnostic>> {
    let mut resolver = Resolver {
        sources,
        file,
        signals,
        diags: Vec::new(),
        target: PrometheusVersion::DEFAULT,
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
    /// Every signal: the keys `policies` accepts.
    signals: &'a [Signal],
    diags: Vec<Diagnostic>,
    /// The Prometheus release the spec targets (read first: features depend on it).
    target: PrometheusVersion,
}

pub(crate) use crate::diag::did_you_mean;
pub(crate) use names::*;

mod catalog;
mod labels;
mod names;
mod policies;
mod settings;
mod target;

impl Resolver<'_> {
    fn span<T>(&self, v: &S<T>) -> Option<Span> {
        spec::span(self.sources, self.file, v)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn spec(&mut self, raw: &RawSpec, env: Option<&RawEnvironment>) -> Model {
        self.target = self.prometheus(raw);
        let rule_groups = self.rule_groups(raw);
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
            rule_groups,
        }
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
            if !is_label_name(k) && !self.utf8_name(k, v) {
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
        let bound_metrics: Vec<&Metric> =
            names.iter().filter_map(|(_, n)| catalog.get(n)).collect();
        self.selector_labels(rp, &bound_metrics);
        let mut roles = Roles::from_fn(get, matches);
        roles.storage = names
            .iter()
            .filter_map(|(r, n)| catalog.get(n).map(|m| (*r, m.storage)))
            .filter(|(_, s)| *s != HistogramStorage::Classic)
            .collect();
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
}
