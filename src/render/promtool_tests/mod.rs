//! promtool unit tests for the rule file, generated from the policies: for every alert,
//! series that fire it after its `for`, a case at the `for` boundary (still pending) and a
//! case just on the silent side of its threshold, each beside an idle instance at a healthy
//! value that must stay silent; for every pool, the values of its recording rules.
//!
//! Expected alerts come from replaying Prometheus's pending → firing state machine over the
//! values the generated inputs give each alert's expression, and expected annotations from
//! expanding the rule's own templates ([`super::annotation_expansion`]). An alert that no
//! input can fire, or that no input keeps silent, cannot be proven and is refused.
//!
//! promtool compares recording-rule values exactly, so they are computed operation for
//! operation as Prometheus 2 computes them. Prometheus 3 evaluates rate() over a left-open
//! window and may differ in the last bit there; alert cases do not depend on it (thresholds
//! have margins, annotations print four digits).

mod arithmetic;
mod file;
mod inputs;

use std::collections::{BTreeMap, HashMap};

use self::arithmetic::{Timing, as_printed, bucket_quantile, quantile};
pub(crate) use self::file::{
    AlertRuleTest, Coverage, ExpAlert, ExpSample, PromqlExprTest, TestFile, TestGroup,
};
use self::inputs::{
    Inputs, Instance, PoolLabels, Scenario, Series, Trace, UNDERSIZED_SIZE, WAITS, headroom,
    inputs_buckets, viewers,
};
use super::annotation_expansion;
use super::prometheus::{Record, Rule, RuleFile};
use super::promql::push_matchers;
use crate::conventions::{self, number};
use crate::diag::{Code, Diagnostic};
use crate::model::{Comparison, Model, Pool, PromDuration, Role, Signal, ValueUnit};

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
        rule_files: vec![conventions::test_rule_files_entry()],
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
            group: pool.group_labels(),
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
                    .any(|s| s.role == pool.presence_role() && s.seen_by(pool)),
            };
            return (!present).then(|| (1.0, pool.selector.iter().cloned().collect()));
        }
        if !self.sees(sc) {
            return None;
        }
        let value = self.seen_value(sc, k, t)?;
        Some((value, self.labels(sc)))
    }

    /// The first step, up to `last`, at which the alert's condition holds on a scenario:
    /// [`Alert::hit`] step by step, without building the labels of each hit.
    fn onset(&self, sc: &Scenario, last: u64, t: Timing) -> Option<u64> {
        if self.signal == Signal::Absent {
            return (0..=last).find(|&k| self.hit(sc, k, t).is_some());
        }
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
        sc.trace?.at(k, t).filter(|v| self.holds(*v))
    }

    /// The labels the expression keeps: the hot instance's grouping labels.
    fn labels(&self, sc: &Scenario) -> BTreeMap<String, String> {
        let mut labels = sc.hot.clone();
        labels.retain(|k, _| self.group.contains(&k.as_str()));
        labels
    }

    /// The alert's value and labels if it is firing at step `n`: its condition has held
    /// without a break for at least `for` (Prometheus's pending → firing state machine,
    /// evaluated every step from 0).
    fn firing(&self, sc: &Scenario, n: u64, t: Timing) -> Option<(f64, BTreeMap<String, String>)> {
        // An alert that selects none of the series never holds.
        if self.signal != Signal::Absent && !self.sees(sc) {
            return None;
        }
        self.firing_on(sc, n, t)
    }

    /// [`Alert::firing`] on a scenario the alert [`Alert::sees`] (any, for absence).
    fn firing_on(
        &self,
        sc: &Scenario,
        n: u64,
        t: Timing,
    ) -> Option<(f64, BTreeMap<String, String>)> {
        // Input series are constant from step 0 on, so absent() gives the same answer at
        // every step.
        if self.signal == Signal::Absent {
            let hit = self.hit(sc, 0, t)?;
            return (n >= t.steps(self.for_)).then_some(hit);
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
        exp_labels.extend(self.rule.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
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

    /// The alerts named `alertname` that select a scenario's series (every absence alert):
    /// the only ones that may fire on it, at any step.
    fn seeing(&self, alertname: &str, sc: &Scenario) -> Vec<&'a Alert<'a>> {
        self.candidates(alertname, sc)
            .into_iter()
            .filter(|a| a.signal == Signal::Absent || a.sees(sc))
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
        let inputs = self.inputs(a.pool_ix, steps);
        let for_ = a.for_.to_string();
        let threshold = a.threshold.unwrap_or_default();
        let levels: Vec<f64> = a
            .pool
            .policies
            .get(a.signal)
            .map(|p| p.levels.iter().map(|l| l.value).collect())
            .unwrap_or_default();
        let targets = inputs.targets(a.signal, threshold, &levels);
        let realize = |v: f64| {
            inputs
                .scenario(a.signal, v)
                .ok_or_else(|| format!("no input series give its signal {}", number(v)))
        };
        let (mut firing, mut silent) = (realize(targets.firing)?, realize(targets.silent)?);
        // Every world has a second, idle pool instance beside the one the test is about, at
        // a healthy value: an alert must fire for the hot instance only, with its labels.
        // promtool compares the expected alerts exactly, so each check also proves the
        // idle instance silent at its eval time.
        let idle = inputs.moved(&realize(targets.healthy)?, Instance::Idle);
        firing.series.extend(idle.iter().cloned());
        silent.series.extend(idle);
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
        let checks = self.checks(a.name(), &firing, &times)?;
        let settled = silent.trace.map_or(0, |tr| tr.steady_from(t)) + wait;
        let op = a.signal.comparison().operator();
        let mut groups = vec![
            self.group(
                format!(
                    "{}: fires at {} after {for_}",
                    a.describe(),
                    firing.shown(t)
                ),
                &firing,
                checks,
            ),
            self.group(
                format!(
                    "{}: silent at {}, just clear of {op} {}",
                    a.describe(),
                    silent.shown(t),
                    number(threshold)
                ),
                &silent,
                vec![self.check(a.name(), &silent, settled)?],
            ),
        ];
        if matches!(
            a.signal,
            Signal::AcquisitionTimeouts | Signal::CreationErrors
        ) {
            groups.push(self.born_group(a, &inputs, longest)?);
        }
        // Where the library counts waiting clients, a full pool nobody waits for is not
        // exhausted: the firing world with no one waiting stays silent.
        if a.signal == Signal::Exhausted && a.pool.roles.waiting.is_some() {
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
        if a.signal == Signal::WaitTimeMean {
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
        let presence = a.pool.presence_role();
        let series = vec![
            inputs.series_of(Instance::Hot, presence, "", None, inputs.constant(10.0)),
            inputs.series_of(Instance::Idle, presence, "", None, inputs.constant(10.0)),
            inputs.series_of(
                Instance::Hot,
                role,
                "",
                None,
                format!("_x{at} {}x{}", number(born), steps - at),
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
            sizes_seen: None,
        };
        let mut times = Vec::new();
        for n in [at + wait.max(1) - 1, at + wait, at + ws + wait] {
            if !times.contains(&n) {
                times.push(n);
            }
        }
        let checks = self.checks(a.name(), &sc, &times)?;
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
            let inputs = self.inputs(ix, steps);
            let s = inputs.series(
                pool.presence_role(),
                "",
                None,
                inputs.constant(UNDERSIZED_SIZE),
            );
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
        let mut times = Vec::new();
        for f in fors {
            if f > 0 {
                times.push(f - 1);
            }
            times.push(f);
        }
        let checks = self.checks(alertname, &missing, &times)?;
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
        let pools = &self.model.pools;
        let mut series: Vec<Series> = Vec::new();
        // The stopped series, with the index of their pool.
        let mut gone: Vec<(usize, Series)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (ix, pool) in pools.iter().enumerate() {
            let inputs = self.inputs(ix, steps);
            let presence = pool.presence_role();
            let hot = inputs.series_of(
                Instance::Hot,
                presence,
                "",
                None,
                format!("{}x{} stale", number(SIZE), STOP - 1),
            );
            let idle = inputs.series_of(Instance::Idle, presence, "", None, inputs.constant(SIZE));
            for s in [hot, idle] {
                if seen.insert(s.input().series) {
                    if s.values.ends_with("stale") {
                        gone.push((ix, s.clone()));
                    }
                    series.push(s);
                }
            }
        }
        // The stopped series each pool selects, looked for among the pools that may see them
        // (`viewers`), so that the test grows with the pools, not with their square.
        let mut seen_gone: Vec<Vec<&Series>> = vec![Vec::new(); pools.len()];
        for (ix, s) in &gone {
            for &q in self.viewers.get(*ix).into_iter().flatten() {
                if s.seen_by(&pools[q]) {
                    seen_gone[q].push(s);
                }
            }
        }
        // What each alert expects once its `for` has passed: its pool's instances that
        // stopped, summed per instance.
        let mut expected: Vec<(&Alert, Vec<ExpAlert>)> = Vec::new();
        for a in self.named(alertname) {
            let mut by_instance: BTreeMap<BTreeMap<String, String>, f64> = BTreeMap::new();
            let presence = a.pool.presence_role();
            for s in seen_gone[a.pool_ix].iter().filter(|s| s.role == presence) {
                let mut labels = s.labels.clone();
                for (id_label, metric_label) in a.pool.roles.matches(presence) {
                    if let Some(v) = labels.remove(metric_label) {
                        labels.insert(id_label.clone(), v);
                    }
                }
                labels.retain(|k, _| a.group.contains(&k.as_str()));
                *by_instance.entry(labels).or_default() += SIZE;
            }
            let exp = by_instance
                .into_iter()
                .map(|(labels, value)| a.expected(value, labels))
                .collect::<Result<Vec<_>, _>>()?;
            expected.push((a, exp));
        }
        let mut fors: Vec<u64> = self.named(alertname).map(|a| t.steps(a.for_)).collect();
        fors.sort_unstable();
        fors.dedup();
        let mut checks = Vec::new();
        for f in fors {
            for n in [STOP + f.max(1) - 1, STOP + f] {
                let mut exp_alerts = Vec::new();
                for (a, exp) in &expected {
                    if n >= STOP + t.steps(a.for_) {
                        exp_alerts.extend(exp.iter().cloned());
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
        let inputs = self.inputs(ix, at + 1);
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

        // Concurrent use is recorded at every evaluation from 0 to `at`: the active series'
        // values then (PEAK up to the window's end, NOW after).
        let recommended = self.model.capacity.as_ref().map(|c| {
            let used: Vec<f64> = (0..=at).map(|k| if k <= ws { PEAK } else { NOW }).collect();
            (c.headroom * quantile(c.peak_quantile, used)).ceil()
        });
        let ceiling = self
            .model
            .capacity
            .as_ref()
            .and_then(|c| c.memory_ceiling());
        let pool_sel = super::promql::pool_matcher(&self.model.pool_label, &pool.name);
        // Recorded series keep the hot instance's grouping labels.
        let mut kept = inputs.labels();
        let group = pool.group_labels();
        kept.retain(|k, _| group.contains(&k.as_str()));
        let mut exprs = Vec::new();
        for rule in records {
            let name = rule.name();
            // A constant (the memory ceiling) carries none of the pool's labels.
            let mut constant = false;
            let missing = || format!("no expected value for recording rule {name}");
            let values: Vec<(Option<f64>, f64)> = match rule.origin.record.ok_or_else(missing)? {
                Record::Utilization => vec![(None, NOW / SIZE)],
                Record::PeakUtilization => vec![(None, PEAK / SIZE)],
                Record::WaitMean => vec![(
                    None,
                    t.rate(WAIT_SUM, at) / t.rate(waits[waits.len() - 1].1, at),
                )],
                Record::WaitBucketRate => rates.iter().map(|&(le, r)| (Some(le), r)).collect(),
                Record::WaitQuantile(q) => vec![(None, bucket_quantile(q, &rates))],
                Record::CapacityActive => vec![(None, NOW)],
                Record::Recommended => vec![(None, recommended.ok_or_else(missing)?)],
                Record::MemoryCeiling => {
                    constant = true;
                    vec![(None, ceiling.ok_or_else(missing)? as f64)]
                }
            };
            let exp_samples = values
                .into_iter()
                .map(|(le, value)| {
                    let mut labels = if constant {
                        BTreeMap::new()
                    } else {
                        kept.clone()
                    };
                    labels.extend(rule.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
                    if let Some(le) = le {
                        labels.insert("le".to_string(), number(le));
                    }
                    let pairs: Vec<(&str, &str)> = labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let mut series = name.to_string();
                    push_matchers(&mut series, &pairs);
                    ExpSample {
                        labels: series,
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
