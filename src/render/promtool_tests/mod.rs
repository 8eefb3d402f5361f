//! promtool unit tests for the rule file, generated from the policies: for every alert,
//! series that fire it after its `for` for the hot instance alone while a replica joins
//! (scale-out during the incident), and that then recover so it clears; a case at the `for`
//! boundary (still pending) and a case just on the silent side of its threshold, each beside
//! an idle instance at a healthy value that must stay silent; for counters, one born at its
//! first increment and a process restart; the absence alert in a moving fleet
//! ([`absence`]); for every pool, the values of its recording rules.
//!
//! Expected alerts come from replaying Prometheus's pending → firing state machine over the
//! values the generated inputs give each alert's expression. Their names, severities, `for`s
//! and static labels come from the spec's policies and the signals' definitions, not from the
//! rendered rule; their annotations from expanding the rule's own templates
//! ([`super::annotation_expansion`], held to hand-written texts by this module's tests). An
//! alert that no input can fire, or that no input keeps silent, cannot be proven and is
//! refused.
//!
//! promtool compares recording-rule values exactly, so they are computed operation for
//! operation as Prometheus 2 computes them. Prometheus 3 evaluates rate() over a left-open
//! window and may differ in the last bit there; alert cases do not depend on it (thresholds
//! have margins, annotations print four digits).

mod absence;
pub(crate) mod arithmetic;
mod counters;
mod file;
mod flapping;
pub(crate) mod inputs;
mod native;
mod recording;
mod state;

use std::collections::{BTreeMap, HashMap};

use self::arithmetic::{Timing, as_printed};
pub(crate) use self::file::{AlertRuleTest, Coverage, ExpAlert, TestFile, TestGroup};
use self::inputs::{
    Inputs, Instance, PoolLabels, Scenario, Series, UNDERSIZED_SIZE, WAITS, headroom, viewers,
};
use super::annotation_expansion;
use super::prometheus::{Rule, RuleFile};
use crate::conventions::{self, number};
use crate::diag::{Code, Diagnostic};
use crate::model::{Comparison, Model, PolicyShape, Pool, PromDuration, Role, Signal, ValueUnit};
use crate::signals::{self, ProofCx, World};

pub(crate) const UNTESTABLE: Code = Code {
    code: "PW021",
    name: "untestable-alert",
};

/// The most evaluation steps a generated test may take.
const MAX_STEPS: u64 = 20_000;

