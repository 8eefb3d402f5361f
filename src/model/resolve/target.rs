//! The targeted Prometheus release (`prometheus:`), the rule groups' options, and the
//! refusal of any feature the target does not have, at the field that asks for it.

use super::{INVALID_VALUE, Resolver, is_utf8_name};
use crate::diag::{Code, Diagnostic};
use crate::model::{Feature, PrometheusVersion, RuleGroupOptions};
use crate::spec::{RawSpec, S};

pub(crate) const NOT_IN_TARGET: Code = Code {
    code: "PW017",
    name: "not-in-target-prometheus",
};

impl Resolver<'_> {
    /// The spec's `prometheus:` release, or [`PrometheusVersion::DEFAULT`].
    pub(super) fn prometheus(&mut self, raw: &RawSpec) -> PrometheusVersion {
        let Some(v) = &raw.prometheus else {
            return PrometheusVersion::DEFAULT;
        };
        match PrometheusVersion::parse(&v.value) {
            Ok(p) => p,
            Err(msg) => {
                let d = Diagnostic::error(INVALID_VALUE, msg)
                    .at(self.span(v))
                    .label("not a Prometheus version")
                    .help("write the release the rules run on, e.g. `\"3\"`, `\"2.53\"` or `\"3.4.1\"`");
                self.push(d);
                PrometheusVersion::DEFAULT
            }
        }
    }

    /// The rule groups' `limit` and `query_offset`, each refused where the target lacks it.
    pub(super) fn rule_groups(&mut self, raw: &RawSpec) -> RuleGroupOptions {
        let Some(g) = &raw.rule_groups else {
            return RuleGroupOptions::default();
        };
        let limit = g.value.limit.as_ref().and_then(|l| {
            self.require(Feature::GroupLimit, l);
            (l.value > 0).then_some(l.value)
        });
        let query_offset = g.value.query_offset.as_ref().and_then(|o| {
            self.require(Feature::QueryOffset, o);
            let d = self.duration(o, true);
            (!d.is_zero()).then_some(d)
        });
        RuleGroupOptions {
            limit,
            query_offset,
        }
    }

    /// Refuses `feature`, written at `at`, when the targeted release lacks it.
    pub(super) fn require<T>(&mut self, feature: Feature, at: &S<T>) {
        if self.target.has(feature) {
            return;
        }
        let since = feature.since();
        let d = Diagnostic::error(
            NOT_IN_TARGET,
            format!(
                "{} needs Prometheus {since} or later; the spec targets {}",
                feature.name(),
                self.target
            ),
        )
        .at(self.span(at))
        .label(format!("not in Prometheus {}", self.target))
        .help(format!(
            "set `prometheus: \"{since}\"` (or later) if your Prometheus runs it, or remove this"
        ));
        self.push(d);
    }

    /// A metric or label name outside the classic character set: whether Prometheus 3 can
    /// take it quoted (refused with PW017 where the target is 2.x).
    pub(super) fn utf8_name<T>(&mut self, name: &str, at: &S<T>) -> bool {
        if !is_utf8_name(name) {
            return false;
        }
        if !self.target.has(Feature::QuotedNames) {
            let d = Diagnostic::error(
                NOT_IN_TARGET,
                format!(
                    "`{name}` is outside [a-zA-Z_:][a-zA-Z0-9_:]*: PromQL writes it quoted, \
                     which needs Prometheus 3.0 or later; the spec targets {}",
                    self.target
                ),
            )
            .at(self.span(at))
            .label(format!("not in Prometheus {}", self.target))
            .help(
                "set `prometheus: \"3\"` if your Prometheus runs 3.x, or rename it at the scrape \
                 (metric_relabel_configs) to a classic name and use that",
            );
            self.push(d);
        }
        true
    }
}
