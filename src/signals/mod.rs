//! Every alert signal poolwatch generates, one file each (the way ruff keeps one rule per
//! file): its key (the policy's and the template's name), alert name, the role it cannot do
//! without, how its value compares with a threshold, the value's unit, its per-instance
//! expression, where its proofs drive it, its annotation template and its runbook section.
//! [`ALL`] lists them; everything else (model, names, templates, PromQL, unit tests) asks
//! [`def`].
//!
//! Adding an alert: a file here, its `templates/alerts/<key>.j2` (annotations) and
//! `templates/runbook/<key>.md.j2` (its runbook section), its entry in [`ALL`] and
//! its `Signal` variant, and, for a thresholded one, its policy key (`spec::RawPolicies`,
//! the list in `model::resolve`, `Signal::THRESHOLDED`); the panels and the test worlds that
//! feed its metrics stay with their kind of metric. A signal with several sources (the mean
//! wait: counters or a histogram) names them in [`Def::any_of`].

mod absent;
mod acquisition_timeouts;
mod creation_errors;
mod exhausted;
mod max_wait;
mod query_duration_p99;
mod slow_queries;
mod undersized;
mod utilization;
mod wait_time_mean;
mod wait_time_p99;

pub(crate) use absent::lookback as absence_lookback;
pub(crate) use wait_time_mean::from_counters as mean_wait_from_counters;

use crate::model::{Comparison, Role, Roles, Signal, ValueUnit};
use crate::render::promql::{ExprCx, PoolExprs};

/// Where a signal's proofs drive its value, against one alert level's threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Proof {
    /// A value that fires the alert.
    pub(crate) firing: f64,
    /// A value just clear of the threshold (a threshold lowered by a tenth would fire).
    pub(crate) silent: f64,
    /// A healthy value, clear of every level: the idle instance's, beside the hot one in
    /// every world.
    pub(crate) healthy: f64,
}

/// What a proof needs to know: the level's threshold, every level of the policy, and the
/// test's rate window in evaluation steps and step length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProofCx<'a> {
    pub(crate) threshold: f64,
    pub(crate) levels: &'a [f64],
    pub(crate) window_steps: u64,
    pub(crate) step_secs: f64,
}

impl ProofCx<'_> {
    pub(crate) fn lowest(&self) -> f64 {
        self.levels.iter().copied().fold(self.threshold, f64::min)
    }

    pub(crate) fn highest(&self) -> f64 {
        self.levels.iter().copied().fold(self.threshold, f64::max)
    }
}

/// Where the "just below the threshold" case sits, as a share of the threshold: above what a
/// threshold lowered by a tenth would still let pass.
pub(crate) const JUST_BELOW: f64 = 0.99;

/// One signal, all in one place.
#[derive(Debug)]
pub(crate) struct Def {
    pub(crate) signal: Signal,
    /// Policy key, template file stem and runbook key.
    pub(crate) key: &'static str,
    pub(crate) alert: &'static str,
    /// The optional role it cannot do without (size and active always exist).
    pub(crate) role: Option<Role>,
    /// Where several sources give the value: the role sets of which one must be bound in
    /// full (empty: `role` alone decides).
    pub(crate) any_of: &'static [&'static [Role]],
    pub(crate) comparison: Comparison,
    pub(crate) unit: ValueUnit,
    /// The annotation template (`summary` and `description` blocks).
    pub(crate) template: &'static str,
    /// Its runbook section: what the alert means and what to check first (markdown).
    pub(crate) guide: &'static str,
    /// The alert also needs someone waiting for a connection, where the library counts
    /// waiting clients (a full pool nobody waits on is not yet exhausted for its users).
    pub(crate) while_waiting: bool,
    /// The value compared with the threshold, per pool instance (for the absence alert,
    /// the whole condition; for the undersized one, the configured size it compares with).
    pub(crate) expr: fn(&PoolExprs, &ExprCx) -> String,
    /// The values its proofs drive it to.
    pub(crate) proof: fn(&ProofCx) -> Proof,
}

/// Every signal, in the order their alerts are written.
pub(crate) const ALL: [&Def; 11] = [
    &utilization::DEF,
    &acquisition_timeouts::DEF,
    &creation_errors::DEF,
    &wait_time_p99::DEF,
    &wait_time_mean::DEF,
    &query_duration_p99::DEF,
    &exhausted::DEF,
    &absent::DEF,
    &undersized::DEF,
    &slow_queries::DEF,
    &max_wait::DEF,
];

