//! The policies: the spec's map, by signal key, checked against the list of signals and
//! resolved into thresholded levels (ordered, finite, reachable) and the presence policy.

use super::{INVALID_NAME, INVALID_VALUE, Resolver, THRESHOLD, UNREACHABLE, did_you_mean};
use crate::diag::Diagnostic;
use crate::model::{
    Absence, AbsentPolicy, AlertLevel, Catalog, Comparison, HistogramStorage, Level, Policies,
    Policy, PolicyShape, PromDuration, Reach, Roles, Signal, ValueUnit,
};
use crate::source::Span;
use crate::spec::{self, RawLevel, RawPolicies, RawPolicy, S};

/// The share of `m`'s observations above `top`, as its storage holds them (for a help text).
fn share_expr(m: &str, storage: HistogramStorage, top: f64) -> String {
    let n = crate::conventions::number;
    if storage == HistogramStorage::Native {
        return format!(
            "histogram_fraction({}, +Inf, <the summed rate of {m}>)",
            n(top)
        );
    }
    format!(
        "(rate({m}_count[5m]) - rate({m}_bucket{{{le}}}[5m])) / \
         rate({m}_count[5m])",
        le = crate::conventions::le_matcher(top)
    )
}

impl Resolver<'_> {
    /// A quantile threshold at or above the histogram's largest finite bucket can never be
    /// exceeded (histogram_quantile returns at most that bound): refuse it, offering the
    /// share above the top bucket instead. The share needs declared buckets.
    pub(super) fn reachable(
        &mut self,
        rp: &spec::RawPool,
        roles: &Roles,
        policies: &Policies,
        catalog: &Catalog,
    ) {
        for p in &policies.thresholds {
            let role = match p.signal.info().reach {
                Reach::Any => continue,
                Reach::BelowTopBucket(role) | Reach::NeedsBuckets(role) => role,
            };
            let Some(metric) = roles.get(role).and_then(|m| catalog.get(m)) else {
                continue;
            };
            let top = metric.top_bucket();
            if p.signal.info().reach == Reach::NeedsBuckets(role) {
                if top.is_none() {
                    let d = Diagnostic::error(
                        UNREACHABLE,
                        format!(
                            "policy `{}` needs the buckets of `{}` (pool `{}`)",
                            p.signal.key(),
                            metric.name,
                            rp.name.value
                        ),
                    )
                    .at(p.span.clone())
                    .help(format!(
                        "declare them in the catalog: `buckets: [...]` on `{}`",
                        metric.name
                    ));
                    // An exponential native histogram has no buckets to declare; the
                    // largest declared bound is then only the slow-query threshold.
                    let d = if metric.storage == HistogramStorage::Native {
                        d.help(
                            "an exponential native histogram has no fixed buckets: \
                             `buckets: [5]` names the slow-query threshold (5s), and any \
                             value works, as `histogram_fraction` interpolates within a bucket",
                        )
                    } else {
                        d
                    };
                    self.push(d);
                }
                continue;
            }
            let Some(top) = top else { continue };
            // The signal that alerts on the share above this histogram's top bucket.
            let share = self
                .signals
                .iter()
                .find(|s| s.info().reach == Reach::NeedsBuckets(role))
                .map(|s| s.key());
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
                         `{expr} > 0.01`{policy}",
                        expr = share_expr(&metric.name, metric.storage, top),
                        policy = share
                            .map(|k| format!(", which is policy `{k}` with `value: 0.01`"))
                            .unwrap_or_default()
                    ))
                    .help("or lower the threshold below the largest bucket");
                    self.push(d);
                }
            }
        }
    }

    pub(super) fn policies(
        &mut self,
        raw: &RawPolicies,
        severities: &[String],
        defaults: Option<&Policies>,
    ) -> Policies {
        let keys: Vec<&str> = self
            .signals
            .iter()
            .filter(|s| s.info().policy != PolicyShape::Capacity)
            .map(|s| s.key())
            .collect();
        for (key, p) in raw {
            if !keys.contains(&key.as_str()) {
                self.unknown_policy(key, p, &keys);
            }
        }
        let mut thresholds = Vec::new();
        let mut absent = None;
        for &signal in self.signals {
            let p = raw.get(signal.key());
            match signal.info().policy {
                PolicyShape::Levels => match p {
                    Some(p) => thresholds.push(self.policy(signal, p, severities)),
                    None => thresholds.extend(defaults.and_then(|d| d.get(signal)).cloned()),
                },
                PolicyShape::Presence => {
                    absent = match p {
                        Some(p) => self.absence(signal, p, severities),
                        None => defaults.and_then(|d| d.absent.clone()),
                    };
                }
                PolicyShape::Capacity => {}
            }
        }
        Policies { thresholds, absent }
    }

    fn unknown_policy(&mut self, key: &str, p: &S<RawPolicy>, keys: &[&str]) {
        let capacity = self
            .signals
            .iter()
            .any(|s| s.key() == key && s.info().policy == PolicyShape::Capacity);
        let mut d = Diagnostic::error(INVALID_NAME, format!("`{key}` is not a policy"))
            .at(self.span(p))
            .label("unknown policy");
        if capacity {
            d = d.help(format!("`{key}` is set under `capacity:`"));
        } else if let Some(m) = did_you_mean(key, keys.iter().copied()) {
            d = d.help(format!("did you mean `{m}`?"));
        }
        self.push(d.help(format!("policies: {}", keys.join(", "))));
    }

    /// Fields a policy of one shape does not take, each reported where it is written.
    fn foreign_fields(&mut self, signal: Signal, p: &S<RawPolicy>) {
        let r = &p.value;
        let (takes, foreign): (&str, Vec<(&str, Option<Span>)>) = match signal.info().policy {
            PolicyShape::Levels => (
                "`levels`",
                vec![
                    ("severity", r.severity.as_ref().and_then(|v| self.span(v))),
                    ("for", r.for_.as_ref().and_then(|v| self.span(v))),
                    ("targets", r.targets.as_ref().and_then(|v| self.span(v))),
                ],
            ),
            _ => (
                "`severity`, `for` and `targets`",
                vec![("levels", r.levels.as_ref().and_then(|_| self.span(p)))],
            ),
        };
        for (field, span) in foreign {
            if span.is_some() {
                let d = Diagnostic::error(
                    INVALID_VALUE,
                    format!("policy `{}` takes {takes}, not `{field}`", signal.key()),
                )
                .at(span)
                .label(format!("`{field}` is not a field of `{}`", signal.key()));
                self.push(d);
            }
        }
    }

    /// The presence policy: a severity and a `for`, and what it knows of the targets.
    fn absence(
        &mut self,
        signal: Signal,
        p: &S<RawPolicy>,
        severities: &[String],
    ) -> Option<Absence> {
        self.foreign_fields(signal, p);
        let r = &p.value;
        let (Some(severity), Some(for_)) = (&r.severity, &r.for_) else {
            let d = Diagnostic::error(
                INVALID_VALUE,
                format!("policy `{}` needs a `severity` and a `for`", signal.key()),
            )
            .at(self.span(p));
            self.push(d);
            return None;
        };
        Some(Absence {
            policy: AbsentPolicy {
                severity: self.severity(severity, severities),
                for_: self.duration(for_, true),
                span: self.span(p),
            },
            targets: r.targets.as_ref().map(|t| t.value).unwrap_or_default(),
        })
    }

    fn policy(&mut self, signal: Signal, p: &S<RawPolicy>, severities: &[String]) -> Policy {
        self.foreign_fields(signal, p);
        let mut levels: Vec<Level> = Vec::new();
        let raw_levels = p.value.levels.as_deref().unwrap_or_default();
        if raw_levels.is_empty() {
            let d = Diagnostic::error(
                THRESHOLD,
                format!("policy `{}` has no levels", signal.key()),
            )
            .at(self.span(p))
            .help("give at least one level, or remove the policy to turn its alert off");
            self.push(d);
        }
        for l in raw_levels {
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
                keep_firing_for: self.keep_firing_for(raw),
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
        if let (None, Some(k)) = (&raw.severity, &raw.keep_firing_for) {
            let d = Diagnostic::error(
                INVALID_VALUE,
                "a level with `keep_firing_for` needs a severity and a `for`: it raises no alert",
            )
            .at(self.span(k));
            self.push(d);
        }
        Level {
            value,
            color,
            alert,
            span: self.span(l),
        }
    }

    /// A level's `keep_firing_for` (zero when not set), refused where the target lacks it.
    fn keep_firing_for(&mut self, raw: &RawLevel) -> PromDuration {
        match &raw.keep_firing_for {
            Some(k) => {
                self.require(crate::model::Feature::KeepFiringFor, k);
                self.duration(k, true)
            }
            None => PromDuration::from_secs(0),
        }
    }
}