/// Builds the unit tests of a rule file, or a diagnostic for every alert that cannot be
/// given a firing and a silent case.
pub(crate) fn test_file(
    model: &Model,
    rules: &RuleFile,
) -> Result<(TestFile, Coverage), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut alerts = Vec::new();
    let pool_ix: HashMap<&str, usize> = model
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    for group in &rules.groups {
        for rule in group.rules.iter().filter(|r| r.alert.is_some()) {
            match Alert::new(model, &pool_ix, rule) {
                Ok(a) => alerts.push(a),
                Err(e) => diags.push(untestable(rule, &e)),
            }
        }
    }
    let timing = Timing::new(
        model.rate_window,
        alerts.iter().flat_map(|a| [a.for_, a.keep_firing_for]),
    );
    // A test evaluates every rule at every step: durations whose common step is tiny
    // against the longest of them (a 1d window with a 7ms `for`) would need millions.
    let longest = alerts
        .iter()
        .map(|a| a.for_.max(a.keep_firing_for))
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
    // An alert on a native-only histogram is left to the end-to-end scenario, by name.
    let (on_native, on_classic): (Vec<&Alert>, Vec<&Alert>) = alerts
        .iter()
        .filter(|a| a.signal.info().policy != PolicyShape::Presence)
        .partition(|a| native::alert_reads_native(a.pool, a.signal));
    let built: Vec<(&Alert, Result<Vec<TestGroup>, String>)> = on_classic
        .into_iter()
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
        .filter(|a| a.signal.info().policy == PolicyShape::Presence)
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
    let mut untested: Vec<String> = on_native
        .iter()
        .map(|a| format!("{} with severity {}", a.rule.describe(), a.severity))
        .collect();
    let mut records: Vec<Vec<&Rule>> = vec![Vec::new(); model.pools.len()];
    for r in rules
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter(|r| r.record.is_some())
    {
        if let Some(&ix) = pool_ix.get(r.origin.pool.as_str()) {
            if native::record_reads_native(&model.pools[ix], r.origin.record) {
                untested.push(r.describe());
            } else {
                records[ix].push(r);
            }
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
        rule_files: vec![conventions::test_rule_files_entry()],
        evaluation_interval: timing.time(1),
        // No order across groups: every alert reads only its own group's recordings, which
        // run before it, and the tests hold with promtool's own order of the groups.
        tests: groups,
        notes: native::note(&untested),
    };
    let coverage = Coverage {
        alerts: alerts.len() - on_native.len(),
        firing_and_silent: covered,
        native: on_native.len(),
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

/// An alerting rule, with what its tests need to know.
#[derive(Debug)]
struct Alert<'a> {
    rule: &'a Rule,
    pool: &'a Pool,
    /// The pool's grouping labels ([`Pool::group_labels`]).
    group: Vec<&'a str>,
    /// The pool's index in the model.
    pool_ix: usize,
    signal: Signal,
    threshold: Option<f64>,
    /// The `for`, `keep_firing_for` and severity the spec's policy gives this alert level.
    for_: PromDuration,
    keep_firing_for: PromDuration,
    severity: &'a str,
    /// The labels every alert of the pool must carry: the pool label and the static ones.
    pool_label: &'a str,
}

impl<'a> Alert<'a> {
    fn new(model: &'a Model, pools: &HashMap<&str, usize>, rule: &'a Rule) -> Result<Self, String> {
        let pool_ix = *pools
            .get(rule.origin.pool.as_str())
            .ok_or("its pool is not in the spec")?;
        let pool = &model.pools[pool_ix];
        let signal = rule.origin.signal.ok_or("it watches no known signal")?;
        // What the alert must be, from the spec's policy: not from the rendered rule, which
        // its tests are there to check.
        let shape = signal.info().policy;
        let policy = match shape {
            PolicyShape::Presence => pool.policies.absent.as_ref().map(|a| &a.policy),
            PolicyShape::Capacity => model.capacity.as_ref().and_then(|c| c.undersized.as_ref()),
            PolicyShape::Levels => None,
        };
        let (severity, for_, keep_firing_for) = match policy {
            Some(p) => (p.severity.as_str(), p.for_, PromDuration::from_secs(0)),
            None => {
                let level = pool
                    .policies
                    .get(signal)
                    .into_iter()
                    .flat_map(|p| p.alert_levels())
                    .find(|(l, _)| Some(l.value) == rule.origin.threshold)
                    .map(|(_, a)| a)
                    .ok_or("no level of its policy has its threshold")?;
                (level.severity.as_str(), level.for_, level.keep_firing_for)
            }
        };
        // A capacity alert compares the recommended size with the configured one: in its
        // tests the pool is configured with UNDERSIZED_SIZE connections.
        let threshold = match shape {
            PolicyShape::Capacity => Some(UNDERSIZED_SIZE),
            _ => rule.origin.threshold,
        };
        if shape != PolicyShape::Presence && threshold.is_none() {
            return Err("it has no threshold".into());
        }
        Ok(Self {
            rule,
            pool,
            group: pool.group_labels(),
            pool_ix,
            signal,
            threshold,
            for_,
            keep_firing_for,
            severity,
            pool_label: &model.pool_label,
        })
    }

    /// The signal's alert name (from its definition, not the rendered rule).
    fn name(&self) -> &'static str {
        self.signal.alert()
    }

    fn describe(&self) -> String {
        format!(
            "{} pool={} severity={}",
            self.name(),
            self.pool.name,
            self.severity
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

    /// The first step, up to `last`, at which the alert's condition holds on a scenario.
    fn onset(&self, sc: &Scenario, last: u64, t: Timing) -> Option<u64> {
        if !self.sees(sc) {
            return None;
        }
        (0..=last).find(|&k| self.seen_value(sc, k, t).is_some())
    }

    /// Whether the alert's pool selects every series of a scenario (and there is one).
    fn sees(&self, sc: &Scenario) -> bool {
        !sc.series.is_empty() && sc.series.iter().all(|s| s.seen_by(self.pool))
    }

    /// The expression's value at step `k` of a scenario the alert [`Alert::sees`] (not an
    /// absence alert), when its condition holds.
    fn seen_value(&self, sc: &Scenario, k: u64, t: Timing) -> Option<f64> {
        if sc.ends.is_some_and(|e| k >= e) {
            return None;
        }
        sc.trace?.at(k, t).filter(|v| self.holds(*v))
    }

    /// The labels the expression keeps: the hot instance's grouping labels.
    fn labels(&self, sc: &Scenario) -> BTreeMap<String, String> {
        let mut labels = sc.hot.clone();
        labels.retain(|k, _| self.group.contains(&k.as_str()));
        labels
    }

    /// The alert's value and labels if it is firing at step `n`: its condition has held
    /// without a break for at least `for`, or stopped holding less than `keep_firing_for`
    /// ago (Prometheus's state machine, [`state::Machine`], evaluated every step from 0).
    fn firing(&self, sc: &Scenario, n: u64, t: Timing) -> Option<(f64, BTreeMap<String, String>)> {
        // An alert that selects none of the series never holds.
        if !self.sees(sc) {
            return None;
        }
        self.firing_on(sc, n, t)
    }

    /// [`Alert::firing`] on a scenario the alert [`Alert::sees`].
    fn firing_on(
        &self,
        sc: &Scenario,
        n: u64,
        t: Timing,
    ) -> Option<(f64, BTreeMap<String, String>)> {
        self.machine(t)
            .firing_at(|k| self.seen_value(sc, k, t), n)
            .map(|value| (value, self.labels(sc)))
    }

    /// The alert's state machine at the tests' step.
    fn machine(&self, t: Timing) -> state::Machine {
        state::Machine {
            for_steps: t.steps(self.for_),
            keep_ms: self.keep_firing_for.millis(),
            step_ms: t.step_ms,
        }
    }

    /// What promtool must see for this alert: the expression's labels with the rule's on
    /// top, and the annotations as Prometheus expands them.
    fn expected(&self, value: f64, labels: BTreeMap<String, String>) -> Result<ExpAlert, String> {
        let mut exp_annotations = BTreeMap::new();
        if let Some(a) = &self.rule.annotations {
            for (key, text) in [
                ("summary", &a.summary),
                ("description", &a.description),
                ("runbook_url", &a.runbook_url),
            ] {
                let text = annotation_expansion::expand(text, value, &labels)
                    .map_err(|e| format!("cannot predict its {key} annotation: {e}"))?;
                exp_annotations.insert(key.to_string(), text);
            }
        }
        let mut exp_labels = labels;
        exp_labels.insert(self.pool_label.to_string(), self.pool.name.clone());
        exp_labels.extend(self.pool.labels.iter().cloned());
        exp_labels.insert("severity".to_string(), self.severity.to_string());
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
    /// Each pool's test labels.
    labels: Vec<PoolLabels>,
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
        let labels: Vec<PoolLabels> = model.pools.iter().map(PoolLabels::new).collect();
        Self {
            model,
            alerts,
            by_name,
            by_pool,
            viewers: viewers(&model.pools, &labels),
            labels,
            timing,
        }
    }

    /// The inputs of the pool at `ix`, `steps` steps long.
    fn inputs(&self, ix: usize, steps: u64) -> Inputs<'_> {
        Inputs {
            model: self.model,
            pool: &self.model.pools[ix],
            ix,
            labels: &self.labels[ix],
            timing: self.timing,
            steps,
            headroom: headroom(self.model),
        }
    }

    /// The alerts named `alertname` that may fire on a scenario, in rule order: for a
    /// pool's scenarios only the pools that may see its series (this keeps a fleet's test
    /// generation linear); for scenarios that mix pools, every pool.
    fn candidates(&self, alertname: &str, sc: &Scenario) -> Vec<&'a Alert<'a>> {
        let Some(origin) = sc.origin else {
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

    /// The alerts named `alertname` that select a scenario's series: the only ones that
    /// may fire on it, at any step.
    fn seeing(&self, alertname: &str, sc: &Scenario) -> Vec<&'a Alert<'a>> {
        self.candidates(alertname, sc)
            .into_iter()
            .filter(|a| a.sees(sc))
            .collect()
    }

    /// The alerts named `alertname` firing at step `n` of a scenario, from every pool.
    fn check(&self, alertname: &str, sc: &Scenario, n: u64) -> Result<AlertRuleTest, String> {
        self.check_of(&self.seeing(alertname, sc), alertname, sc, n)
    }

    /// [`Tests::check`] at each step of `times`.
    fn checks(
        &self,
        alertname: &str,
        sc: &Scenario,
        times: &[u64],
    ) -> Result<Vec<AlertRuleTest>, String> {
        let seeing = self.seeing(alertname, sc);
        times
            .iter()
            .map(|&n| self.check_of(&seeing, alertname, sc, n))
            .collect()
    }

    /// The alerts of `seeing` ([`Tests::seeing`]) firing at step `n` of a scenario.
    fn check_of(
        &self,
        seeing: &[&Alert],
        alertname: &str,
        sc: &Scenario,
        n: u64,
    ) -> Result<AlertRuleTest, String> {
        let mut exp_alerts = Vec::new();
        for a in seeing {
            if let Some((value, labels)) = a.firing_on(sc, n, self.timing) {
                exp_alerts.push(a.expected(value, labels)?);
            }
        }
        Ok(AlertRuleTest {
            eval_time: self.timing.time(n),
            alertname: alertname.to_string(),
            exp_alerts,
        })
    }

    /// The recorded series `a` compares, for the hot instance of a pool named
    /// `<pool>-neighbour` (none where the spec has a pool of that name), at `value`.
    fn recorded_neighbour(&self, a: &Alert, inputs: &Inputs, value: f64) -> Option<Series> {
        let name = signals::value_name(self.model, a.pool, a.signal)?;
        let pool = format!("{}-neighbour", a.pool.name);
        if self.model.pools.iter().any(|p| p.name == pool) {
            return None;
        }
        let mut labels = inputs.labels();
        labels.retain(|k, _| a.group.contains(&k.as_str()));
        labels.insert(a.pool_label.to_string(), pool);
        Some(Series {
            role: Role::Size,
            suffix: "",
            metric: name,
            labels,
            values: inputs.constant(as_printed(value)),
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

    /// The firing (with its `for` boundary) and silent tests of one alert, each beside an
    /// idle instance at a healthy value.
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
        let keep = t.steps(a.keep_firing_for);
        // The series run on past the recovery, until the alert has cleared (after its
        // `keep_firing_for`).
        let inputs = self.inputs(a.pool_ix, steps + t.window_steps + keep + 3);
        let for_ = a.for_.to_string();
        let threshold = a.threshold.unwrap_or_default();
        let levels: Vec<f64> = a
            .pool
            .policies
            .get(a.signal)
            .map(|p| p.levels.iter().map(|l| l.value).collect())
            .unwrap_or_default();
        let def = signals::def(a.signal);
        let targets = (def.proof)(&ProofCx {
            threshold,
            levels: &levels,
            window_steps: t.window_steps,
            step_secs: t.step_secs(),
        });
        let realize = |v: f64| {
            (def.world)(&inputs, v)
                .ok_or_else(|| format!("no input series give its signal {}", number(v)))
        };
        let (mut firing, mut silent) = (realize(targets.firing)?, realize(targets.silent)?);
        // Every world has a second, idle pool instance beside the one the test is about, at
        // a healthy value: an alert must fire for the hot instance only, with its labels.
        // promtool compares the expected alerts exactly, so each check also proves the
        // idle instance silent at its eval time.
        let healthy = realize(targets.healthy)?;
        let idle = inputs.moved(&healthy, Instance::Idle);
        let hot = firing.series.len();
        // Beside the silent case, other services' series at the firing value: the alert
        // reads its own pool's series only (a lost selector matcher would fire there).
        let neighbours = inputs.neighbours(&firing);
        firing.series.extend(idle.iter().cloned());
        silent.series.extend(idle);
        silent.outside = neighbours;
        // And the recorded value the alert compares, at the firing value, from a pool that
        // is not this one: the alert reads its own pool's recording only.
        if let Some(series) = self.recorded_neighbour(a, &inputs, targets.firing) {
            silent.outside.push(series);
        }
        let onset = a.onset(&firing, steps, t).ok_or("no input makes it fire")?;
        let fire_at = onset + wait;
        if fire_at > steps || a.firing(&firing, fire_at, t).is_none() {
            return Err("no input keeps it firing until its `for` has passed".into());
        }
        if a.onset(&silent, steps, t).is_some() {
            return Err("no input keeps it silent".into());
        }
        let mut times = Vec::new();
        if wait > 0 {
            times.push(fire_at - 1);
        }
        times.push(fire_at);
        if onset + longest > fire_at {
            // Every level the input crosses is firing by now, this one included.
            times.push(onset + longest);
        }
        // During the incident one more replica joins, healthy: it stays quiet, and the hot
        // instance's alert is not raised again. After the last check the hot instance
        // recovers, and the alert clears (the recommended size looks back a day: the
        // undersized alert stays).
        let flapping = self.flapping_group(a, &firing, &healthy, hot, fire_at)?;
        firing.series.extend(inputs.scaled_out(&healthy, onset + 1));
        let recover_at = times.iter().copied().max().unwrap_or(fire_at) + 1;
        let cleared = match a.signal.info().policy {
            PolicyShape::Capacity => None,
            _ => firing.recover(&healthy, hot, recover_at, t),
        };
        // With `keep_firing_for`, the alert still fires when the condition ends, and
        // clears that long after.
        if keep > 0 {
            times.extend(cleared);
        }
        let cleared = cleared.map(|c| c + keep);
        times.extend(cleared);
        let checks = self.checks(a.name(), &firing, &times)?;
        if cleared.is_some() && checks.last().is_none_or(|c| !c.exp_alerts.is_empty()) {
            return Err("no input lets it clear".into());
        }
        let settled = silent.trace.map_or(0, |tr| tr.steady_from(t)) + wait;
        if keep > 0
            && cleared.is_some()
            && checks
                .iter()
                .rev()
                .nth(1)
                .is_none_or(|c| c.exp_alerts.is_empty())
        {
            return Err("its keep_firing_for does not keep it firing once it recovers".into());
        }
        let op = a.signal.comparison().operator();
        let mut groups = vec![
            self.group(
                format!(
                    "{}: fires at {} after {for_}, for the hot instance only while a replica \
                     joins{}",
                    a.describe(),
                    firing.shown(t, a.signal.unit()),
                    match (cleared.is_some(), keep > 0) {
                        (true, false) => "; clears once it recovers".to_string(),
                        (true, true) => format!(
                            "; keeps firing for {} once it recovers, then clears",
                            a.keep_firing_for
                        ),
                        (false, _) => String::new(),
                    }
                ),
                &firing,
                checks,
            ),
            self.group(
                format!(
                    "{}: silent at {}, just clear of {op} {}",
                    a.describe(),
                    silent.shown(t, a.signal.unit()),
                    inputs::as_text(a.signal.unit(), threshold)
                ),
                &silent,
                vec![self.check(a.name(), &silent, settled)?],
            ),
        ];
        groups.extend(flapping);
        groups.extend(self.more_groups(a, def, &firing, &inputs, longest, fire_at)?);
        Ok(groups)
    }

    /// The worlds a signal asks for beyond firing and silent (its `more_worlds`): a counter
    /// born at its first increment and a restart, a full pool nobody waits for, seconds
    /// waited with no acquisition.
    fn more_groups(
        &self,
        a: &Alert,
        def: &signals::Def,
        firing: &Scenario,
        inputs: &Inputs,
        longest: u64,
        fire_at: u64,
    ) -> Result<Vec<TestGroup>, String> {
        let mut groups = Vec::new();
        if def.more_worlds.contains(&World::BornAndRestart) {
            groups.push(self.born_group(a, inputs, longest)?);
            groups.push(self.restart_group(a, inputs, longest)?);
        }
        // Where the library counts waiting clients, a full pool nobody waits for is not
        // exhausted: the firing world with no one waiting stays silent.
        if def.more_worlds.contains(&World::NobodyWaits) && a.pool.roles.waiting.is_some() {
            let mut calm = firing.clone();
            for s in calm.series.iter_mut().filter(|s| s.role == Role::Waiting) {
                s.values = inputs.constant(0.0);
            }
            calm.trace = None;
            let check = self.check(a.name(), &calm, fire_at)?;
            groups.push(self.group(
                format!("{}: full but no one waits: silent", a.describe()),
                &calm,
                vec![check],
            ));
        }
        // A mean has no value when nothing was acquired in the window, even if seconds
        // waited were added (database/sql adds a wait's seconds when it ends, and counts it
        // when it starts): the firing world with the count standing still stays silent
        // rather than dividing by zero into +Inf.
        if def.more_worlds.contains(&World::NoEvents) {
            let mut still = firing.clone();
            for s in still
                .series
                .iter_mut()
                .filter(|s| s.role == Role::WaitCount || s.suffix == "_count")
            {
                s.values = inputs.constant(WAITS);
            }
            still.trace = None;
            let check = self.check(a.name(), &still, fire_at)?;
            groups.push(self.group(
                format!(
                    "{}: seconds waited but no acquisition: silent",
                    a.describe()
                ),
                &still,
                vec![check],
            ));
        }
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::pipeline::generate_spec;
    use crate::render::Target;
    use crate::render::annotation_expansion::expand;
    use crate::source::Sources;
    use crate::spec::SpecSource;

    /// The tests' expected annotations share two pieces of code with the renderer: the
    /// annotation templates and their expansion as Prometheus would. Here both are held to
    /// texts written by hand, for one replica of K2.
    #[test]
    fn k2_annotations_expand_to_the_texts_a_person_reads() {
        let g = generate_spec(
            &mut Sources::default(),
            &SpecSource::builtin(),
            Target::Prometheus,
        )
        .expect("K2 generates");
        let labels = BTreeMap::from([
            ("job".to_string(), "k2-api".to_string()),
            ("instance".to_string(), "10.0.0.7:9090".to_string()),
        ]);
        let text = |alert: &str, value: f64| {
            let rule = g
                .artifacts
                .rules
                .groups
                .iter()
                .flat_map(|grp| &grp.rules)
                .find(|r| r.alert.as_deref() == Some(alert))
                .expect("alert rendered");
            let a = rule.annotations.as_ref().expect("annotations");
            (
                expand(&a.summary, value, &labels).expect("summary expands"),
                expand(&a.description, value, &labels).expect("description expands"),
            )
        };
        assert_eq!(
            text("ConnectionPoolHighUtilization", 0.95).1,
            "Pool K2 query engine (job=k2-api, instance=10.0.0.7:9090) at 95% utilization \
             (threshold 90% for 5m). Consider increasing K2_QUERY_ENGINE_POOL_SIZE."
        );
        let (summary, description) = text("ConnectionPoolMetricsAbsent", 10.0);
        assert_eq!(
            summary,
            "Connection pool metrics absent for K2 query engine (job=k2-api, \
             instance=10.0.0.7:9090)"
        );
        assert_eq!(
            description,
            "No k2_connection_pool_size series for pool K2 query engine (job=k2-api, \
             instance=10.0.0.7:9090) for 10m: its target is down, or answers scrapes but \
             stopped exporting pool metrics (without instance labels: no instance exports at \
             all), and the other pool alerts cannot fire for it. An instance whose target \
             left service discovery (a deploy, a scale-in) does not fire."
        );
    }
}
