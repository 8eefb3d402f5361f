//! The test worlds: the input series that drive each signal to a value, for a pool's hot
//! instance and the idle one beside it, with the value each gives the signal over time.

use std::collections::{BTreeMap, HashMap};

use super::arithmetic::{Timing, as_printed};
use super::file::InputSeries;
use crate::conventions::{self, number};
use crate::model::{Model, Pool, Role, ValueUnit};
use crate::render::promql::selector;

/// An input series standing for one of a pool's metrics.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub(crate) role: Role,
    /// `_bucket`, `_sum`, `_count` for a histogram's series, else empty.
    pub(crate) suffix: &'static str,
    pub(crate) metric: String,
    pub(crate) labels: BTreeMap<String, String>,
    /// promtool's expanding notation: `100x10`, `0+1x10`.
    pub(crate) values: String,
}

impl Series {
    pub(crate) fn input(&self) -> InputSeries {
        let pairs: Vec<(&str, &str)> = self
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        InputSeries {
            series: selector(&self.metric, &pairs),
            values: self.values.clone(),
        }
    }

    /// Whether the pool's queries for this series' role select it.
    pub(crate) fn seen_by(&self, pool: &Pool) -> bool {
        self.metric.strip_suffix(self.suffix) == pool.roles.get(self.role)
            && pool
                .selector
                .iter()
                .all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

/// The value a signal's expression takes at each evaluation step of a test.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Trace {
    /// `value` from step `from` on, no result before.
    Constant { from: u64, value: f64 },
    /// rate() of a counter rising by `per_step` every step from 0 (see [`Timing::rate`]).
    /// `series` such counters of one instance, summed (a labelled counter's series).
    Ramp { per_step: f64, series: u32 },
    /// rate() of one counter over another's, both rising every step from 0 (by `num` and
    /// `den`): a mean per event. Prometheus divides the two rates as computed.
    RateRatio { num: f64, den: f64 },
    /// A counter series born at step `at` at a value and never rising again: counted as
    /// `value` (that many events over the rate window, per second) for a window, then 0.
    Born { at: u64, value: f64 },
}

impl Trace {
    pub(crate) fn at(self, k: u64, t: Timing) -> Option<f64> {
        match self {
            Trace::Constant { from, value } => (k >= from).then_some(value),
            // Prometheus's sum adds the series' rates one after the other.
            Trace::Ramp { per_step, series } => (k >= 1).then(|| {
                let r = t.rate(per_step, k);
                (1..series).fold(r, |acc, _| acc + r)
            }),
            Trace::Born { at, value } => {
                (k >= at).then(|| if k < at + t.window_steps { value } else { 0.0 })
            }
            Trace::RateRatio { num, den } => (k >= 1).then(|| t.rate(num, k) / t.rate(den, k)),
        }
    }

    /// The first step from which the value stays the same.
    pub(crate) fn steady_from(self, t: Timing) -> u64 {
        match self {
            Trace::Constant { from, .. } => from,
            Trace::Ramp { .. } | Trace::RateRatio { .. } => t.window_steps,
            Trace::Born { at, .. } => at + t.window_steps,
        }
    }
}

/// A test's input series, and the value they give the signal they were built for (None for
/// the presence scenarios of the absent alert, whose value depends on each pool).
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    pub(crate) series: Vec<Series>,
    /// The grouping labels of the pool instance the trace is about (the hot one).
    pub(crate) hot: BTreeMap<String, String>,
    pub(crate) trace: Option<Trace>,
    /// The index of the pool whose inputs these are (None when they mix pools).
    pub(crate) origin: Option<usize>,
    /// The step from which the hot instance's condition no longer holds: it recovered.
    pub(crate) ends: Option<u64>,
    /// Series of other services beside the world, which no pool of the spec selects (see
    /// [`Inputs::neighbours`]): written into the test, never seen by its expectations.
    pub(crate) outside: Vec<Series>,
}

impl Scenario {
    pub(crate) fn inputs(&self) -> Vec<InputSeries> {
        self.series
            .iter()
            .chain(&self.outside)
            .map(Series::input)
            .collect()
    }

