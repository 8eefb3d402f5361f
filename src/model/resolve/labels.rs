//! Labels a pool's rules rely on: static alert labels, the identity labels each role's
//! metric carries (or is matched to), and the selector's labels.

use std::collections::BTreeSet;

use super::{
    IDENTITY, INVALID_NAME, Resolver, SELECTOR_LABEL, did_you_mean, is_label_name, is_utf8_name,
};
use crate::diag::Diagnostic;
use crate::model::{Metric, Role, TARGET_LABELS};
use crate::spec::{self, S};

impl Resolver<'_> {
    /// A static alert label: a valid name that does not overwrite one poolwatch sets.
    pub(super) fn static_label(
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
    pub(super) fn coverage(
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
                let d = match did_you_mean(id_label, identity.iter().map(String::as_str)) {
                    Some(m) => d.help(format!("did you mean `{m}`?")),
                    None => d,
                };
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
                .at(self.span(b));
                // The metric's own labels only: a `match` maps an identity label to one of
                // them (`db` is no typo of the target's `job`).
                let d = match did_you_mean(metric_label, metric.labels.iter().map(String::as_str)) {
                    Some(m) => d.help(format!("did you mean `{m}`?")),
                    None => d.help(format!(
                        "declare it in the catalog: `labels: [{metric_label}]` on `{}`",
                        metric.name
                    )),
                };
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

    /// A selector label none of the pool's metrics carries (nor the target's `job` and
    /// `instance`): the selector is applied to every role's series, so it would select
    /// nothing and no alert of the pool could fire (`jobb: k2` for `job: k2`). A selector
    /// value of `""` selects the series without the label, and is left alone.
    pub(super) fn selector_labels(&mut self, rp: &spec::RawPool, metrics: &[&Metric]) {
        if metrics.is_empty() {
            return;
        }
        for (k, v) in &rp.selector {
            // A key that is no name at all was refused already (PW003).
            if v.value.is_empty() || !(is_label_name(k) || is_utf8_name(k)) {
                continue;
            }
            let lacking: Vec<&str> = metrics
                .iter()
                .filter(|m| !m.carries(k))
                .map(|m| m.name.as_str())
                .collect();
            if lacking.is_empty() {
                continue;
            }
            if lacking.len() < metrics.len() {
                // Some metrics carry it: the alerts reading the others select nothing.
                let d = Diagnostic::error(
                    SELECTOR_LABEL,
                    format!(
                        "selector label `{k}` of pool `{}` is not carried by {}: the alerts \
                         and panels reading {} would select nothing",
                        rp.name.value,
                        lacking
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        if lacking.len() == 1 { "it" } else { "them" }
                    ),
                )
                .at(self.span(v))
                .object(format!("pool {}", rp.name.value))
                .label("not on every metric of the pool")
                .help(format!(
                    "declare `{k}` in the catalog on each of them (`labels: [{k}]`) if the \
                     scrape adds it, or bind those roles in a pool of their own"
                ));
                self.push(d);
                continue;
            }
            let carried = carried_labels(metrics.iter().copied());
            let mut d = Diagnostic::error(
                SELECTOR_LABEL,
                format!(
                    "selector label `{k}` of pool `{}` is carried by none of its metrics",
                    rp.name.value
                ),
            )
            .at(self.span(v))
            .object(format!("pool {}", rp.name.value))
            .label("this selector matches no series");
            d = match did_you_mean(k, carried.iter().copied()) {
                Some(m) => d.help(format!("did you mean `{m}`?")),
                None => d.help(format!(
                    "the pool's metrics carry: {}; if the scrape adds `{k}` (relabeling), \
                     declare it in the catalog (`labels: [{k}]` on each metric of the pool)",
                    carried.into_iter().collect::<Vec<_>>().join(", ")
                )),
            };
            self.push(d);
        }
    }
}

/// The labels series of these metrics carry: the target's and the catalog's, sorted.
fn carried_labels<'a>(metrics: impl Iterator<Item = &'a Metric>) -> BTreeSet<&'a str> {
    let mut out: BTreeSet<&str> = TARGET_LABELS.into_iter().collect();
    for m in metrics {
        out.extend(m.labels.iter().map(String::as_str));
    }
    out
}
