//! promtool unit tests for the rule file, generated from the policies: for every alert,
//! series that fire it after its `for`, a case at the `for` boundary (still pending), a case
//! just on the silent side of its threshold and a healthy case; for every pool, the values
//! of its recording rules.
//!
//! Expected alerts come from replaying Prometheus's pending → firing state machine over the
//! values the generated inputs give each alert's expression, and expected annotations from
//! expanding the rule's own templates ([`super::prom_template`]). An alert that no input can
//! fire, or that no input keeps silent, cannot be proven and is refused.
//!
//! promtool compares recording-rule values exactly, so they are computed operation for
//! operation as Prometheus 2 computes them. Prometheus 3 evaluates rate() over a left-open
//! window and may differ in the last bit there; alert cases do not depend on it (thresholds
//! have margins, annotations print four digits).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

use super::prom_template;
use super::prometheus::{Rule, RuleFile};
use super::promql::{matchers, push_matchers};
use crate::conventions::{self, number};
use crate::diag::{Code, Diagnostic};
use crate::model::{Comparison, Model, Pool, PromDuration, Role, Signal, ValueUnit};

pub const UNTESTABLE: Code = Code {
    code: "PW021",
    name: "untestable-alert",
};

/// A promtool unit-test file, as `promtool test rules` reads it.
#[derive(Debug, Clone, Serialize)]
pub struct TestFile {
    pub rule_files: Vec<String>,
    pub evaluation_interval: String,
    /// promtool evaluates groups in map order unless told: recording rules first, so an
    /// alert reading a recorded series (the undersized alert) sees this step's value.
    pub group_eval_order: Vec<String>,
    pub tests: Vec<TestGroup>,
}