    /// The hot instance (the first `hot` series) recovers at step `at`: its counters and
    /// histograms stop rising (rate() then falls to 0 once the window holds no rise), each
    /// of its gauges takes the value of the same series in `healthy`. Returns the step from
    /// which the signal's value can no longer cross a threshold (a window and a step later
    /// where something had been rising), or None where a gauge has no healthy counterpart.
    pub(crate) fn recover(
        &mut self,
        healthy: &Scenario,
        hot: usize,
        at: u64,
        t: Timing,
    ) -> Option<u64> {
        let mut rose = false;
        let mut recovered = Vec::new();
        for (i, s) in self.series.iter().enumerate().take(hot) {
            let (head, _) = s.values.rsplit_once('x')?;
            let values = match head.split_once('+') {
                // promtool adds the step over and over: the same sum, printed exactly.
                Some((start, step)) => {
                    let (start, step): (f64, f64) = (start.parse().ok()?, step.parse().ok()?);
                    let last = (1..at).fold(start, |v, _| v + step);
                    rose |= step != 0.0;
                    format!("{start}+{step}x{} {last}x{}", at - 1, t.window_steps + 2)
                }
                None => {
                    let h = healthy
                        .series
                        .iter()
                        .find(|h| h.metric == s.metric && h.labels == s.labels)?;
                    let (value, _) = h.values.rsplit_once('x')?;
                    format!("{head}x{} {value}x{}", at - 1, t.window_steps + 2)
                }
            };
            recovered.push((i, values));
        }
        for (i, values) in recovered {
            self.series[i].values = values;
        }
        let ends = if rose { at + t.window_steps + 1 } else { at };
        self.ends = Some(ends);
        Some(ends)
    }

    /// The settled value, for test names.
    /// The steady value the world drives, written as the alert's text prints a value of
    /// that unit (a ratio in percent, a rate per second, seconds as a duration), so a test's
    /// name and the notification a person reads say the same number.
    pub(crate) fn shown(&self, t: Timing, unit: ValueUnit) -> String {
        self.trace
            .and_then(|tr| tr.at(tr.steady_from(t), t))
            .map_or_else(String::new, |v| as_text(unit, v))
    }
}

/// A value as an alert's text prints one of its unit: a ratio in percent, a rate per
/// second with four significant digits, seconds as a duration, counts as they are.
pub(crate) fn as_text(unit: ValueUnit, v: f64) -> String {
    use crate::render::annotation_expansion::{g4, humanize_duration, humanize_percentage};
    match unit {
        ValueUnit::Ratio => humanize_percentage(v),
        ValueUnit::PerSecond => format!("{}/s", g4(v)),
        ValueUnit::Seconds => humanize_duration(v),
        ValueUnit::Connections | ValueUnit::None => number(v),
    }
}

/// The two instances of a pool in a test world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Instance {
    /// The instance a test is about (`instance-1`).
    Hot,
    /// The instance beside it, healthy or still exporting (`instance-2`).
    Idle,
}

impl Instance {
    const BOTH: [Instance; 2] = [Instance::Hot, Instance::Idle];

    fn ix(self) -> usize {
        match self {
            Instance::Hot => 0,
            Instance::Idle => 1,
        }
    }

    /// Its number in the test label values.
    fn n(self) -> u32 {
        match self {
            Instance::Hot => 1,
            Instance::Idle => 2,
        }
    }
}

/// A pool's test labels, built once per pool rather than for every series: each
/// instance's selector and grouping labels, and the labels each role's series carry.
#[derive(Debug)]
pub(crate) struct PoolLabels {
    /// By [`Instance::ix`].
    instances: [BTreeMap<String, String>; 2],
    /// By [`Instance::ix`], then by role in [`Role::ALL`] order.
    series: [[BTreeMap<String, String>; Role::ALL.len()]; 2],
}

impl PoolLabels {
    pub(crate) fn new(pool: &Pool) -> Self {
        let instances = Instance::BOTH.map(|i| instance_labels(pool, i.n()));
        let series = Instance::BOTH
            .map(|i| Role::ALL.map(|role| series_labels(pool, role, instances[i.ix()].clone())));
        Self { instances, series }
    }

    /// The selector and grouping labels of an instance.
    pub(crate) fn instance(&self, i: Instance) -> &BTreeMap<String, String> {
        &self.instances[i.ix()]
    }

