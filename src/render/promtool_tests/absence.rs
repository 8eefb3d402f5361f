//! The absence alert's proofs: worlds of a fleet that moves (a rolling deploy, a scale-in),
//! of an instance that stops exporting while its target answers, of a target that goes down,
//! and of a pool with no series at all, for every pool at once. What each world must give is
//! computed here by evaluating the alert's meaning over the worlds' series step by step, not
//! read from the rendered rule:
//! - an identity seen within the lookback that exports nothing now, whose target's `up` is 1;
//! - a target whose `up` is 0, in a job that exported the pool's metrics within the lookback
//!   (one alert per target: `job` and `instance`);
//! - no pool series at all, while no such target is down (the selector's labels);
//!
//! and without a target check ([`Targets::Unchecked`]), every identity seen that exports
//! nothing now, and no pool series at all.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::file::{AlertRuleTest, ExpAlert, InputSeries, TestGroup};
use super::inputs::{Instance, series_labels};
use super::{Alert, Tests};
use crate::conventions::number;
use crate::model::{Pool, TARGET_LABELS, Targets};

/// The pool series' value in every world (a size or a count of connections).
const VALUE: f64 = 10.0;
/// The step at which a world's change happens: instances exported at steps 0 to STOP - 1.
const STOP: u64 = 3;

/// A stretch of steps during which a series has a sample each step: from `from` to
/// `to - 1`, then a stale marker at `to` (None: to the end of the test).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Life {
    from: u64,
    to: Option<u64>,
    value: f64,
}

impl Life {
    fn has_sample(&self, k: u64) -> bool {
        k >= self.from && self.to.is_none_or(|t| k < t)
    }

    /// Whether a sample of this life lies in the range `[k - lookback, k]`.
    fn sampled_within(&self, k: u64, lookback: u64) -> bool {
        let last = self.to.map_or(k, |t| k.min(t.saturating_sub(1)));
        let first = self.from.max(k.saturating_sub(lookback));
        self.to.is_none_or(|t| t > self.from) && first <= last
    }
}

/// promtool's notation of a series living `lives` (sorted, not overlapping), up to `steps`.
fn values(lives: &[Life], steps: u64) -> String {
    #[derive(PartialEq, Clone, Copy)]
    enum At {
        Value(f64),
        Stale,
        Blank,
    }
    let at = |k: u64| match lives.iter().find(|l| l.has_sample(k)) {
        Some(l) => At::Value(l.value),
        None if lives.iter().any(|l| l.to == Some(k)) => At::Stale,
        None => At::Blank,
    };
    let mut out: Vec<String> = Vec::new();
    let mut k = 0;
    while k <= steps {
        let here = at(k);
        let mut run = 1;
        while k + run <= steps && at(k + run) == here && here != At::Stale {
            run += 1;
        }
        match here {
            At::Value(v) if run == 1 => out.push(number(v)),
            At::Value(v) => out.push(format!("{}x{}", number(v), run - 1)),
            At::Stale => out.push("stale".into()),
            At::Blank if k + run > steps => {}
            At::Blank if run == 1 => out.push("_".into()),
            At::Blank => out.push(format!("_x{run}")),
        }
        k += run;
    }
    out.join(" ")
}

/// A pool series of a world: the presence role's metric of one pool instance.
#[derive(Debug, Clone)]
struct PoolSeries {
    metric: String,
    labels: BTreeMap<String, String>,
    lives: Vec<Life>,
}

/// A target's `up` series.
#[derive(Debug, Clone)]
struct UpSeries {
    job: String,
    instance: String,
    lives: Vec<Life>,
}

/// One pool instance in a world: its labels (the identity's names, the selector's labels
/// included) and its target.
#[derive(Debug, Clone)]
struct Member {
    pool: usize,
    labels: BTreeMap<String, String>,
}

impl Member {
    /// Its scrape target, `(job, instance)`, where the identity names both.
    fn target(&self) -> Option<(String, String)> {
        Some((
            self.labels.get("job")?.clone(),
            self.labels.get("instance")?.clone(),
        ))
    }

    /// The same instance on another target: a replacement (rolling deploy) or one more
    /// replica, its `instance` (or, without one, its last label) given a new value.
    fn elsewhere(&self, pool: &Pool, suffix: &str) -> Self {
        let mut labels = self.labels.clone();
        let key = if labels.contains_key("instance")
            && !pool.selector.iter().any(|(k, _)| k == "instance")
        {
            Some("instance".to_string())
        } else {
            pool.identity.last().cloned()
        };
        if let Some(v) = key.and_then(|k| labels.get_mut(&k)) {
            v.push_str(suffix);
        }
        Self {
            pool: self.pool,
            labels,
        }
    }
}

