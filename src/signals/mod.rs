//! Every alert signal poolwatch generates, one file each (the way ruff keeps one rule per
//! file). A signal's file owns everything about its alert: what the model knows of it (its
//! [`SignalInfo`]: key, alert name, comparison, unit, where its policy is set, the roles it
//! needs), its per-instance expression, its panels, the input series that drive it in its
//! proofs (and the proof values), which other alerts it silences in Alertmanager, and the
//! names of its templates. [`ALL`] lists them; everything else asks a [`Def`] or a
//! [`Signal`] handle, and never names a particular signal.
//!
//! Adding an alert: a file here, its `templates/alerts/<key>.j2` (annotations) and
//! `templates/runbook/<key>.md.j2` (its runbook section), and its entry in [`ALL`]. The
//! spec's `policies` accept its key from the list, the unit tests, runbook, dashboard,
//! Alertmanager inhibitions and mutation suite pick it up from there. A signal with several
//! sources (the mean wait: counters or a histogram) names them in [`SignalInfo::any_of`].

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
pub(crate) use exhausted::drawn as free_connections_drawn;
pub(crate) use wait_time_mean::from_counters as mean_wait_from_counters;

use crate::conventions;
use crate::model::{Model, Pool, PromDuration, Role, Signal, SignalInfo, Targets};
use crate::render::grafana::panel::{PanelCx, Placed};
use crate::render::promql::{ExprCx, PoolExprs};
use crate::render::promtool_tests::arithmetic::{as_printed, bucket_quantile};
use crate::render::promtool_tests::inputs::{Inputs, Scenario, Trace, real_buckets};

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
    /// What the model holds of it.
    pub(crate) info: SignalInfo,
    /// The annotation template (`summary` and `description` blocks).
    pub(crate) template: &'static str,
    /// Its runbook section: what the alert means and what to check first (markdown).
    pub(crate) guide: &'static str,
    /// The alert also needs someone waiting for a connection, where the library counts
    /// waiting clients (a full pool nobody waits on is not yet exhausted for its users).
    pub(crate) while_waiting: bool,
    /// The value compared with the threshold, per pool instance (for the absence alert,
    /// the whole condition; for the undersized one, the whole condition too).
    pub(crate) expr: fn(&PoolExprs, &ExprCx) -> String,
    /// The recording rules that hold its value per pool instance, the value its alert
    /// compares last (any before it are parts that value reads); none where the alert reads
    /// raw series itself (absence, whose recording could not see its own absence) or
    /// recordings of its own (capacity).
    pub(crate) recordings: fn(&PoolExprs, &ExprCx) -> Vec<Recording>,
    /// The values its proofs drive it to.
    pub(crate) proof: fn(&ProofCx) -> Proof,
    /// The hot instance's series that drive it to a value (for a counter, the rate it
    /// settles at), or None when no series can (the absence alert is proven by which
    /// series exist, in `render/promtool_tests/absence.rs`).
    pub(crate) world: fn(&Inputs, f64) -> Option<Scenario>,
    /// Worlds its proofs hold beyond firing, silent and recovering.
    pub(crate) more_worlds: &'static [World],
    /// Its panels in a pool's row, where the pool supports it.
    pub(crate) panels: fn(&PanelCx) -> Vec<Placed>,
    /// The keys of the signals whose alerts of no louder severity its alerts silence in
    /// Alertmanager, for the same pool instance.
    pub(crate) silences: &'static [&'static str],
}

impl Def {
    /// Its handle, which the model holds.
    pub(crate) fn signal(&'static self) -> Signal {
        Signal::new(&self.info)
    }

    /// The annotation template's name.
    pub(crate) fn template_name(&self) -> String {
        format!("alerts/{}.j2", self.info.key)
    }

    /// The runbook section's name; the runbook includes it by the alert's key.
    pub(crate) fn guide_name(&self) -> String {
        format!("runbook/{}.md.j2", self.info.key)
    }

    /// The value its alert compares, as `x` reads it: its recorded series (with `x`'s
    /// matchers: the pool label, and in a dashboard the identity variables), or its
    /// expression where nothing is recorded.
    pub(crate) fn value(&self, x: &PoolExprs, recordings: &[Recording], cx: &ExprCx) -> String {
        match recordings.last() {
            Some(r) => x.select_recorded(&r.name, &cx.model.pool_label),
            None => (self.expr)(x, cx),
        }
    }
}

/// The recorded series a pool's alert of `signal` compares, where it compares one.
pub(crate) fn value_name(model: &Model, pool: &Pool, signal: Signal) -> Option<String> {
    recordings_of(model, pool, signal).pop().map(|r| r.name)
}