    /// The labels an instance's series of a role carry.
    fn series(&self, i: Instance, role: Role) -> &BTreeMap<String, String> {
        let r = Role::ALL
            .iter()
            .position(|&r| r == role)
            .expect("Role::ALL lists every role");
        &self.series[i.ix()][r]
    }
}

/// The selector and grouping labels of the pool's `n`th instance in a test world. As
/// replicas of one job do, instances differ in the last identity label only (`instance`),
/// so an aggregation that drops it merges them; where a role is bound with `match` (a
/// metric shared by several instances) they differ in every label, so that no two
/// instances share a series.
fn instance_labels(pool: &Pool, n: u32) -> BTreeMap<String, String> {
    let shared = pool.roles.matches.is_empty();
    let last = pool.identity.last();
    let mut labels: BTreeMap<String, String> = pool
        .group_labels()
        .iter()
        .map(|l| {
            let k = if !shared || last.is_some_and(|i| i == l) {
                n
            } else {
                1
            };
            (l.to_string(), conventions::test_label_value_of(l, k))
        })
        .collect();
    labels.extend(pool.selector.iter().cloned());
    labels
}

/// An instance's labels as a role's series carry them: identity labels bound with `match`
/// under the metric's own name, those it lacks left out.
pub(crate) fn series_labels(
    pool: &Pool,
    role: Role,
    mut labels: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let covered = pool.covered(role);
    let group = pool.group_labels();
    labels.retain(|k, _| !group.contains(&k.as_str()) || covered.contains(&k.as_str()));
    for (id_label, metric_label) in pool.roles.matches(role) {
        if let Some(v) = labels.remove(id_label) {
            labels.insert(metric_label.clone(), v);
        }
    }
    labels
}

/// Builds one pool's test inputs: the pieces of the worlds each signal's file builds
/// (`signals::Def::world`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    pub(crate) model: &'a Model,
    pub(crate) pool: &'a Pool,
    /// The pool's index in the model.
    pub(crate) ix: usize,
    /// The pool's test labels.
    pub(crate) labels: &'a PoolLabels,
    pub(crate) timing: Timing,
    /// Samples per series: steps 0 to `steps`.
    pub(crate) steps: u64,
    /// Headroom of the recommended size (capacity planning), for the undersized alert.
    pub(crate) headroom: f64,
}

/// The configured pool size of the undersized alert's tests; its "threshold".
pub(crate) const UNDERSIZED_SIZE: f64 = 10.0;

impl<'a> Inputs<'a> {
    /// The hot pool instance's selector and grouping labels.
    pub(crate) fn labels(&self) -> BTreeMap<String, String> {
        self.labels.instance(Instance::Hot).clone()
    }

    pub(crate) fn series(
        &self,
        role: Role,
        suffix: &'static str,
        le: Option<f64>,
        values: String,
    ) -> Series {
        self.series_of(Instance::Hot, role, suffix, le, values)
    }

    /// A series of an instance: the role's metric with the labels its series carry.
    pub(crate) fn series_of(
        &self,
        i: Instance,
        role: Role,
        suffix: &'static str,
        le: Option<f64>,
        values: String,
    ) -> Series {
        let mut labels = self.labels.series(i, role).clone();
        if let Some(le) = le {
            labels.insert("le".to_string(), number(le));
        }
        let name = self.pool.roles.get(role).unwrap_or_default();
        let mut metric = String::with_capacity(name.len() + suffix.len());
        metric.push_str(name);
        metric.push_str(suffix);
        Series {
            role,
            suffix,
            metric,
            labels,
            values,
        }
    }

