//! The flapping world of an alert with `keep_firing_for`: once it fires, the hot instance
//! dips to a healthy value for as long as `keep_firing_for` bridges, then goes back above
//! its threshold. promtool must see one alert all along (no resolve, no second page).
//!
//! Built where the hot instance is driven by gauges alone (a saturation signal: the value
//! a person sees flap around the threshold), so a dip is a few samples of another value.
//! Rate-driven signals cannot dip and return within a step (their window smooths it); their
//! `keep_firing_for` is proven by the firing world instead, which still fires after the
//! recovery until `keep_firing_for` has passed.

use super::inputs::Scenario;
use super::{Alert, AlertRuleTest, TestGroup, Tests};

impl Tests<'_> {
    /// The flapping group of `a` (None where `a` has no `keep_firing_for` or a signal not
    /// driven by gauges alone): `firing` fires at `fire_at` with its first `hot` series on
    /// the hot instance, and `healthy` gives each of them a value that keeps it silent.
    pub(super) fn flapping_group(
        &self,
        a: &Alert,
        firing: &Scenario,
        healthy: &Scenario,
        hot: usize,
        fire_at: u64,
    ) -> Result<Option<TestGroup>, String> {
        let t = self.timing;
        let keep = t.steps(a.keep_firing_for);
        if keep == 0 {
            return Ok(None);
        }
        // The dip: `keep` steps from the one after the alert fired, then back.
        let (from, to) = (fire_at + 1, fire_at + keep);
        let mut flap = firing.clone();
        for s in flap.series.iter_mut().take(hot) {
            let Some((value, _)) = s.values.rsplit_once('x') else {
                return Ok(None);
            };
            if value.contains('+') || value.contains('_') {
                return Ok(None);
            }
            let Some(h) = healthy
                .series
                .iter()
                .find(|h| h.metric == s.metric && h.labels == s.labels)
            else {
                return Ok(None);
            };
            let Some((calm, _)) = h.values.rsplit_once('x') else {
                return Ok(None);
            };
            s.values = format!(
                "{value}x{} {calm}x{} {value}x{}",
                from - 1,
                keep - 1,
                keep + 2
            );
        }
        let dipped = |k: u64| (from..=to).contains(&k);
        let times = [from - 1, from, to, to + 1];
        let mut checks = Vec::new();
        for n in times {
            checks.push(self.flap_check(a, &flap, n, &dipped)?);
        }
        if checks.iter().any(|c| c.exp_alerts.is_empty()) {
            return Err(format!(
                "its keep_firing_for ({}) does not bridge a dip of as long",
                a.keep_firing_for
            ));
        }
        Ok(Some(self.group(
            format!(
                "{}: flaps below its threshold for {} once firing: keep_firing_for {} keeps one \
                 alert firing throughout",
                a.describe(),
                t.time(keep),
                a.keep_firing_for
            ),
            &flap,
            checks,
        )))
    }

    /// The alerts of `a`'s name firing at step `n` of the flapping world, each replayed
    /// with its own `for` and `keep_firing_for` over the values with the dip cut out.
    fn flap_check(
        &self,
        a: &Alert,
        sc: &Scenario,
        n: u64,
        dipped: &dyn Fn(u64) -> bool,
    ) -> Result<AlertRuleTest, String> {
        let t = self.timing;
        let mut exp_alerts = Vec::new();
        for b in self.seeing(a.name(), sc) {
            let seen = |k: u64| (!dipped(k)).then(|| b.seen_value(sc, k, t)).flatten();
            if let Some(value) = b.machine(t).firing_at(seen, n) {
                exp_alerts.push(b.expected(value, b.labels(sc))?);
            }
        }
        Ok(AlertRuleTest {
            eval_time: t.time(n),
            alertname: a.name().to_string(),
            exp_alerts,
        })
    }
}