/// The lives of a world's pool series, and of its targets' `up`, by member.
type Shape<'m> = (Vec<(&'m Member, Vec<Life>)>, Vec<(&'m Member, Vec<Life>)>);

/// A world: how long each instance exports, and each target's `up`.
struct World {
    what: &'static str,
    series: Vec<PoolSeries>,
    /// The pool whose member each series stands for (by index, beside `series`).
    origin: Vec<usize>,
    up: Vec<UpSeries>,
}

/// One pool's members in a world, with their lives: the world's shape, given the pool's
/// two instances (hot, idle) and a third on another target.
struct Fleet<'m> {
    hot: &'m Member,
    idle: &'m Member,
    third: &'m Member,
    next: [&'m Member; 2],
    /// Other services' instances beside the pool, each differing from it in one selector
    /// label (see [`Tests::neighbours`]).
    neighbours: &'m [Member],
}

const ALWAYS: Life = Life {
    from: 0,
    to: None,
    value: VALUE,
};

fn life(from: u64, to: Option<u64>) -> Life {
    Life {
        from,
        to,
        value: VALUE,
    }
}

fn up(from: u64, to: Option<u64>, value: f64) -> Life {
    Life { from, to, value }
}

impl Tests<'_> {
    /// The absence alerts named `alertname`, for every pool at once, in every world.
    pub(super) fn absent_groups(&self, alertname: &str) -> Result<Vec<TestGroup>, String> {
        let alerts: Vec<&Alert> = self.named(alertname).collect();
        let fors = self.fors(&alerts);
        let longest = fors.last().copied().unwrap_or(0);
        // Back at work two steps after every `for` has passed: the alert has cleared.
        let back = STOP + longest + 2;
        let around = |at: u64| around(&fors, at);
        let mut members: Vec<([Member; 5], Vec<Member>)> = Vec::new();
        for (ix, pool) in self.model.pools.iter().enumerate() {
            let labels = &self.labels[ix];
            let of = |i: Instance| Member {
                pool: ix,
                labels: labels.instance(i).clone(),
            };
            let (hot, idle) = (of(Instance::Hot), of(Instance::Idle));
            let third = hot.elsewhere(pool, "-third");
            let next = [hot.elsewhere(pool, "-next"), idle.elsewhere(pool, "-next")];
            let neighbours = self.neighbours(&hot);
            let [n0, n1] = next;
            members.push(([hot, idle, third, n0, n1], neighbours));
        }
        let fleets: Vec<Fleet> = members
            .iter()
            .map(|([hot, idle, third, n0, n1], neighbours)| Fleet {
                hot,
                idle,
                third,
                next: [n0, n1],
                neighbours,
            })
            .collect();
        let mut out = Vec::new();
        let mut fired = false;
        // Every instance exports, every target answers: silent. Beside them, other services'
        // instances that stopped exporting behind answering targets: no pool selects them,
        // so a rule that lost a selector matcher would page for them.
        let present = self.world(
            "every instance exports and its target answers",
            &fleets,
            |f| {
                let mut pool_lives = vec![(f.hot, vec![ALWAYS]), (f.idle, vec![ALWAYS])];
                let mut up_lives = vec![
                    (f.hot, vec![ALWAYS.with(1.0)]),
                    (f.idle, vec![ALWAYS.with(1.0)]),
                ];
                for n in f.neighbours {
                    pool_lives.push((n, vec![life(0, Some(1))]));
                    up_lives.push((n, vec![ALWAYS.with(1.0)]));
                }
                (pool_lives, up_lives)
            },
        );
        let (group, fires) = self.absence_group(alertname, &alerts, &present, &[longest + 1])?;
        if fires {
            return Err("no input keeps it silent".into());
        }
        out.push(group);
        // The targets answer, but no pool series exists at all.
        let missing = self.world(
            "the targets answer but no pool series exists at all",
            &fleets,
            |f| {
                let answering = vec![ALWAYS.with(1.0)];
                (
                    Vec::new(),
                    vec![(f.hot, answering.clone()), (f.idle, answering)],
                )
            },
        );
        let times = around(0);
        let (group, fires) = self.absence_group(alertname, &alerts, &missing, &times)?;
        fired |= fires;
        out.push(group);
        // The hot instance stops exporting while its target answers, then exports again.
        let stops = self.world(
            "the hot instance stops exporting while its target answers, and exports again",
            &fleets,
            |f| {
                (
                    vec![
                        (f.hot, vec![life(0, Some(STOP)), life(back, None)]),
                        (f.idle, vec![ALWAYS]),
                    ],
                    vec![
                        (f.hot, vec![ALWAYS.with(1.0)]),
                        (f.idle, vec![ALWAYS.with(1.0)]),
                    ],
                )
            },
        );
        let mut times = around(STOP);
        times.push(back);
        let (group, fires) = self.absence_group(alertname, &alerts, &stops, &times)?;
        fired |= fires;
        out.push(group);
        // Every instance stops exporting while its target answers (an exporter that lost
        // its pool, a bouncer stopped behind its exporter): a page per instance, and no
        // absent() page for the whole pool beside them.
        let all_stop = self.world(
            "every instance stops exporting while its target answers",
            &fleets,
            |f| {
                (
                    vec![
                        (f.hot, vec![life(0, Some(STOP))]),
                        (f.idle, vec![life(0, Some(STOP))]),
                    ],
                    vec![
                        (f.hot, vec![ALWAYS.with(1.0)]),
                        (f.idle, vec![ALWAYS.with(1.0)]),
                    ],
                )
            },
        );
        let (group, fires) = self.absence_group(alertname, &alerts, &all_stop, &around(STOP))?;
        fired |= fires;
        out.push(group);
        if fleets.iter().any(|f| f.hot.target().is_some()) {
            fired |= self.target_worlds(alertname, &alerts, &fleets, &times, back, &mut out)?;
        }
        self.fleet_worlds(alertname, &alerts, &fleets, back, &mut out)?;
        if !fired {
            return Err("no input makes it fire".into());
        }
        Ok(out)
    }

    /// Instances of other services beside `hot`: one per selector label of its pool, with
    /// that label (and the instance) given another value, kept only where no pool of the
    /// spec selects it.
    fn neighbours(&self, hot: &Member) -> Vec<Member> {
        let pool = &self.model.pools[hot.pool];
        let role = pool.presence_role();
        let metric = pool.roles.get(role).unwrap_or_default();
        pool.selector
            .iter()
            .enumerate()
            .map(|(n, (k, v))| {
                let mut m = hot.elsewhere(pool, &format!("-neighbour-{}", n + 1));
                m.labels.insert(k.clone(), format!("{v}-neighbour"));
                m
            })
            .filter(|m| {
                let labels = series_labels(pool, role, m.labels.clone());
                !self.model.pools.iter().any(|p| {
                    p.roles.get(p.presence_role()) == Some(metric)
                        && p.selector.iter().all(|(k, v)| labels.get(k) == Some(v))
                })
            })
            .collect()
    }

    /// The distinct `for`s of the alerts, in steps, shortest first.
    fn fors(&self, alerts: &[&Alert]) -> Vec<u64> {
        let mut fors: Vec<u64> = alerts.iter().map(|a| self.timing.steps(a.for_)).collect();
        fors.sort_unstable();
        fors.dedup();
        fors
    }

    /// Where the identity names the scrape targets: the hot instance's target goes down and
    /// comes back, and every target goes down. Whether any of them fires.
    fn target_worlds(
        &self,
        alertname: &str,
        alerts: &[&Alert],
        fleets: &[Fleet],
        times: &[u64],
        back: u64,
        out: &mut Vec<TestGroup>,
    ) -> Result<bool, String> {
        let fors = self.fors(alerts);
        let around = |at: u64| around(&fors, at);
        let mut fired = false;
        // The hot instance's target goes down, and comes back.
        let down = self.world(
            "the hot instance's target goes down (up == 0), and comes back",
            fleets,
            |f| {
                let target_down = vec![
                    up(0, Some(STOP), 1.0),
                    up(STOP, Some(back), 0.0),
                    up(back, None, 1.0),
                ];
                let on_hot = |m: &Member| m.target() == f.hot.target();
                let lives = |m: &Member| {
                    if on_hot(m) {
                        vec![life(0, Some(STOP)), life(back, None)]
                    } else {
                        vec![ALWAYS]
                    }
                };
                (
                    vec![(f.hot, lives(f.hot)), (f.idle, lives(f.idle))],
                    vec![(f.hot, target_down), (f.idle, vec![ALWAYS.with(1.0)])],
                )
            },
        );
        let (group, fires) = self.absence_group(alertname, alerts, &down, times)?;
        fired |= fires;
        out.push(group);
        // Every target goes down and stays down.
        let all_down = self.world("every target goes down (up == 0)", fleets, |f| {
            let target_down = vec![up(0, Some(STOP), 1.0), up(STOP, None, 0.0)];
            (
                vec![
                    (f.hot, vec![life(0, Some(STOP))]),
                    (f.idle, vec![life(0, Some(STOP))]),
                ],
                vec![(f.hot, target_down.clone()), (f.idle, target_down)],
            )
        });
        let (group, fires) = self.absence_group(alertname, alerts, &all_down, &around(STOP))?;
        fired |= fires;
        out.push(group);
        Ok(fired)
    }

    /// A fleet that moves: a rolling deploy and a scale-in, each of which must page nobody.
    fn fleet_worlds(
        &self,
        alertname: &str,
        alerts: &[&Alert],
        fleets: &[Fleet],
        back: u64,
        out: &mut Vec<TestGroup>,
    ) -> Result<(), String> {
        let fors = self.fors(alerts);
        let around = |at: u64| around(&fors, at);
        // A rolling deploy: every target replaced by a new one (one step of overlap), the old
        // ones leaving service discovery with their `up`.
        let mut later = around(STOP);
        later.push(back);
        let deploy = self.world(
            "a rolling deploy replaces every instance and its target",
            fleets,
            |f| {
                let old = vec![life(0, Some(STOP))];
                let new = vec![life(STOP - 1, None)];
                (
                    vec![
                        (f.hot, old.clone()),
                        (f.idle, old.clone()),
                        (f.next[0], new.clone()),
                        (f.next[1], new.clone()),
                    ],
                    vec![
                        (f.hot, old.iter().map(|l| l.with(1.0)).collect()),
                        (f.idle, old.iter().map(|l| l.with(1.0)).collect()),
                        (f.next[0], new.iter().map(|l| l.with(1.0)).collect()),
                        (f.next[1], new.iter().map(|l| l.with(1.0)).collect()),
                    ],
                )
            },
        );
        let (group, _) = self.absence_group(alertname, alerts, &deploy, &later)?;
        out.push(group);
        // A scale-in: a third replica leaves service discovery with its `up`.
        let scale_in = self.world("a scale-in removes a replica and its target", fleets, |f| {
            (
                vec![
                    (f.hot, vec![ALWAYS]),
                    (f.idle, vec![ALWAYS]),
                    (f.third, vec![life(0, Some(STOP))]),
                ],
                vec![
                    (f.hot, vec![ALWAYS.with(1.0)]),
                    (f.idle, vec![ALWAYS.with(1.0)]),
                    (f.third, vec![up(0, Some(STOP), 1.0)]),
                ],
            )
        });
        let (group, _) = self.absence_group(alertname, alerts, &scale_in, &later)?;
        out.push(group);
        Ok(())
    }

    /// A world built from each pool's fleet: `shape` gives the lives of its members' pool
    /// series and of their targets' `up` (the first given for a target wins). Series shared
    /// by several pools are written once.
    fn world<'m>(
        &self,
        what: &'static str,
        fleets: &[Fleet<'m>],
        shape: impl Fn(&Fleet<'m>) -> Shape<'m>,
    ) -> World {
        let mut series: Vec<PoolSeries> = Vec::new();
        let mut origin = Vec::new();
        let mut up_series: Vec<UpSeries> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut targets = BTreeSet::new();
        for f in fleets {
            let (pool_lives, up_lives) = shape(f);
            for (m, lives) in pool_lives {
                let pool = &self.model.pools[m.pool];
                let role = pool.presence_role();
                let labels = series_labels(pool, role, m.labels.clone());
                let metric = pool.roles.get(role).unwrap_or_default().to_string();
                if seen.insert((metric.clone(), labels.clone())) {
                    origin.push(m.pool);
                    series.push(PoolSeries {
                        metric,
                        labels,
                        lives,
                    });
                }
            }
            for (m, lives) in up_lives {
                if let Some((job, instance)) = m.target()
                    && targets.insert((job.clone(), instance.clone()))
                {
                    up_series.push(UpSeries {
                        job,
                        instance,
                        lives,
                    });
                }
            }
        }
        World {
            what,
            series,
            origin,
            up: up_series,
        }
    }

    /// The test group of a world: at each of `times`, the alerts the world must give; and
    /// whether any fires.
    fn absence_group(
        &self,
        alertname: &str,
        alerts: &[&Alert],
        w: &World,
        times: &[u64],
    ) -> Result<(TestGroup, bool), String> {
        let t = self.timing;
        let last = times.iter().copied().max().unwrap_or(0);
        let steps = last + 1;
        // The series each pool may select: those of the pools it views ([`viewers`]), so
        // that the proof grows with the pools, not with their square.
        let mut viewed: Vec<Vec<&PoolSeries>> = vec![Vec::new(); self.model.pools.len()];
        for (s, &p) in w.series.iter().zip(&w.origin) {
            for &q in self.viewers.get(p).into_iter().flatten() {
                viewed[q].push(s);
            }
        }
        let mut expected: Vec<Vec<ExpAlert>> = vec![Vec::new(); times.len()];
        for a in alerts {
            let lookback = self.lookback(a);
            let series = &viewed[a.pool_ix];
            let at: Vec<Vec<(BTreeMap<String, String>, f64)>> = (0..=last)
                .map(|k| condition(a.pool, series, &w.up, k, lookback))
                .collect();
            for (i, &n) in times.iter().enumerate() {
                for (labels, value) in firing(&at, n, t.steps(a.for_)) {
                    expected[i].push(a.expected(value, labels)?);
                }
            }
        }
        let checks: Vec<AlertRuleTest> = times
            .iter()
            .zip(expected)
            .map(|(&n, exp_alerts)| AlertRuleTest {
                eval_time: t.time(n),
                alertname: alertname.to_string(),
                exp_alerts,
            })
            .collect();
        let fires = checks.iter().any(|c| !c.exp_alerts.is_empty());
        let outcome = match (
            fires,
            checks.last().is_some_and(|c| c.exp_alerts.is_empty()),
        ) {
            (false, _) => "silent",
            (true, true) => "fires after its `for`, then clears",
            (true, false) => "fires after its `for`",
        };
        let mut input_series: Vec<InputSeries> = w
            .series
            .iter()
            .map(|s| {
                let pairs: Vec<(&str, &str)> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                InputSeries {
                    series: crate::render::promql::selector(&s.metric, &pairs),
                    values: values(&s.lives, steps),
                }
            })
            .collect();
        input_series.extend(w.up.iter().map(|u| InputSeries {
            series: format!(
                "up{}",
                crate::render::promql::matchers(&[
                    ("instance", u.instance.as_str()),
                    ("job", u.job.as_str())
                ])
            ),
            values: values(&u.lives, steps),
        }));
        let group = TestGroup {
            name: format!("{alertname} (every pool): {}: {outcome}", w.what),
            interval: t.time(1),
            input_series,
            alert_rule_test: checks,
            promql_expr_test: Vec::new(),
        };
        Ok((group, fires))
    }

    /// The alert's lookback in steps.
    fn lookback(&self, a: &Alert) -> u64 {
        self.timing.steps(crate::signals::absence_lookback(a.for_))
    }
}

impl Life {
    /// The same stretch with another value (an `up` series beside a pool series).
    fn with(self, value: f64) -> Self {
        Self { value, ..self }
    }
}

/// The evaluation times around a change at step `at`: just before and at each `for`'s end.
fn around(fors: &[u64], at: u64) -> Vec<u64> {
    let mut times: Vec<u64> = fors
        .iter()
        .flat_map(|&f| [at + f.max(1) - 1, at + f])
        .collect();
    times.sort_unstable();
    times.dedup();
    times
}

/// The label sets (with values) for which an absence alert is firing at step `n`, given
/// its expression at every step (`at`): it has held at every step since one at least
/// `for_` steps before.
fn firing(
    at: &[Vec<(BTreeMap<String, String>, f64)>],
    n: u64,
    for_: u64,
) -> Vec<(BTreeMap<String, String>, f64)> {
    let holds =
        |k: u64, labels: &BTreeMap<String, String>| at[k as usize].iter().any(|(l, _)| l == labels);
    at[n as usize]
        .iter()
        .filter(|(labels, _)| {
            let mut start = n;
            while start > 0 && holds(start - 1, labels) {
                start -= 1;
            }
            n - start >= for_
        })
        .cloned()
        .collect()
}

/// The alert's expression at step `k`: its label sets and values.
fn condition(
    pool: &Pool,
    series: &[&PoolSeries],
    up: &[UpSeries],
    k: u64,
    lookback: u64,
) -> Vec<(BTreeMap<String, String>, f64)> {
    let targets = pool
        .policies
        .absent
        .as_ref()
        .map_or(Targets::Up, |a| a.targets);
    let presence = pool.presence_role();
    let metric = pool.roles.get(presence).unwrap_or_default();
    let selected: Vec<&PoolSeries> = series
        .iter()
        .copied()
        .filter(|s| {
            s.metric == metric
                && pool
                    .selector
                    .iter()
                    .all(|(k, v)| s.labels.get(k) == Some(v))
        })
        .collect();
    let group = pool.group_labels();
    let identity = |s: &PoolSeries| {
        let mut labels = s.labels.clone();
        for (id_label, metric_label) in pool.roles.matches(presence) {
            if let Some(v) = labels.remove(metric_label) {
                labels.insert(id_label.clone(), v);
            }
        }
        labels.retain(|l, _| group.contains(&l.as_str()));
        labels
    };
    let up_at = |job: &str, instance: &str| -> Option<f64> {
        let on_target = |l: &str, v: &str| {
            pool.selector
                .iter()
                .all(|(sk, sv)| !TARGET_LABELS.contains(&sk.as_str()) || sk != l || sv == v)
        };
        up.iter()
            .filter(|u| u.job == job && u.instance == instance)
            .filter(|u| on_target("job", &u.job) && on_target("instance", &u.instance))
            .find_map(|u| u.lives.iter().find(|l| l.has_sample(k)).map(|l| l.value))
    };
    // Per identity: seen within the lookback (with the sum of its peaks), exporting now.
    let mut ids: HashMap<BTreeMap<String, String>, (f64, bool, bool)> = HashMap::new();
    for s in &selected {
        let e = ids.entry(identity(s)).or_insert((0.0, false, false));
        let peak = s
            .lives
            .iter()
            .filter(|l| l.sampled_within(k, lookback))
            .map(|l| l.value)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        if let Some(p) = peak {
            e.0 += p;
            e.1 = true;
        }
        e.2 |= s.lives.iter().any(|l| l.has_sample(k));
    }
    let mut out: BTreeMap<BTreeMap<String, String>, f64> = BTreeMap::new();
    for (labels, (value, seen, now)) in &ids {
        if !seen || *now {
            continue;
        }
        let answering = match targets {
            Targets::Unchecked => true,
            Targets::Up => match (labels.get("job"), labels.get("instance")) {
                (Some(j), Some(i)) => up_at(j, i) == Some(1.0),
                _ => false,
            },
        };
        if answering {
            out.insert(labels.clone(), *value);
        }
    }
    let mut down = BTreeMap::new();
    if targets == Targets::Up {
        let seen_jobs: BTreeSet<String> = ids
            .iter()
            .filter(|(_, (_, seen, _))| *seen)
            .filter_map(|(l, _)| l.get("job").cloned())
            .collect();
        for u in up {
            if seen_jobs.contains(&u.job) && up_at(&u.job, &u.instance) == Some(0.0) {
                down.insert(
                    BTreeMap::from([
                        ("instance".to_string(), u.instance.clone()),
                        ("job".to_string(), u.job.clone()),
                    ]),
                    0.0,
                );
            }
        }
    }
    let none_now = !ids.values().any(|(_, _, now)| *now);
    for (l, v) in &down {
        out.entry(l.clone()).or_insert(*v);
    }
    // absent() only where neither part above already names the instances.
    if none_now && out.is_empty() {
        out.entry(pool.selector.iter().cloned().collect())
            .or_insert(1.0);
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lives_print_in_promtool_notation() {
        assert_eq!(values(&[life(0, None)], 3), "10x3");
        assert_eq!(values(&[life(0, Some(3))], 5), "10x2 stale");
        assert_eq!(
            values(&[life(0, Some(2)), life(4, None)], 6),
            "10x1 stale _ 10x2"
        );
        assert_eq!(values(&[life(2, None)], 4), "_x2 10x2");
        assert_eq!(
            values(
                &[up(0, Some(2), 1.0), up(2, Some(4), 0.0), up(4, None, 1.0)],
                5
            ),
            "1x1 0x1 1x1"
        );
    }

    #[test]
    fn a_life_is_seen_within_its_lookback_only() {
        let l = life(0, Some(3));
        assert!(l.sampled_within(5, 3));
        assert!(!l.sampled_within(6, 3));
        assert!(!l.has_sample(3));
        assert!(l.has_sample(2));
    }
}