    /// The label that tells one instance of the pool from another on a role's series:
    /// `instance` (or the identity's last label), under the metric's own name where the
    /// role is bound with `match`.
    fn instance_label(&self, role: Role) -> &'a str {
        let key = if self.pool.identity.iter().any(|l| l == "instance") {
            "instance"
        } else {
            self.pool.identity.last().map_or("instance", String::as_str)
        };
        self.pool
            .roles
            .matches(role)
            .iter()
            .find(|(id, _)| id == key)
            .map_or(key, |(_, m)| m.as_str())
    }

    /// The series of `sc` on an instance that joins at step `from` (a scale-out): the idle
    /// instance's labels with a new `instance` (or last identity label).
    pub(crate) fn scaled_out(&self, sc: &Scenario, from: u64) -> Vec<Series> {
        self.moved(sc, Instance::Idle)
            .into_iter()
            .filter_map(|mut s| {
                let label = self.instance_label(s.role);
                s.labels.get_mut(label)?.push_str("-new");
                s.values = format!("_x{from} {}", s.values);
                Some(s)
            })
            .collect()
    }

    /// Neighbours of `sc`'s series: the same metrics and values for other services, each on
    /// its own instance and differing from the pool in one label of its selector (one
    /// neighbour per selector label). No pool of the spec selects them; a query that lost
    /// any one selector matcher sees one, and alerts for it. Empty where the pool has no
    /// selector.
    pub(crate) fn neighbours(&self, sc: &Scenario) -> Vec<Series> {
        let mut out = Vec::new();
        for (n, (k, v)) in self.pool.selector.iter().enumerate() {
            for s in &sc.series {
                let mut other = s.clone();
                if let Some(value) = other.labels.get_mut(k) {
                    *value = format!("{v}-neighbour");
                }
                if let Some(value) = other.labels.get_mut(self.instance_label(s.role)) {
                    value.push_str(&format!("-neighbour-{}", n + 1));
                }
                // Another pool of the spec may select it (a pool named by fewer labels):
                // then it is not outside every query, and the expectations would miss it.
                if !self.model.pools.iter().any(|p| other.seen_by(p)) {
                    out.push(other);
                }
            }
        }
        out
    }

    /// The series of `sc` moved to another instance (their other labels kept).
    pub(crate) fn moved(&self, sc: &Scenario, i: Instance) -> Vec<Series> {
        let group = self.pool.group_labels();
        sc.series
            .iter()
            .map(|s| {
                let le = s.labels.get("le").and_then(|v| v.parse().ok());
                let mut moved = self.series_of(i, s.role, s.suffix, le, s.values.clone());
                for (k, v) in &s.labels {
                    if !group.contains(&k.as_str()) && !moved.labels.contains_key(k) {
                        moved.labels.insert(k.clone(), v.clone());
                    }
                }
                moved
            })
            .collect()
    }

    /// A label the role's metric carries besides the pool's grouping and selector labels
    /// (`component`), to split an instance's series over.
    pub(crate) fn split_label(&self, role: Role) -> Option<String> {
        let m = self.model.catalog.get(self.pool.roles.get(role)?)?;
        let group = self.pool.group_labels();
        m.labels
            .iter()
            .rev()
            .find(|l| {
                !group.contains(&l.as_str())
                    && !self.pool.selector.iter().any(|(k, _)| k == *l)
                    && self.pool.roles.matches(role).iter().all(|(_, ml)| ml != *l)
            })
            .cloned()
    }

    /// The catalog's finite buckets of a histogram role (None when the spec declares none).
    pub(crate) fn buckets(&self, role: Role) -> Option<&'a [f64]> {
        let m = self.model.catalog.get(self.pool.roles.get(role)?)?;
        m.buckets.as_deref().filter(|b| !b.is_empty())
    }

    pub(crate) fn constant(&self, v: f64) -> String {
        format!("{}x{}", number(v), self.steps)
    }

    pub(crate) fn rising(&self, per_step: f64) -> String {
        format!("0+{}x{}", number(per_step), self.steps)
    }

    /// A histogram's `_bucket`, `_sum` and `_count` series, rising every step by the
    /// cumulative bucket counts (`le`, count; the last is `+Inf`) and the sum.
    pub(crate) fn histogram(&self, role: Role, buckets: &[(f64, f64)], sum: f64) -> Vec<Series> {
        let mut out: Vec<Series> = buckets
            .iter()
            .map(|&(le, count)| self.series(role, "_bucket", Some(le), self.rising(count)))
            .collect();
        let count = buckets.last().map_or(0.0, |b| b.1);
        out.push(self.series(role, "_sum", None, self.rising(sum)));
        out.push(self.series(role, "_count", None, self.rising(count)));
        out
    }

    /// A scenario of the hot instance's series.
    pub(crate) fn scenario_of(&self, series: Vec<Series>, trace: Option<Trace>) -> Scenario {
        Scenario {
            series,
            hot: self.labels(),
            trace,
            origin: Some(self.ix),
            ends: None,
            outside: Vec::new(),
        }
    }
}

/// Acquisitions a step in the mean-wait scenarios.
pub(crate) const WAITS: f64 = 10.0;

