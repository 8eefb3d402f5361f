//! The counter worlds: a labelled counter born at a value, and a process restart, with
//! what the alert and the counter's recorded rate make of them.

use super::arithmetic::as_printed;
use super::file::{ExpSample, PromqlExprTest, TestGroup};
use super::inputs::{Inputs, Instance, Scenario, Series, Trace};
use super::{Alert, Tests};
use crate::conventions::number;
use crate::model::Role;
use crate::render::promql::{matchers, selector};
use crate::signals;

impl Tests<'_> {
    /// A labelled counter appears at its first increment, at a value above 0, which rate()
    /// never sees: while its pool instance has been exporting for a rate window, the alert
    /// counts it (and fires after its `for` if that is shorter than the window), for the
    /// hot instance only; once the window has passed it resolves.
    pub(super) fn born_group(
        &self,
        a: &Alert,
        inputs: &Inputs,
        longest: u64,
    ) -> Result<TestGroup, String> {
        let at = self.timing.window_steps + 1;
        self.counter_group(a, inputs, longest, at, None)
    }

    /// The hot instance's process restarts after a quiet while (its counter had counted
    /// events long before): its counter resets to 0, or, labelled, is gone until its first
    /// increment. The reset alone fires nothing; a real increment a window later fires as
    /// any other, for the hot instance only, and resolves a window on.
    pub(super) fn restart_group(
        &self,
        a: &Alert,
        inputs: &Inputs,
        longest: u64,
    ) -> Result<TestGroup, String> {
        let ws = self.timing.window_steps;
        let restart = ws + 1;
        self.counter_group(a, inputs, longest, restart + ws + 1, Some(restart))
    }

    /// A counter of the hot instance that rises once, by enough events, at step `at`: born
    /// there (`restart` None), or after a process restart at step `restart`.
    fn counter_group(
        &self,
        a: &Alert,
        inputs: &Inputs,
        longest: u64,
        at: u64,
        restart: Option<u64>,
    ) -> Result<TestGroup, String> {
        let t = self.timing;
        let role = a.signal.info().role.ok_or("it watches no counter")?;
        let ws = t.window_steps;
        let wait = t.steps(a.for_);
        let steps = at + ws + longest + 2;
        let inputs = Inputs { steps, ..*inputs };
        // Enough events that their count over the window is above the threshold.
        let threshold = a.threshold.unwrap_or_default();
        let born = as_printed((threshold * t.window_secs()).floor() + 3.0);
        // Before a restart, a count above `born`: the restart is a reset, not an increase.
        let before = 2.0 * born + 10.0;
        let labelled = inputs.split_label(role).is_some();
        let history = match restart {
            None => format!("_x{at}"),
            Some(r) if labelled => format!("{}x{} stale _x{}", number(before), r - 1, at - r - 1),
            Some(r) => format!("{}x{} 0x{}", number(before), r - 1, at - r - 1),
        };
        let presence = a.pool.presence_role();
        let series = vec![
            inputs.series_of(Instance::Hot, presence, "", None, inputs.constant(10.0)),
            inputs.series_of(Instance::Idle, presence, "", None, inputs.constant(10.0)),
            inputs.series_of(
                Instance::Hot,
                role,
                "",
                None,
                format!("{history} {}x{}", number(born), steps - at),
            ),
            inputs.series_of(Instance::Idle, role, "", None, inputs.constant(0.0)),
        ];
        let sc = Scenario {
            series,
            hot: inputs.labels(),
            trace: Some(Trace::Born {
                at,
                value: born / t.window_secs(),
            }),
            origin: Some(a.pool_ix),
            ends: None,
            outside: Vec::new(),
        };
        let mut times = Vec::new();
        // After a restart, quiet until the increment: the reset counts nothing.
        let quiet = restart.map(|_| at - 1);
        for n in quiet
            .into_iter()
            .chain([at + wait.max(1) - 1, at + wait, at + ws + wait])
        {
            if !times.contains(&n) {
                times.push(n);
            }
        }
        let checks = self.checks(a.name(), &sc, &times)?;
        let name = match restart {
            None => format!(
                "a counter born at {} counts, for the hot instance only",
                number(born)
            ),
            Some(_) => format!(
                "a process restart resets the counter{}: quiet; {} events after it fire, for \
                 the hot instance only, then clear",
                if labelled {
                    " (labelled: gone until its first increment)"
                } else {
                    ""
                },
                number(born)
            ),
        };
        // Beside the born series, other services' copies of it and another pool's recorded
        // parts at the same value: the recordings read their own pool's series only.
        let mut sc = sc;
        if restart.is_none() {
            sc.outside = inputs.neighbours(&sc);
            sc.outside
                .extend(self.recorded_parts(a, &inputs, born / t.window_secs()));
        }
        let mut group = self.group(format!("{}: {name}", a.describe()), &sc, checks);
        if restart.is_none() {
            group.promql_expr_test = self.born_values(a, &sc, at, born / t.window_secs());
        }
        Ok(group)
    }

    /// The parts of the counter's recorded rate (all its recordings but the rate itself),
    /// for the hot instance of a pool named `<pool>-neighbour`, at `value`.
    fn recorded_parts(&self, a: &Alert, inputs: &Inputs, value: f64) -> Vec<Series> {
        let mut parts = signals::recordings_of(self.model, a.pool, a.signal);
        parts.pop();
        let pool = format!("{}-neighbour", a.pool.name);
        if self.model.pools.iter().any(|p| p.name == pool) {
            return Vec::new();
        }
        let mut labels = inputs.labels();
        labels.retain(|k, _| a.group.contains(&k.as_str()));
        labels.insert(a.pool_label.to_string(), pool);
        parts
            .into_iter()
            .map(|r| Series {
                role: Role::Size,
                suffix: "",
                metric: r.name,
                labels: labels.clone(),
                values: inputs.constant(as_printed(value)),
            })
            .collect()
    }

    /// What the counter's recorded rate holds once a series is born at `at`, at `value`
    /// per second: the born series alone at `at` (rate() has one sample), then added to
    /// rate()'s 0 for the hot instance only. Shown by value, not only by an alert: with a
    /// `for` as long as the rate window, the born events never fire it.
    fn born_values(&self, a: &Alert, sc: &Scenario, at: u64, value: f64) -> Vec<PromqlExprTest> {
        let Some(name) = signals::value_name(self.model, a.pool, a.signal) else {
            return Vec::new();
        };
        let mut labels = a.labels(sc);
        labels.insert(a.pool_label.to_string(), a.pool.name.clone());
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let own = matchers(&[(a.pool_label, a.pool.name.as_str())]);
        [at, at + 1]
            .into_iter()
            .map(|n| PromqlExprTest {
                expr: format!("{name}{own} > 0"),
                eval_time: self.timing.time(n),
                exp_samples: vec![ExpSample {
                    labels: selector(&name, &pairs),
                    value,
                }],
            })
            .collect()
    }
}