/// The recordings of a pool's signal, the value its alert compares last.
pub(crate) fn recordings_of(model: &Model, pool: &Pool, signal: Signal) -> Vec<Recording> {
    let window = model.rate_window.to_string();
    let x = PoolExprs::rules(pool, &window);
    // Names depend on neither the top bucket nor the alert's `for`.
    let cx = ExprCx {
        model,
        top_bucket: None,
        for_: PromDuration::from_secs(0),
        targets: Targets::default(),
    };
    (def(signal).recordings)(&x, &cx)
}

/// The value a signal's panel draws: the recorded series its alert compares where the pool
/// records it (a policy watches the signal), so the panel and the alert cannot disagree;
/// else its expression over the dashboard's rate window.
pub(crate) fn panel_value(cx: &PanelCx, def: &Def) -> String {
    let ecx = ExprCx {
        model: cx.model,
        top_bucket: None,
        for_: PromDuration::from_secs(0),
        targets: Targets::default(),
    };
    if cx.pool.policies.get(cx.signal).is_some() {
        let window = cx.model.rate_window.to_string();
        let rules = PoolExprs::rules(cx.pool, &window);
        if let Some(r) = (def.recordings)(&rules, &ecx).pop() {
            return cx.x.select_recorded(&r.name, &cx.model.pool_label);
        }
    }
    (def.expr)(cx.x, &ecx)
}

/// What a pool's panels draw for a counter `role` (its failures panel): the recorded rate
/// the alert of a signal on that counter compares, born series counted, so the panel and
/// the alert never disagree; rate() over the dashboard's interval where no policy records it.
pub(crate) fn counter_panel_rate(model: &Model, pool: &Pool, x: &PoolExprs, role: Role) -> String {
    ALL.iter()
        .find(|def| def.info.role == Some(role) && pool.policies.get(def.signal()).is_some())
        .map(|def| {
            let cx = PanelCx {
                model,
                pool,
                x,
                signal: def.signal(),
            };
            panel_value(&cx, def)
        })
        .unwrap_or_else(|| x.counter_rate(role))
}

/// A recording rule of a signal: the series' name (`level:metric:operations`) and the
/// expression recorded per pool instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recording {
    pub(crate) name: String,
    pub(crate) expr: String,
}

/// The recording of a signal's expression under `metric:operations` in the pool's level.
fn recording(
    x: &PoolExprs,
    cx: &ExprCx,
    metric: &str,
    operations: &str,
    expr: String,
) -> Recording {
    Recording {
        name: conventions::record_name(x.pool, &cx.model.pool_label, metric, operations),
        expr,
    }
}

/// The rules' rate window (`5m`), which recorded names carry whatever window `x` computes
/// over (a dashboard's `$__rate_interval`).
fn rules_window(cx: &ExprCx) -> String {
    cx.model.rate_window.to_string()
}

/// A counter signal's three recordings: what rate() sees of the series present through the
/// window, the series born within it (their value spread over the window), and their sum,
/// either alone where the other has no series (the value the alert compares).
fn counter_recordings(x: &PoolExprs, cx: &ExprCx, role: Role) -> Vec<Recording> {
    let w = rules_window(cx);
    let metric = conventions::counter_stem(x.pool.roles.get(role).unwrap_or_default());
    let seen = recording(
        x,
        cx,
        metric,
        &format!("seen_rate{w}"),
        x.counter_rate(role),
    );
    let born = recording(
        x,
        cx,
        metric,
        &format!("born_rate{w}"),
        x.counter_born(role),
    );
    let pool_label = &cx.model.pool_label;
    let total = x.counter_total(
        &x.select_recorded(&seen.name, pool_label),
        &x.select_recorded(&born.name, pool_label),
    );
    let total = recording(x, cx, metric, &format!("rate{w}"), total);
    vec![seen, born, total]
}

/// A signal recorded once under `metric:operations`: its own expression.
fn single(x: &PoolExprs, cx: &ExprCx, def: &Def, metric: &str, operations: &str) -> Vec<Recording> {
    vec![recording(x, cx, metric, operations, (def.expr)(x, cx))]
}

/// A world a signal's proofs hold beyond firing, silent and recovering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum World {
    /// A counter series born at a value counts, and a process restart counts no events.
    BornAndRestart,
    /// Where the library counts waiting clients, the firing world with no one waiting is
    /// silent.
    NobodyWaits,
    /// The firing world with the denominator counter standing still is silent.
    NoEvents,
}