/// Observations a step in share and real-bucket scenarios: fine enough to place a share or
/// a quantile within 0.01%.
pub(crate) const SHARE_OF: f64 = 10_000.0;

/// Cumulative counts over a histogram's real buckets (then `+Inf`) whose p99 comes close to
/// `value` from below, and their sum: of SHARE_OF observations, some in the lowest bucket
/// and the rest in the bucket holding `value`, so that the 99th one falls at `value`. At or
/// below zero there is no observation (histogram_quantile gives NaN: no alert).
pub(crate) fn real_buckets(bounds: &[f64], value: f64) -> (Vec<(f64, f64)>, f64) {
    let n = SHARE_OF;
    let mut all: Vec<f64> = bounds.to_vec();
    all.push(f64::INFINITY);
    if value <= 0.0 || !value.is_finite() {
        return (all.iter().map(|&le| (le, 0.0)).collect(), 0.0);
    }
    // The bucket (lo, hi] holding value; beyond the top bound, the +Inf bucket.
    let i = all
        .iter()
        .position(|&b| value <= b)
        .unwrap_or(all.len() - 1);
    let (lo, hi) = (if i == 0 { 0.0 } else { all[i - 1] }, all[i]);
    // Of n observations, `below` at or under lo: the 99th percentile's rank 0.99n falls in
    // (lo, hi] at lo + (hi - lo) * (0.99n - below) / (n - below).
    let below = if i == 0 || !hi.is_finite() {
        0.0
    } else {
        let f = ((value - lo) / (hi - lo)).min(0.99);
        (n * (0.99 - f) / (1.0 - f))
            .ceil()
            .min(0.99 * n - 1.0)
            .max(0.0)
    };
    let counts: Vec<(f64, f64)> = all
        .iter()
        .enumerate()
        .map(|(j, &le)| (le, if j < i { below } else { n }))
        .collect();
    let mid = if hi.is_finite() {
        f64::midpoint(lo, hi)
    } else {
        2.0 * lo
    };
    let sum = as_printed(below * all[0] / 2.0 + (n - below) * mid);
    (counts, sum)
}

/// The catalog's buckets of a pool's wait-time histogram, when declared.
pub(crate) fn inputs_buckets<'m>(model: &'m Model, pool: &Pool) -> Option<&'m [f64]> {
    let m = model.catalog.get(pool.roles.wait_time.as_deref()?)?;
    m.buckets.as_deref().filter(|b| !b.is_empty())
}

/// The headroom of the spec's capacity planning (1 without it: then unused).
pub(crate) fn headroom(model: &Model) -> f64 {
    model.capacity.as_ref().map_or(1.0, |c| c.headroom)
}

/// The pools (by index) that may see a pool's test series: those whose selector is a subset
/// of the series' labels. A superset is enough ([`Series::seen_by`] decides); finding them
/// through the selectors keeps a fleet's test generation linear.
pub(crate) fn viewers(pools: &[Pool], labels: &[PoolLabels]) -> Vec<Vec<usize>> {
    /// More labels than this and every pool is a candidate (2^N subsets would be tried).
    const MAX_SUBSET_LABELS: usize = 12;
    let mut by_selector: HashMap<Vec<(&str, &str)>, Vec<usize>> = HashMap::new();
    // A selector on `le` may match a histogram bucket whatever the pool: always a candidate.
    let mut on_le = Vec::new();
    for (q, pool) in pools.iter().enumerate() {
        if pool.selector.iter().any(|(k, _)| k == "le") {
            on_le.push(q);
        } else {
            let key = pool.selector.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            by_selector.entry(key.collect()).or_default().push(q);
        }
    }
    labels
        .iter()
        .enumerate()
        .map(|(ix, labels)| {
            let labels: Vec<(&str, &str)> = labels
                .instance(Instance::Hot)
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if labels.len() > MAX_SUBSET_LABELS {
                return (0..pools.len()).collect();
            }
            let mut out = on_le.clone();
            let mut key = Vec::with_capacity(labels.len());
            for mask in 0u32..(1 << labels.len()) {
                key.clear();
                key.extend(
                    labels
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, kv)| *kv),
                );
                if let Some(qs) = by_selector.get(&key) {
                    out.extend(qs);
                }
            }
            debug_assert!(out.contains(&ix));
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect()
}