/// One test: input series, and what the rules must produce from them.
#[derive(Debug, Clone, Serialize)]
pub struct TestGroup {
    pub name: String,
    pub interval: String,
    pub input_series: Vec<InputSeries>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alert_rule_test: Vec<AlertRuleTest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub promql_expr_test: Vec<PromqlExprTest>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputSeries {
    pub series: String,
    pub values: String,
}

/// The alerts named `alertname` that must be firing at `eval_time` (none: an empty list).
#[derive(Debug, Clone, Serialize)]
pub struct AlertRuleTest {
    pub eval_time: String,
    pub alertname: String,
    pub exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpAlert {
    pub exp_labels: BTreeMap<String, String>,
    pub exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PromqlExprTest {
    pub expr: String,
    pub eval_time: String,
    pub exp_samples: Vec<ExpSample>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpSample {
    pub labels: String,
    pub value: f64,
}

/// How many alerts have both a firing and a silent case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    pub alerts: usize,
    pub firing_and_silent: usize,
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "alerts with a firing and a silent case: {}/{}",
            self.firing_and_silent, self.alerts
        )
    }
}

/// Builds the unit tests of a rule file, or a diagnostic for every alert that cannot be
/// given a firing and a silent case.
pub fn test_file(model: &Model, rules: &RuleFile) -> Result<(TestFile, Coverage), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut alerts = Vec::new();
    let pool_ix: HashMap<&str, usize> = model
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    for group in rules
        .groups
        .iter()
        .filter(|g| g.name == conventions::ALERT_GROUP)
    {
        for rule in group.rules.iter().filter(|r| r.alert.is_some()) {
            match Alert::new(model, &pool_ix, rule) {
                Ok(a) => alerts.push(a),
                Err(e) => diags.push(untestable(rule, &e)),
            }
        }
    }
    let timing = Timing::new(model.rate_window, alerts.iter().map(|a| a.for_));
    // A test evaluates every rule at every step: durations whose common step is tiny
    // against the longest of them (a 1d window with a 7ms `for`) would need millions.
    let longest = alerts
        .iter()
        .map(|a| a.for_)
        .chain(std::iter::once(model.rate_window))
        .max()
        .unwrap_or(model.rate_window);
    let needed = timing.window_steps + timing.steps(longest);
    if needed > MAX_STEPS {
        let reason = format!(
            "the rate window and the `for` durations share an evaluation step of {}, so a \
             test would need {needed} steps (at most {MAX_STEPS}); use durations that are \
             multiples of a larger common step, such as whole seconds or minutes",
            timing.time(1)
        );
        diags.extend(alerts.iter().map(|a| untestable(a.rule, &reason)));
        return Err(diags);
    }
    let tests = Tests::new(model, &alerts, timing);
    let mut groups = Vec::new();
    let mut covered = 0;
    // Each alert's tests are independent of the others': build them on every core.
    let built: Vec<(&Alert, Result<Vec<TestGroup>, String>)> = alerts
        .iter()
        .filter(|a| a.signal != Signal::Absent)
        .map(|a| (a, tests.alert_groups(a)))
        .collect();
    for (a, built) in built {
        match built {
            Ok(mut g) => {
                covered += 1;
                groups.append(&mut g);
            }
            Err(e) => diags.push(untestable(a.rule, &e)),
        }
    }
    // Absence is proven for every pool at once: a test per pool would have to feed every
    // other pool's metrics, and grow with the square of the fleet.
    let absent: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.signal == Signal::Absent)
        .collect();
    let mut names: Vec<&str> = absent.iter().map(|a| a.name()).collect();
    names.dedup();
    for name in names {
        let of_name = absent.iter().filter(|a| a.name() == name);
        match tests.absent_groups(name) {
            Ok(mut g) => {
                covered += of_name.count();
                groups.append(&mut g);
            }
            Err(e) => diags.extend(of_name.map(|a| untestable(a.rule, &e))),
        }
    }
    let mut records: Vec<Vec<&Rule>> = vec![Vec::new(); model.pools.len()];
    for r in rules
        .groups
        .iter()
        .filter(|g| g.name == conventions::RECORDING_GROUP)
        .flat_map(|g| &g.rules)
        .filter(|r| r.record.is_some())
    {
        if let Some(&ix) = pool_ix.get(r.origin.pool.as_str()) {
            records[ix].push(r);
        }
    }
    let built: Vec<_> = model
        .pools
        .iter()
        .enumerate()
        .zip(&records)
        .map(|((ix, pool), records)| (pool, tests.recording_group(ix, pool, records)))
        .collect();
    for (pool, built) in built {
        match built {
            Ok(Some(g)) => groups.push(g),
            Ok(None) => {}
            Err(e) => diags.push(
                Diagnostic::error(UNTESTABLE, e)
                    .object(format!("recording rules of pool {}", pool.name))
                    .at(pool.span.clone()),
            ),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let file = TestFile {
        rule_files: vec![conventions::rule_file_name()],
        evaluation_interval: timing.time(1),
        group_eval_order: vec![
            conventions::RECORDING_GROUP.to_string(),
            conventions::ALERT_GROUP.to_string(),
        ],
        tests: groups,
    };
    let coverage = Coverage {
        alerts: alerts.len(),
        firing_and_silent: covered,
    };
    Ok((file, coverage))
}

fn untestable(rule: &Rule, reason: &str) -> Diagnostic {
    let severity = rule.labels.get("severity").map_or("", String::as_str);
    let mut d = Diagnostic::error(
        UNTESTABLE,
        format!("alert {} cannot be given a test: {reason}", rule.name()),
    )
    .object(format!("{} with severity {severity}", rule.describe()))
    .at(rule.origin.span.clone());
    let ratio = rule
        .origin
        .signal
        .is_some_and(|s| s.unit() == ValueUnit::Ratio);
    if ratio && rule.origin.threshold.is_some_and(|t| t >= 1.0) {
        d = d.help(
            "utilization is active / size and cannot exceed 1 (100%): use a threshold below 1",
        );
    } else {
        d = d.help("choose a threshold that some input crosses and some input stays clear of");
    }
    d
}

/// The most evaluation steps a generated test may take.
const MAX_STEPS: u64 = 20_000;

/// The evaluation step of every test, and the rate window counted in steps.
#[derive(Debug, Clone, Copy)]
struct Timing {
    step_ms: u64,
    window_steps: u64,
}

impl Timing {
    /// The largest step dividing a minute, the rate window and every `for`, made small
    /// enough that the rate window holds at least four samples: rate() then has samples to
    /// work with whether the window's start is included (Prometheus 2) or not (3).
    fn new(window: PromDuration, fors: impl Iterator<Item = PromDuration>) -> Self {
        let w = window.millis().max(1);
        let mut step = gcd(60_000, w);
        for f in fors.filter(|f| !f.is_zero()) {
            step = gcd(step, f.millis());
        }
        while w / step < 4 {
            match (2..=step).find(|d| step.is_multiple_of(*d)) {
                Some(d) => step /= d,
                None => break,
            }
        }
        Self {
            step_ms: step,
            window_steps: w / step,
        }
    }

    /// Steps a duration takes, rounded up.
    fn steps(self, d: PromDuration) -> u64 {
        d.millis().div_ceil(self.step_ms)
    }

    /// The time of a step, as a promtool `eval_time`.
    fn time(self, step: u64) -> String {
        PromDuration::from_millis(step * self.step_ms).to_string()
    }

    fn step_secs(self) -> f64 {
        self.step_ms as f64 / 1000.0
    }

    fn window_secs(self) -> f64 {
        (self.window_steps * self.step_ms) as f64 / 1000.0
    }

    /// rate() at step `k` of a counter rising by `per_step` every step from 0, computed as
    /// Prometheus 2 does, operation for operation (its unit tests compare values exactly).
    /// A counter is not extrapolated below zero, so the rate grows each step until the
    /// window is full, then settles; the extrapolation factor is then exactly 1.
    fn rate(self, per_step: f64, k: u64) -> f64 {
        let increase = k.min(self.window_steps) as f64 * per_step;
        increase * (1.0 / self.window_secs())
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// An input series standing for one of a pool's metrics.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    role: Role,
    /// `_bucket`, `_sum`, `_count` for a histogram's series, else empty.
    suffix: &'static str,
    metric: String,
    labels: BTreeMap<String, String>,
    /// promtool's expanding notation: `100x10`, `0+1x10`.
    values: String,
}

impl Series {
    fn input(&self) -> InputSeries {
        let pairs: Vec<(&str, &str)> = self
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut series = self.metric.clone();
        push_matchers(&mut series, &pairs);
        InputSeries {
            series,
            values: self.values.clone(),
        }
    }

    /// Whether the pool's queries for this series' role select it.
    fn seen_by(&self, pool: &Pool) -> bool {
        self.metric.strip_suffix(self.suffix) == pool.roles.get(self.role)
            && pool
                .selector
                .iter()
                .all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

/// The value a signal's expression takes at each evaluation step of a test.
#[derive(Debug, Clone, Copy)]
enum Trace {
    /// `value` from step `from` on, no result before.
    Constant { from: u64, value: f64 },
    /// rate() of a counter rising by `per_step` every step from 0 (see [`Timing::rate`]).
    Ramp { per_step: f64 },
    /// A counter series born at step `at` at a value and never rising again: counted as
    /// `value` (that many events over the rate window, per second) for a window, then 0.
    Born { at: u64, value: f64 },
}

impl Trace {
    fn at(self, k: u64, t: Timing) -> Option<f64> {
        match self {
            Trace::Constant { from, value } => (k >= from).then_some(value),
            Trace::Ramp { per_step } => (k >= 1).then(|| t.rate(per_step, k)),
            Trace::Born { at, value } => {
                (k >= at).then(|| if k < at + t.window_steps { value } else { 0.0 })
            }
        }
    }

    /// The first step from which the value stays the same.
    fn steady_from(self, t: Timing) -> u64 {
        match self {
            Trace::Constant { from, .. } => from,
            Trace::Ramp { .. } => t.window_steps,
            Trace::Born { at, .. } => at + t.window_steps,
        }
    }
}

/// A test's input series, and the value they give the signal they were built for (None for
/// the presence scenarios of the absent alert, whose value depends on each pool).
#[derive(Debug, Clone)]
struct Scenario {
    series: Vec<Series>,
    /// The grouping labels of the pool instance the trace is about (the hot one).
    hot: BTreeMap<String, String>,
    trace: Option<Trace>,
    /// The index of the pool whose inputs these are (None when they mix pools).
    origin: Option<usize>,
    /// For the presence scenario: which pools (by index) see one of its size series.
    sizes_seen: Option<Vec<bool>>,
}

impl Scenario {
    fn inputs(&self) -> Vec<InputSeries> {
        self.series.iter().map(Series::input).collect()
    }

    /// The settled value, for test names.
    fn shown(&self, t: Timing) -> String {
        self.trace
            .and_then(|tr| tr.at(tr.steady_from(t), t))
            .map_or_else(String::new, number)
    }
}

/// The signal values a test drives an alert's expression to.
#[derive(Debug, Clone, Copy)]
struct Targets {
    firing: f64,
    silent: f64,
    healthy: f64,
}

/// Where the "just below the threshold" case sits, as a share of the threshold: above what a
/// threshold lowered by a tenth would still let pass.
const JUST_BELOW: f64 = 0.99;

/// Builds one pool's test inputs. The only place that knows how each signal is fed.
#[derive(Debug, Clone, Copy)]
struct Inputs<'a> {
    model: &'a Model,
    pool: &'a Pool,
    /// The pool's index in the model.
    ix: usize,
    timing: Timing,
    /// Samples per series: steps 0 to `steps`.
    steps: u64,
    /// Headroom of the recommended size (capacity planning), for the undersized alert.
    headroom: f64,
}

/// The configured pool size of the undersized alert's tests; its "threshold".
const UNDERSIZED_SIZE: f64 = 10.0;

impl<'a> Inputs<'a> {
    /// The hot pool instance's selector and grouping labels.
    fn labels(&self) -> BTreeMap<String, String> {
        Self::labels_of(self.pool)
    }

    /// A pool's selector labels, and a value for each grouping label (identity and kept),
    /// for its first (hot) instance.
    fn labels_of(pool: &Pool) -> BTreeMap<String, String> {
        Self::instance_labels(pool, 1)
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

    fn series(&self, role: Role, suffix: &'static str, le: Option<f64>, values: String) -> Series {
        self.series_of(1, role, suffix, le, values)
    }

    /// A series of the `n`th instance: the role's metric with the labels its series carry
    /// (identity labels bound with `match` under the metric's own name, those it lacks
    /// left out).
    fn series_of(
        &self,
        n: u32,
        role: Role,
        suffix: &'static str,
        le: Option<f64>,
        values: String,
    ) -> Series {
        let mut labels = Self::instance_labels(self.pool, n);
        let covered = self.pool.covered(role);
        let group = self.pool.group_labels();
        labels.retain(|k, _| !group.contains(&k.as_str()) || covered.contains(&k.as_str()));
        for (id_label, metric_label) in self.pool.roles.matches(role) {
            if let Some(v) = labels.remove(id_label) {
                labels.insert(metric_label.clone(), v);
            }
        }
        if let Some(le) = le {
            labels.insert("le".to_string(), number(le));
        }
        Series {
            role,
            suffix,
            metric: format!("{}{suffix}", self.pool.roles.get(role).unwrap_or_default()),
            labels,
            values,
        }
    }

    /// The series of `sc` moved to the `n`th instance.
    fn moved(&self, sc: &Scenario, n: u32) -> Vec<Series> {
        sc.series
            .iter()
            .map(|s| {
                let le = s.labels.get("le").and_then(|v| v.parse().ok());
                self.series_of(n, s.role, s.suffix, le, s.values.clone())
            })
            .collect()
    }

    /// The catalog's finite buckets of a histogram role (None when the spec declares none).
    fn buckets(&self, role: Role) -> Option<&'a [f64]> {
        let m = self.model.catalog.get(self.pool.roles.get(role)?)?;
        m.buckets.as_deref().filter(|b| !b.is_empty())
    }

    fn constant(&self, v: f64) -> String {
        format!("{}x{}", number(v), self.steps)
    }

    fn rising(&self, per_step: f64) -> String {
        format!("0+{}x{}", number(per_step), self.steps)
    }

    /// A histogram's `_bucket`, `_sum` and `_count` series, rising every step by the
    /// cumulative bucket counts (`le`, count; the last is `+Inf`) and the sum.
    fn histogram(&self, role: Role, buckets: &[(f64, f64)], sum: f64) -> Vec<Series> {
        let mut out: Vec<Series> = buckets
            .iter()
            .map(|&(le, count)| self.series(role, "_bucket", Some(le), self.rising(count)))
            .collect();
        let count = buckets.last().map_or(0.0, |b| b.1);
        out.push(self.series(role, "_sum", None, self.rising(sum)));
        out.push(self.series(role, "_count", None, self.rising(count)));
        out
    }

    /// The firing, just-silent and healthy values for an alert level on `signal`; `levels`
    /// are all the policy's thresholds.
    fn targets(&self, signal: Signal, t: f64, levels: &[f64]) -> Targets {
        let lowest = levels.iter().copied().fold(t, f64::min);
        let highest = levels.iter().copied().fold(t, f64::max);
        match signal {
            Signal::Utilization | Signal::SlowQueries => Targets {
                firing: f64::midpoint(t, 1.0),
                silent: t * JUST_BELOW,
                healthy: lowest / 2.0,
            },
            Signal::WaitTimeP99 | Signal::QueryDurationP99 => Targets {
                firing: if t > 0.0 { 2.0 * t } else { 1.0 },
                silent: t * JUST_BELOW,
                healthy: lowest / 2.0,
            },
            // rate() grows while its window fills: rise fast enough to be above the
            // threshold from the first evaluation on (one event a step above zero).
            Signal::AcquisitionTimeouts | Signal::CreationErrors => Targets {
                firing: if t > 0.0 {
                    2.0 * t * self.timing.window_steps as f64
                } else {
                    1.0 / self.timing.step_secs()
                },
                silent: t * JUST_BELOW,
                healthy: 0.0,
            },
            Signal::Exhausted => Targets {
                firing: t.floor(),
                silent: t.floor() + 1.0,
                healthy: highest.floor() + 5.0,
            },
            // Recommended sizes against a pool of UNDERSIZED_SIZE: above it; equal to it
            // (`>` does not hold); half of it.
            Signal::Undersized => Targets {
                firing: 2.0 * t,
                silent: t,
                healthy: t / 2.0,
            },
            // Absence is a matter of which series exist: see `presence`.
            Signal::Absent => Targets {
                firing: 1.0,
                silent: 0.0,
                healthy: 0.0,
            },
        }
    }

    /// Series that drive `signal` to `value` (for a counter, the rate it settles at), or
    /// None when no series can.
    fn scenario(&self, signal: Signal, value: f64) -> Option<Scenario> {
        let constant = |value: f64| Some(Trace::Constant { from: 0, value });
        let (series, trace) = match signal {
            Signal::Utilization => {
                let (active, size) = ratio(value)?;
                (
                    vec![
                        self.series(Role::Size, "", None, self.constant(size)),
                        self.series(Role::Active, "", None, self.constant(active)),
                    ],
                    constant(active / size),
                )
            }
            // Free connections are size - active: ten connections busy, `value` more in the
            // pool; where the library counts waiting clients, some wait.
            Signal::Exhausted => {
                let mut series = vec![
                    self.series(Role::Size, "", None, self.constant(value + 10.0)),
                    self.series(Role::Active, "", None, self.constant(10.0)),
                ];
                if self.pool.roles.waiting.is_some() {
                    series.push(self.series(Role::Waiting, "", None, self.constant(3.0)));
                }
                (series, constant(value))
            }
            Signal::SlowQueries => {
                let buckets = self.buckets(Role::QueryDuration)?;
                let top = *buckets.last()?;
                // SHARE_OF observations a step, `above` of them slower than the top bucket.
                let n = SHARE_OF;
                let above = (value * n).floor();
                let below = n - above;
                let mut series: Vec<Series> = buckets
                    .iter()
                    .map(|&le| {
                        self.series(Role::QueryDuration, "_bucket", Some(le), self.rising(below))
                    })
                    .collect();
                series.push(self.series(
                    Role::QueryDuration,
                    "_bucket",
                    Some(f64::INFINITY),
                    self.rising(n),
                ));
                let sum = as_printed(below * top / 2.0 + above * 2.0 * top);
                series.push(self.series(Role::QueryDuration, "_sum", None, self.rising(sum)));
                series.push(self.series(Role::QueryDuration, "_count", None, self.rising(n)));
                let t = self.timing;
                let at = t.window_steps;
                let (count, bucket) = (t.rate(n, at), t.rate(below, at));
                (
                    series,
                    Some(Trace::Constant {
                        from: 1,
                        value: (count - bucket) / count,
                    }),
                )
            }
            Signal::Undersized => {
                // The largest steady use whose recommended size, ceil(headroom * use), is
                // at most `value`. Recording rules are evaluated before alerts
                // (`group_eval_order`), so the alert sees the recommendation from step 0.
                let active = (value / self.headroom).floor();
                let recommended = (self.headroom * active).ceil();
                if active < 1.0 || recommended > value {
                    return None;
                }
                (
                    vec![
                        self.series(Role::Size, "", None, self.constant(UNDERSIZED_SIZE)),
                        self.series(Role::Active, "", None, self.constant(active)),
                    ],
                    Some(Trace::Constant {
                        from: 0,
                        value: recommended,
                    }),
                )
            }
            Signal::AcquisitionTimeouts | Signal::CreationErrors => {
                let role = if signal == Signal::AcquisitionTimeouts {
                    Role::AcquisitionTimeouts
                } else {
                    Role::CreationErrors
                };
                let per_step = as_printed(value * self.timing.step_secs());
                (
                    vec![self.series(role, "", None, self.rising(per_step))],
                    Some(Trace::Ramp { per_step }),
                )
            }
            Signal::WaitTimeP99 | Signal::QueryDurationP99 => {
                let role = if signal == Signal::WaitTimeP99 {
                    Role::WaitTime
                } else {
                    Role::QueryDuration
                };
                if let Some(bounds) = self.buckets(role) {
                    let (cumulative, sum) = real_buckets(bounds, value);
                    let p99 = bucket_quantile(0.99, &cumulative);
                    return Some(self.scenario_of(
                        self.histogram(role, &cumulative, sum),
                        Some(Trace::Constant {
                            from: 1,
                            value: p99,
                        }),
                    ));
                }
                // Without declared buckets: 99 of every 100 observations at or below `value`
                // (at half of it), one above (at twice it): the 99th percentile is the
                // bucket bound `value`.
                let value = as_printed(value);
                let buckets = if value > 0.0 {
                    [(value, 99.0), (f64::INFINITY, 100.0)]
                } else {
                    [(value, 100.0), (f64::INFINITY, 100.0)]
                };
                let sum = as_printed(99.0 * value / 2.0 + 2.0 * value);
                (
                    self.histogram(role, &buckets, sum),
                    Some(Trace::Constant {
                        from: 1,
                        value: bucket_quantile(0.99, &buckets),
                    }),
                )
            }
            Signal::Absent => return None,
        };
        Some(self.scenario_of(series, trace))
    }

    /// A scenario of the hot instance's series.
    fn scenario_of(&self, series: Vec<Series>, trace: Option<Trace>) -> Scenario {
        Scenario {
            series,
            hot: Self::instance_labels(self.pool, 1),
            trace,
            origin: Some(self.ix),
            sizes_seen: None,
        }
    }
}

/// Observations a step in share and real-bucket scenarios: fine enough to place a share or
/// a quantile within 0.01%.
const SHARE_OF: f64 = 10_000.0;

/// Cumulative counts over a histogram's real buckets (then `+Inf`) whose p99 comes close to
/// `value` from below, and their sum: of SHARE_OF observations, some in the lowest bucket
/// and the rest in the bucket holding `value`, so that the 99th one falls at `value`. At or
/// below zero there is no observation (histogram_quantile gives NaN: no alert).
fn real_buckets(bounds: &[f64], value: f64) -> (Vec<(f64, f64)>, f64) {
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

/// `(active, size)` whose ratio is within 0.1% of `value`, with the smallest power-of-ten
/// size from 100.
fn ratio(value: f64) -> Option<(f64, f64)> {
    (2..=9).map(|k| 10f64.powi(k)).find_map(|size| {
        let active = (value * size).round();
        ((active / size - value).abs() <= value.abs() * 0.001).then_some((active, size))
    })
}

/// The number promtool reads back from the text poolwatch prints for `x`.
fn as_printed(x: f64) -> f64 {
    number(x).parse().unwrap_or(x)
}

/// Prometheus's `histogram_quantile` over cumulative buckets sorted by bound, the last
/// `+Inf`.
fn bucket_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    let n = buckets.len();
    let total = buckets.last().map_or(0.0, |b| b.1);
    if n < 2 || total == 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let b = buckets[..n - 1]
        .iter()
        .position(|&(_, c)| c >= rank)
        .unwrap_or(n - 1);
    if b == n - 1 {
        return buckets[n - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let (end, count) = buckets[b];
    let (start, before) = if b > 0 { buckets[b - 1] } else { (0.0, 0.0) };
    start + (end - start) * ((rank - before) / (count - before))
}

/// The catalog's buckets of a pool's wait-time histogram, when declared.
fn inputs_buckets<'m>(model: &'m Model, pool: &Pool) -> Option<&'m [f64]> {
    let m = model.catalog.get(pool.roles.wait_time.as_deref()?)?;
    m.buckets.as_deref().filter(|b| !b.is_empty())
}

/// The headroom of the spec's capacity planning (1 without it: then unused).
fn headroom(model: &Model) -> f64 {
    model.capacity.as_ref().map_or(1.0, |c| c.headroom)
}

/// Prometheus's `quantile_over_time` (promql's `quantile`), operation for operation.
fn quantile(q: f64, mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// The pools (by index) that may see a pool's test series: those whose selector is a subset
/// of the series' labels. A superset is enough ([`Series::seen_by`] decides); finding them
/// through the selectors keeps a fleet's test generation linear.
fn viewers(pools: &[Pool]) -> Vec<Vec<usize>> {
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
    pools
        .iter()
        .enumerate()
        .map(|(ix, pool)| {
            let labels = Inputs::labels_of(pool);
            let labels: Vec<(&str, &str)> = labels
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

/// An alerting rule, with what its tests need to know.
#[derive(Debug)]
struct Alert<'a> {
    rule: &'a Rule,
    pool: &'a Pool,
    /// The pool's index in the model.
    pool_ix: usize,
    signal: Signal,
    threshold: Option<f64>,
    for_: PromDuration,
}

impl<'a> Alert<'a> {
    fn new(model: &'a Model, pools: &HashMap<&str, usize>, rule: &'a Rule) -> Result<Self, String> {
        let pool_ix = *pools
            .get(rule.origin.pool.as_str())
            .ok_or("its pool is not in the spec")?;
        let pool = &model.pools[pool_ix];
        let signal = rule.origin.signal.ok_or("it watches no known signal")?;
        let for_ = PromDuration::parse(rule.for_.as_deref().unwrap_or("0s"))?;
        // The undersized alert compares the recommended size with the configured one: in
        // its tests the pool is configured with UNDERSIZED_SIZE connections.
        let threshold = match signal {
            Signal::Undersized => Some(UNDERSIZED_SIZE),
            _ => rule.origin.threshold,
        };
        if signal != Signal::Absent && threshold.is_none() {
            return Err("it has no threshold".into());
        }
        Ok(Self {
            rule,
            pool,
            pool_ix,
            signal,
            threshold,
            for_,
        })
    }

    fn name(&self) -> &str {
        self.rule.name()
    }

    fn describe(&self) -> String {
        let severity = self.rule.labels.get("severity").map_or("", String::as_str);
        format!(
            "{} pool={} severity={severity}",
            self.name(),
            self.pool.name
        )
    }

    /// Whether the alert's condition holds for a value of its expression.
    fn holds(&self, v: f64) -> bool {
        match self.threshold {
            None => true,
            Some(t) => match self.signal.comparison() {
                Comparison::Above => v > t,
                Comparison::AtOrBelow => v <= t,
            },
        }
    }

    /// The value and labels of the alert's expression at step `k` of a scenario, when its
    /// condition holds.
    fn hit(&self, sc: &Scenario, k: u64, t: Timing) -> Option<(f64, BTreeMap<String, String>)> {
        let pool = self.pool;
        if self.signal == Signal::Absent {
            // absent() yields 1 with the selector's equality matchers as labels.
            let present = match &sc.sizes_seen {
                Some(seen) => seen.get(self.pool_ix).copied().unwrap_or(false),
                None => sc
                    .series
                    .iter()
                    .any(|s| s.role == Role::Size && s.seen_by(pool)),
            };
            return (!present).then(|| (1.0, pool.selector.iter().cloned().collect()));
        }
        if !self.sees(sc) {
            return None;
        }
        let value = self.seen_value(sc, k, t)?;
        Some((value, self.labels(sc)))
    }

    /// Whether the alert's pool selects every series of a scenario (and there is one).
    fn sees(&self, sc: &Scenario) -> bool {
        !sc.series.is_empty() && sc.series.iter().all(|s| s.seen_by(self.pool))
    }

    /// The expression's value at step `k` of a scenario the alert [`Alert::sees`] (not an
    /// absence alert), when its condition holds.
    fn seen_value(&self, sc: &Scenario, k: u64, t: Timing) -> Option<f64> {
        sc.trace?.at(k, t).filter(|v| self.holds(*v))
    }

    /// The labels the expression keeps: the hot instance's grouping labels.
    fn labels(&self, sc: &Scenario) -> BTreeMap<String, String> {
        let group = self.pool.group_labels();
        let mut labels = sc.hot.clone();
        labels.retain(|k, _| group.contains(&k.as_str()));
        labels
    }

    /// The alert's value and labels if it is firing at step `n`: its condition has held
    /// without a break for at least `for` (Prometheus's pending → firing state machine,
    /// evaluated every step from 0).
    fn firing(&self, sc: &Scenario, n: u64, t: Timing) -> Option<(f64, BTreeMap<String, String>)> {
        // Input series are constant from step 0 on, so absent() gives the same answer at
        // every step; and an alert that selects none of the series never holds.
        if self.signal == Signal::Absent {
            let hit = self.hit(sc, 0, t)?;
            return (n >= t.steps(self.for_)).then_some(hit);
        }
        if !self.sees(sc) {
            return None;
        }
        let mut since = None;
        let mut last = None;
        for k in 0..=n {
            last = self.seen_value(sc, k, t);
            since = if last.is_some() {
                since.or(Some(k))
            } else {
                None
            };
        }
        let value = last?;
        (n - since? >= t.steps(self.for_)).then(|| (value, self.labels(sc)))
    }

    /// What promtool must see for this alert: the expression's labels with the rule's on
    /// top, and the annotations as Prometheus expands them.
    fn expected(&self, value: f64, labels: &BTreeMap<String, String>) -> Result<ExpAlert, String> {
        let mut exp_labels = labels.clone();
        exp_labels.extend(self.rule.labels.clone());
        let mut exp_annotations = BTreeMap::new();
        if let Some(a) = &self.rule.annotations {
            for (key, text) in [
                ("summary", &a.summary),
                ("description", &a.description),
                ("runbook_url", &a.runbook_url),
            ] {
                let text = prom_template::expand(text, value, labels)
                    .map_err(|e| format!("cannot predict its {key} annotation: {e}"))?;
                exp_annotations.insert(key.to_string(), text);
            }
        }
        Ok(ExpAlert {
            exp_labels,
            exp_annotations,
        })
    }
}

/// The test generator for one rule file.
#[derive(Debug)]
struct Tests<'a> {
    model: &'a Model,
    alerts: &'a [Alert<'a>],
    /// The alerts of each name (every pool and level), so a check looks only at those.
    by_name: BTreeMap<&'a str, Vec<&'a Alert<'a>>>,
    /// Indices into `alerts` by name and pool index.
    by_pool: HashMap<(&'a str, usize), Vec<usize>>,
    /// For each pool, the pools that may see its test series ([`viewers`]).
    viewers: Vec<Vec<usize>>,
    timing: Timing,
}

impl<'a> Tests<'a> {
    fn new(model: &'a Model, alerts: &'a [Alert<'a>], timing: Timing) -> Self {
        let mut by_name: BTreeMap<&str, Vec<&Alert>> = BTreeMap::new();
        let mut by_pool: HashMap<_, Vec<usize>> = HashMap::new();
        for (i, a) in alerts.iter().enumerate() {
            by_name.entry(a.name()).or_default().push(a);
            by_pool.entry((a.name(), a.pool_ix)).or_default().push(i);
        }
        Self {
            model,
            alerts,
            by_name,
            by_pool,
            viewers: viewers(&model.pools),
            timing,
        }
    }

    /// The alerts named `alertname` that may fire on a scenario, in rule order: for a
    /// pool's scenarios only the pools that may see its series (this keeps a fleet's test
    /// generation linear); for absence, every pool.
    fn candidates(&self, alertname: &str, sc: &Scenario) -> Vec<&'a Alert<'a>> {
        let absence = self
            .named(alertname)
            .next()
            .is_some_and(|a| a.signal == Signal::Absent);
        let Some(origin) = sc.origin.filter(|_| !absence) else {
            return self.named(alertname).collect();
        };
        let mut idx: Vec<usize> = self
            .viewers
            .get(origin)
            .into_iter()
            .flatten()
            .filter_map(|&q| self.by_pool.get(&(alertname, q)))
            .flatten()
            .copied()
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter().map(|i| &self.alerts[i]).collect()
    }

    /// Every alert named `name`.
    fn named(&self, name: &str) -> impl Iterator<Item = &'a Alert<'a>> + '_ {
        self.by_name.get(name).into_iter().flatten().copied()
    }

    /// The alerts named `alertname` firing at step `n` of a scenario, from every pool.
    fn check(&self, alertname: &str, sc: &Scenario, n: u64) -> Result<AlertRuleTest, String> {
        let mut exp_alerts = Vec::new();
        for a in self.candidates(alertname, sc) {
            if let Some((value, labels)) = a.firing(sc, n, self.timing) {
                exp_alerts.push(a.expected(value, &labels)?);
            }
        }
        Ok(AlertRuleTest {
            eval_time: self.timing.time(n),
            alertname: alertname.to_string(),
            exp_alerts,
        })
    }

    fn group(&self, name: String, sc: &Scenario, checks: Vec<AlertRuleTest>) -> TestGroup {
        TestGroup {
            name,
            interval: self.timing.time(1),
            input_series: sc.inputs(),
            alert_rule_test: checks,
            promql_expr_test: Vec::new(),
        }
    }

    /// The firing (with its `for` boundary), silent and healthy tests of one alert.
    fn alert_groups(&self, a: &Alert) -> Result<Vec<TestGroup>, String> {
        let t = self.timing;
        let wait = t.steps(a.for_);
        // Levels sharing the alert's name (warning and critical of one policy) may fire on
        // the same input once their own `for` has passed: the tests run until the longest.
        let longest = self
            .named(a.name())
            .map(|b| t.steps(b.for_))
            .fold(wait, u64::max);
        let steps = t.window_steps + longest + 2;
        let inputs = Inputs {
            model: self.model,
            pool: a.pool,
            ix: a.pool_ix,
            timing: t,
            steps,
            headroom: headroom(self.model),
        };
        let for_ = a.for_.to_string();
        let (firing, silent, healthy, firing_name, silent_name) = {
            let threshold = a.threshold.unwrap_or_default();
            let levels: Vec<f64> = a
                .pool
                .policies
                .get(a.signal)
                .map(|p| p.levels.iter().map(|l| l.value).collect())
                .unwrap_or_default();
            let targets = inputs.targets(a.signal, threshold, &levels);
            // Every world has a second, idle pool instance beside the one the test is
            // about: an alert must fire for the hot instance only, with its labels.
            let idle = inputs.scenario(a.signal, targets.healthy);
            let realize = |v: f64| {
                let mut sc = inputs
                    .scenario(a.signal, v)
                    .ok_or_else(|| format!("no input series give its signal {}", number(v)))?;
                if let Some(idle) = &idle {
                    sc.series.extend(inputs.moved(idle, 2));
                }
                Ok::<Scenario, String>(sc)
            };
            let (firing, silent) = (realize(targets.firing)?, realize(targets.silent)?);
            let op = a.signal.comparison().operator();
            let (firing_name, silent_name) = (
                format!("fires at {} after {for_}", firing.shown(t)),
                format!(
                    "silent at {}, just clear of {op} {}",
                    silent.shown(t),
                    number(threshold)
                ),
            );
            let healthy = realize(targets.healthy)?;
            (firing, silent, Some(healthy), firing_name, silent_name)
        };

        let onset = (0..=steps)
            .find(|&k| a.hit(&firing, k, t).is_some())
            .ok_or("no input makes it fire")?;
        let fire_at = onset + wait;
        if fire_at > steps || a.firing(&firing, fire_at, t).is_none() {
            return Err("no input keeps it firing until its `for` has passed".into());
        }
        if (0..=steps).any(|k| a.hit(&silent, k, t).is_some()) {
            return Err("no input keeps it silent".into());
        }
        let mut checks = Vec::new();
        if wait > 0 {
            checks.push(self.check(a.name(), &firing, fire_at - 1)?);
        }
        checks.push(self.check(a.name(), &firing, fire_at)?);
        if onset + longest > fire_at {
            // Every level the input crosses is firing by now, this one included.
            checks.push(self.check(a.name(), &firing, onset + longest)?);
        }
        let settle = |sc: &Scenario| sc.trace.map_or(0, |tr| tr.steady_from(t)) + wait;
        let mut groups = vec![
            self.group(format!("{}: {firing_name}", a.describe()), &firing, checks),
            self.group(
                format!("{}: {silent_name}", a.describe()),
                &silent,
                vec![self.check(a.name(), &silent, settle(&silent))?],
            ),
        ];
        if let Some(h) = healthy.filter(|h| h.series != silent.series) {
            groups.push(self.group(
                format!("{}: healthy at {}", a.describe(), h.shown(t)),
                &h,
                vec![self.check(a.name(), &h, settle(&h))?],
            ));
        }
        if matches!(
            a.signal,
            Signal::AcquisitionTimeouts | Signal::CreationErrors
        ) {
            groups.push(self.born_group(a, &inputs, longest)?);
        }
        Ok(groups)
    }

    /// A labelled counter appears at its first increment, at a value above 0, which rate()
    /// never sees: while its pool instance has been exporting for a rate window, the alert
    /// counts it (and fires after its `for` if that is shorter than the window), for the
    /// hot instance only; once the window has passed it resolves.
    fn born_group(&self, a: &Alert, inputs: &Inputs, longest: u64) -> Result<TestGroup, String> {
        let t = self.timing;
        let role = a.signal.role().ok_or("it watches no counter")?;
        let ws = t.window_steps;
        let at = ws + 1;
        let wait = t.steps(a.for_);
        let steps = at + ws + longest + 2;
        let inputs = Inputs { steps, ..*inputs };
        // Enough events that their count over the window is above the threshold.
        let threshold = a.threshold.unwrap_or_default();
        let born = as_printed((threshold * t.window_secs()).floor() + 3.0);
        let series = vec![
            inputs.series_of(1, Role::Size, "", None, inputs.constant(10.0)),
            inputs.series_of(2, Role::Size, "", None, inputs.constant(10.0)),
            inputs.series_of(
                1,
                role,
                "",
                None,
                format!("_x{at} {}x{}", number(born), steps - at),
            ),
            inputs.series_of(2, role, "", None, inputs.constant(0.0)),
        ];
        let sc = Scenario {
            series,
            hot: Inputs::instance_labels(a.pool, 1),
            trace: Some(Trace::Born {
                at,
                value: born / t.window_secs(),
            }),
            origin: Some(a.pool_ix),
            sizes_seen: None,
        };
        let mut checks = Vec::new();
        for n in [at + wait.max(1) - 1, at + wait, at + ws + wait] {
            if checks
                .iter()
                .all(|c: &AlertRuleTest| c.eval_time != t.time(n))
            {
                checks.push(self.check(a.name(), &sc, n)?);
            }
        }
        Ok(self.group(
            format!(
                "{}: a counter born at {} counts, for the hot instance only",
                a.describe(),
                number(born)
            ),
            &sc,
            checks,
        ))
    }

    /// Every pool's size series: the scenario in which every pool's metrics are present,
    /// with the pools that see one of them.
    fn presence(&self, steps: u64) -> Scenario {
        let pools = &self.model.pools;
        let mut seen = std::collections::HashSet::new();
        let mut sizes_seen = vec![false; pools.len()];
        let mut series: Vec<Series> = Vec::new();
        for (ix, pool) in pools.iter().enumerate() {
            let inputs = Inputs {
                model: self.model,
                pool,
                ix,
                timing: self.timing,
                steps,
                headroom: headroom(self.model),
            };
            let s = inputs.series(Role::Size, "", None, inputs.constant(UNDERSIZED_SIZE));
            for &q in self.viewers.get(ix).into_iter().flatten() {
                if s.seen_by(&pools[q]) {
                    sizes_seen[q] = true;
                }
            }
            if seen.insert(s.input().series) {
                series.push(s);
            }
        }
        Scenario {
            series,
            hot: BTreeMap::new(),
            trace: None,
            origin: None,
            sizes_seen: Some(sizes_seen),
        }
    }

    /// The absence alerts named `alertname`, for every pool at once: with no pool's metrics
    /// each fires after its own `for` (and not a step before); with every pool's metrics,
    /// none fires.
    fn absent_groups(&self, alertname: &str) -> Result<Vec<TestGroup>, String> {
        let t = self.timing;
        let mut fors: Vec<u64> = self.named(alertname).map(|a| t.steps(a.for_)).collect();
        fors.sort_unstable();
        fors.dedup();
        let longest = fors.last().copied().unwrap_or(0);
        let steps = longest + 2;
        let missing = Scenario {
            series: Vec::new(),
            hot: BTreeMap::new(),
            trace: None,
            origin: None,
            sizes_seen: None,
        };
        let present = self.presence(steps);
        let mut checks = Vec::new();
        for f in fors {
            if f > 0 {
                checks.push(self.check(alertname, &missing, f - 1)?);
            }
            checks.push(self.check(alertname, &missing, f)?);
        }
        if checks.iter().all(|c| c.exp_alerts.is_empty()) {
            return Err("no input makes it fire".into());
        }
        let silent = self.check(alertname, &present, longest)?;
        if !silent.exp_alerts.is_empty() {
            return Err("no input keeps it silent".into());
        }
        let mut groups = vec![
            self.group(
                format!(
                    "{alertname} (every pool): fires once the metrics are missing for its `for`"
                ),
                &missing,
                checks,
            ),
            self.group(
                format!("{alertname} (every pool): silent while every pool's metrics are present"),
                &present,
                vec![silent],
            ),
        ];
        groups.push(self.one_instance_gone(alertname, longest)?);
        Ok(groups)
    }

    /// Every pool's first instance stops exporting (a stale marker) while its second goes
    /// on: the absence alert fires for the first instance alone, with its labels, once its
    /// `for` has passed, and not a step before.
    fn one_instance_gone(&self, alertname: &str, longest: u64) -> Result<TestGroup, String> {
        const SIZE: f64 = 10.0;
        /// The stale marker's step: the instance exported at steps 0 to STOP - 1.
        const STOP: u64 = 3;
        let t = self.timing;
        let steps = STOP + longest + 2;
        let mut series: Vec<Series> = Vec::new();
        let mut gone: Vec<Series> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (ix, pool) in self.model.pools.iter().enumerate() {
            let inputs = Inputs {
                model: self.model,
                pool,
                ix,
                timing: t,
                steps,
                headroom: headroom(self.model),
            };
            let hot = inputs.series_of(
                1,
                Role::Size,
                "",
                None,
                format!("{}x{} stale", number(SIZE), STOP - 1),
            );
            let idle = inputs.series_of(2, Role::Size, "", None, inputs.constant(SIZE));
            for s in [hot, idle] {
                if seen.insert(s.input().series) {
                    if s.values.ends_with("stale") {
                        gone.push(s.clone());
                    }
                    series.push(s);
                }
            }
        }
        let mut fors: Vec<u64> = self.named(alertname).map(|a| t.steps(a.for_)).collect();
        fors.sort_unstable();
        fors.dedup();
        let mut checks = Vec::new();
        for f in fors {
            for n in [STOP + f.max(1) - 1, STOP + f] {
                let mut exp_alerts = Vec::new();
                for a in self.named(alertname) {
                    if n < STOP + t.steps(a.for_) {
                        continue;
                    }
                    // The instances of the alert's pool that stopped, summed per instance.
                    let group = a.pool.group_labels();
                    let mut by_instance: BTreeMap<BTreeMap<String, String>, f64> = BTreeMap::new();
                    for s in gone.iter().filter(|s| s.seen_by(a.pool)) {
                        let mut labels = s.labels.clone();
                        for (id_label, metric_label) in a.pool.roles.matches(Role::Size) {
                            if let Some(v) = labels.remove(metric_label) {
                                labels.insert(id_label.clone(), v);
                            }
                        }
                        labels.retain(|k, _| group.contains(&k.as_str()));
                        *by_instance.entry(labels).or_default() += SIZE;
                    }
                    for (labels, value) in by_instance {
                        exp_alerts.push(a.expected(value, &labels)?);
                    }
                }
                checks.push(AlertRuleTest {
                    eval_time: t.time(n),
                    alertname: alertname.to_string(),
                    exp_alerts,
                });
            }
        }
        if checks.iter().all(|c| c.exp_alerts.is_empty()) {
            return Err("no instance that stops exporting makes it fire".into());
        }
        checks.dedup_by(|a, b| a.eval_time == b.eval_time);
        let sc = Scenario {
            series,
            hot: BTreeMap::new(),
            trace: None,
            origin: None,
            sizes_seen: None,
        };
        Ok(self.group(
            format!("{alertname} (every pool): fires for the one instance that stops exporting"),
            &sc,
            checks,
        ))
    }

    /// The expected values of a pool's recording rules, on a pool that was 90% busy a
    /// moment ago and is 50% busy now, with a known wait-time distribution.
    fn recording_group(
        &self,
        ix: usize,
        pool: &Pool,
        records: &[&Rule],
    ) -> Result<Option<TestGroup>, String> {
        const SIZE: f64 = 100.0;
        const PEAK: f64 = 90.0;
        const NOW: f64 = 50.0;
        /// Cumulative observations per step by bucket, and their sum, for a histogram whose
        /// buckets the catalog does not declare.
        const WAITS: [(f64, f64); 4] = [
            (0.1, 50.0),
            (0.5, 90.0),
            (1.0, 99.0),
            (f64::INFINITY, 100.0),
        ];
        const WAIT_SUM: f64 = 23.25;
        if records.is_empty() {
            return Ok(None);
        }
        // The catalog's own buckets when it declares them (no invented bounds): of 100
        // observations a step, half at or below the first bound, then more at each.
        let waits: Vec<(f64, f64)> = match inputs_buckets(self.model, pool) {
            Some(bounds) => {
                let n = bounds.len() as f64;
                let mut out: Vec<(f64, f64)> = bounds
                    .iter()
                    .enumerate()
                    .map(|(i, &le)| (le, (50.0 + 49.0 * i as f64 / n).floor()))
                    .collect();
                out.push((f64::INFINITY, 100.0));
                out
            }
            None => WAITS.to_vec(),
        };
        let t = self.timing;
        let ws = t.window_steps;
        // The peak is inside the window, the rates are settled.
        let at = ws + 2;
        let inputs = Inputs {
            model: self.model,
            pool,
            ix,
            timing: t,
            steps: at + 1,
            headroom: headroom(self.model),
        };
        let mut series = vec![
            inputs.series(Role::Size, "", None, inputs.constant(SIZE)),
            inputs.series(
                Role::Active,
                "",
                None,
                format!("{}x{ws} {}x{}", number(PEAK), number(NOW), at - ws),
            ),
        ];
        if pool.roles.wait_time.is_some() {
            series.extend(inputs.histogram(Role::WaitTime, &waits, WAIT_SUM));
        }
        let rates: Vec<(f64, f64)> = waits.iter().map(|&(le, c)| (le, t.rate(c, at))).collect();

        let window = self.model.rate_window.to_string();
        let names = conventions::record_names(pool, &self.model.pool_label, &window);
        let capacity = self.model.capacity.as_ref().map(|c| {
            let names = conventions::capacity_names(
                pool,
                &self.model.pool_label,
                c.peak_quantile,
                &c.peak_window.to_string(),
            );
            // Concurrent use is recorded at every evaluation from 0 to `at`: the active
            // series' values then (PEAK up to the window's end, NOW after).
            let used: Vec<f64> = (0..=at).map(|k| if k <= ws { PEAK } else { NOW }).collect();
            let recommended = (c.headroom * quantile(c.peak_quantile, used)).ceil();
            (names, recommended, c.memory_ceiling())
        });
        let pool_sel = super::promql::pool_matcher(&self.model.pool_label, &pool.name);
        let mut exprs = Vec::new();
        for rule in records {
            let name = rule.name();
            let wait = names.wait.as_ref();
            let cap = capacity.as_ref();
            // A constant (the memory ceiling) carries none of the pool's labels.
            let mut constant = false;
            let values: Vec<(Option<f64>, f64)> = if name == names.utilization {
                vec![(None, NOW / SIZE)]
            } else if name == names.peak_utilization {
                vec![(None, PEAK / SIZE)]
            } else if wait.is_some_and(|w| name == w.mean) {
                vec![(
                    None,
                    t.rate(WAIT_SUM, at) / t.rate(waits[waits.len() - 1].1, at),
                )]
            } else if wait.is_some_and(|w| name == w.bucket_rate) {
                rates.iter().map(|&(le, r)| (Some(le), r)).collect()
            } else if let Some((q, _)) =
                wait.and_then(|w| w.quantiles.iter().find(|(_, n)| n == name))
            {
                vec![(None, bucket_quantile(*q, &rates))]
            } else if cap.is_some_and(|c| name == c.0.active) {
                vec![(None, NOW)]
            } else if let Some(c) = cap.filter(|c| name == c.0.recommended) {
                vec![(None, c.1)]
            } else if let Some(ceiling) =
                cap.filter(|c| name == c.0.memory_ceiling).and_then(|c| c.2)
            {
                constant = true;
                vec![(None, ceiling as f64)]
            } else {
                return Err(format!("no expected value for recording rule {name}"));
            };
            let exp_samples = values
                .into_iter()
                .map(|(le, value)| {
                    let mut labels = inputs.labels();
                    let group = pool.group_labels();
                    labels.retain(|k, _| !constant && group.contains(&k.as_str()));
                    labels.extend(rule.labels.clone());
                    if let Some(le) = le {
                        labels.insert("le".to_string(), number(le));
                    }
                    let pairs: Vec<(&str, &str)> = labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    ExpSample {
                        labels: format!("{name}{}", matchers(&pairs)),
                        value,
                    }
                })
                .collect();
            exprs.push(PromqlExprTest {
                expr: format!("{name}{pool_sel}"),
                eval_time: t.time(at),
                exp_samples,
            });
        }
        let sc = Scenario {
            series,
            hot: BTreeMap::new(),
            trace: None,
            origin: Some(ix),
            sizes_seen: None,
        };
        Ok(Some(TestGroup {
            promql_expr_test: exprs,
            ..self.group(
                format!(
                    "recording rules of pool {}: {}% busy now, {}% at the peak",
                    pool.name,
                    number(NOW),
                    number(PEAK)
                ),
                &sc,
                Vec::new(),
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_prometheus() {
        let b = [
            (0.1, 50.0),
            (0.5, 90.0),
            (1.0, 99.0),
            (f64::INFINITY, 100.0),
        ];
        assert_eq!(bucket_quantile(0.5, &b), 0.1);
        assert!((bucket_quantile(0.95, &b) - (0.5 + 0.5 * 5.0 / 9.0)).abs() < 1e-12);
        assert_eq!(bucket_quantile(0.995, &b), 1.0);
        assert_eq!(
            bucket_quantile(0.99, &[(0.0, 100.0), (f64::INFINITY, 100.0)]),
            0.0
        );
    }

    #[test]
    fn steps_divide_window_and_fors() {
        let t = Timing::new(
            PromDuration::from_secs(300),
            [PromDuration::from_secs(120)].into_iter(),
        );
        assert_eq!((t.step_ms, t.window_steps), (60_000, 5));
        let t = Timing::new(PromDuration::from_secs(120), std::iter::empty());
        assert_eq!((t.step_ms, t.window_steps), (30_000, 4));
    }

    #[test]
    fn ratios_use_round_sizes() {
        assert_eq!(ratio(0.95), Some((95.0, 100.0)));
        assert_eq!(ratio(0.891), Some((891.0, 1000.0)));
        assert_eq!(ratio(0.12345), Some((1235.0, 10_000.0)));
        assert_eq!(ratio(0.0), Some((0.0, 100.0)));
    }
}