/// Every signal, in the order their alerts are written: the thresholded ones, then absence,
/// then capacity.
pub(crate) const ALL: &[&Def] = &[
    &utilization::DEF,
    &acquisition_timeouts::DEF,
    &creation_errors::DEF,
    &wait_time_p99::DEF,
    &query_duration_p99::DEF,
    &exhausted::DEF,
    &slow_queries::DEF,
    &wait_time_mean::DEF,
    &max_wait::DEF,
    &absent::DEF,
    &undersized::DEF,
];

/// Every signal's handle, in [`ALL`]'s order: what the model resolves policies against.
pub(crate) fn handles() -> Vec<Signal> {
    ALL.iter().map(|d| d.signal()).collect()
}

/// A signal's definition.
pub(crate) fn def(signal: Signal) -> &'static Def {
    ALL.iter()
        .copied()
        .find(|d| d.info.key == signal.key())
        .expect("every signal handle comes from a definition in ALL")
}

/// No panel of its own (its value is on one of the pool's panels).
fn no_panels(_: &PanelCx) -> Vec<Placed> {
    Vec::new()
}

/// A counter's rate at `value` per second. Where the counter has a label besides the
/// instance's (a labelled counter), the instance's events are split over two of its series:
/// a sum differs from a max or an average there.
fn counter_world(w: &Inputs, role: Role, value: f64) -> Option<Scenario> {
    let (series, trace) = match w.split_label(role) {
        None => {
            let per_step = as_printed(value * w.timing.step_secs());
            (
                vec![w.series(role, "", None, w.rising(per_step))],
                Trace::Ramp {
                    per_step,
                    series: 1,
                },
            )
        }
        Some(label) => {
            let per_step = as_printed(value * w.timing.step_secs() / 2.0);
            let series = ["a", "b"]
                .iter()
                .map(|part| {
                    let mut s = w.series(role, "", None, w.rising(per_step));
                    s.labels.insert(label.clone(), format!("{label}-{part}"));
                    s
                })
                .collect();
            (
                series,
                Trace::Ramp {
                    per_step,
                    series: 2,
                },
            )
        }
    };
    Some(w.scenario_of(series, Some(trace)))
}

/// A histogram whose p99 is `value`: over the catalog's real buckets where declared, else
/// 99 of every 100 observations at or below `value` (at half of it), one above (at twice
/// it), so that the 99th percentile is the bucket bound `value`.
fn quantile_world(w: &Inputs, role: Role, value: f64) -> Option<Scenario> {
    if let Some(bounds) = w.buckets(role) {
        let (cumulative, sum) = real_buckets(bounds, value);
        let p99 = bucket_quantile(0.99, &cumulative);
        return Some(w.scenario_of(
            w.histogram(role, &cumulative, sum),
            Some(Trace::Constant {
                from: 1,
                value: p99,
            }),
        ));
    }
    let value = as_printed(value);
    let buckets = if value > 0.0 {
        [(value, 99.0), (f64::INFINITY, 100.0)]
    } else {
        [(value, 100.0), (f64::INFINITY, 100.0)]
    };
    let sum = as_printed(99.0 * value / 2.0 + 2.0 * value);
    Some(w.scenario_of(
        w.histogram(role, &buckets, sum),
        Some(Trace::Constant {
            from: 1,
            value: bucket_quantile(0.99, &buckets),
        }),
    ))
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
    use super::{ALL, def, handles, max_wait, wait_time_mean};
    use crate::model::{Role, Roles};

    fn roles(bound: &[Role]) -> Roles {
        let always = [Role::Size, Role::Active];
        Roles::from_fn(
            |r| (always.contains(&r) || bound.contains(&r)).then(|| r.key().to_string()),
            Vec::new(),
        )
    }

    #[test]
    fn the_mean_wait_needs_both_counters_or_the_histogram() {
        let mean = wait_time_mean::DEF.signal();
        let supports = |bound: &[Role]| roles(bound).supports(mean);
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
        assert!(roles(&[Role::MaxWait]).supports(max_wait::DEF.signal()));
        assert!(!roles(&[]).supports(max_wait::DEF.signal()));
    }

    #[test]
    fn every_signal_is_listed_once_under_its_own_key() {
        assert_eq!(handles().len(), ALL.len());
        for d in ALL {
            assert_eq!(def(d.signal()).info.key, d.info.key);
            assert_eq!(ALL.iter().filter(|o| o.info.key == d.info.key).count(), 1);
            assert!(d.template.contains("[% block summary %]"), "{}", d.info.key);
            assert!(
                d.template.contains("[% block description %]"),
                "{}",
                d.info.key
            );
            for k in d.silences {
                assert!(
                    ALL.iter().any(|o| o.info.key == *k),
                    "{} silences {k}",
                    d.info.key
                );
            }
        }
    }
}