/// A signal's definition.
pub(crate) fn def(signal: Signal) -> &'static Def {
    match signal {
        Signal::Utilization => &utilization::DEF,
        Signal::AcquisitionTimeouts => &acquisition_timeouts::DEF,
        Signal::CreationErrors => &creation_errors::DEF,
        Signal::WaitTimeP99 => &wait_time_p99::DEF,
        Signal::QueryDurationP99 => &query_duration_p99::DEF,
        Signal::Exhausted => &exhausted::DEF,
        Signal::Absent => &absent::DEF,
        Signal::Undersized => &undersized::DEF,
        Signal::SlowQueries => &slow_queries::DEF,
        Signal::WaitTimeMean => &wait_time_mean::DEF,
        Signal::MaxWait => &max_wait::DEF,
    }
}

// What the model and the renderers ask of a signal is answered from its definition here, so
// that the model's vocabulary does not depend on the signals' files.
impl Signal {
    pub(crate) fn key(self) -> &'static str {
        def(self).key
    }

    /// The alert it raises.
    pub(crate) fn alert(self) -> &'static str {
        def(self).alert
    }

    /// The optional role a signal cannot do without (size and active always exist).
    pub(crate) fn role(self) -> Option<Role> {
        def(self).role
    }

    pub(crate) fn comparison(self) -> Comparison {
        def(self).comparison
    }

    /// The unit of the compared value.
    pub(crate) fn unit(self) -> ValueUnit {
        def(self).unit
    }

    /// The value it compares with its thresholds, per pool instance.
    pub(crate) fn expr(self, x: &PoolExprs, cx: &ExprCx) -> String {
        (def(self).expr)(x, cx)
    }

    /// The alert condition at one threshold (see [`Def::while_waiting`]).
    pub(crate) fn condition(self, x: &PoolExprs, threshold: f64, cx: &ExprCx) -> String {
        let d = def(self);
        x.condition(&(d.expr)(x, cx), d.comparison, threshold, d.while_waiting)
    }
}

impl Roles {
    /// Whether the pool has every metric a signal needs.
    pub(crate) fn supports(&self, signal: Signal) -> bool {
        let any_of = def(signal).any_of;
        signal.role().is_none_or(|r| self.get(r).is_some())
            && (any_of.is_empty()
                || any_of
                    .iter()
                    .any(|set| set.iter().all(|r| self.get(*r).is_some())))
    }
}

/// Proof values of a rate compared with a threshold: rate() grows while its window fills,
/// so the firing rate is high enough to be above the threshold from the first evaluation on
/// (one event a step above zero).
fn rate_proof(cx: &ProofCx) -> Proof {
    let t = cx.threshold;
    Proof {
        firing: if t > 0.0 {
            2.0 * t * cx.window_steps as f64
        } else {
            1.0 / cx.step_secs
        },
        silent: t * JUST_BELOW,
        healthy: 0.0,
    }
}

/// Proof values of a 0..1 share: halfway to 1, just below, half the lowest level.
fn share_proof(cx: &ProofCx) -> Proof {
    Proof {
        firing: f64::midpoint(cx.threshold, 1.0),
        silent: cx.threshold * JUST_BELOW,
        healthy: cx.lowest() / 2.0,
    }
}

/// Proof values of a quantile in seconds: twice the threshold, just below, half the lowest.
fn quantile_proof(cx: &ProofCx) -> Proof {
    let t = cx.threshold;
    Proof {
        firing: if t > 0.0 { 2.0 * t } else { 1.0 },
        silent: t * JUST_BELOW,
        healthy: cx.lowest() / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Roles;

    fn roles(bound: &[Role]) -> Roles {
        let always = [Role::Size, Role::Active];
        Roles::from_fn(
            |r| (always.contains(&r) || bound.contains(&r)).then(|| r.key().to_string()),
            Vec::new(),
        )
    }

    #[test]
    fn the_mean_wait_needs_both_counters_or_the_histogram() {
        let supports = |bound: &[Role]| roles(bound).supports(Signal::WaitTimeMean);
        assert!(supports(&[Role::WaitCount, Role::WaitDuration]));
        assert!(supports(&[Role::WaitTime]));
        assert!(!supports(&[Role::WaitCount]));
        assert!(!supports(&[Role::WaitDuration]));
        assert!(!supports(&[Role::MaxWait]));
        // Both sources bound: the library's own counters win.
        assert!(wait_time_mean::from_counters(&roles(&[
            Role::WaitTime,
            Role::WaitCount,
            Role::WaitDuration
        ])));
        assert!(roles(&[Role::MaxWait]).supports(Signal::MaxWait));
        assert!(!roles(&[]).supports(Signal::MaxWait));
    }

    #[test]
    fn every_signal_is_listed_once_under_its_own_key() {
        assert_eq!(ALL.len(), 11);
        for d in ALL {
            assert_eq!(def(d.signal).key, d.key);
            assert_eq!(ALL.iter().filter(|o| o.key == d.key).count(), 1);
            assert!(d.template.contains("[% block summary %]"), "{}", d.key);
            assert!(d.template.contains("[% block description %]"), "{}", d.key);
        }
    }
}
