//! Prometheus arithmetic the generated tests predict, operation for operation: the
//! evaluation step, rate() over a filling window, histogram_quantile, quantile_over_time,
//! and the numbers promtool reads back from what poolwatch prints.

use crate::conventions::number;
use crate::model::PromDuration;

/// The evaluation step of every test, and the rate window counted in steps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) step_ms: u64,
    pub(crate) window_steps: u64,
}

impl Timing {
    /// The largest step dividing a minute, the rate window and every `for`, made small
    /// enough that the rate window holds at least four samples: rate() then has samples to
    /// work with whether the window's start is included (Prometheus 2) or not (3).
    pub(crate) fn new(window: PromDuration, fors: impl Iterator<Item = PromDuration>) -> Self {
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
    pub(crate) fn steps(self, d: PromDuration) -> u64 {
        d.millis().div_ceil(self.step_ms)
    }

    /// The time of a step, as a promtool `eval_time`.
    pub(crate) fn time(self, step: u64) -> String {
        PromDuration::from_millis(step * self.step_ms).to_string()
    }

    pub(crate) fn step_secs(self) -> f64 {
        self.step_ms as f64 / 1000.0
    }

    pub(crate) fn window_secs(self) -> f64 {
        (self.window_steps * self.step_ms) as f64 / 1000.0
    }

    /// rate() at step `k` of a counter rising by `per_step` every step from 0, computed as
    /// Prometheus 2 does, operation for operation (its unit tests compare values exactly).
    /// A counter is not extrapolated below zero, so the rate grows each step until the
    /// window is full, then settles; the extrapolation factor is then exactly 1.
    pub(crate) fn rate(self, per_step: f64, k: u64) -> f64 {
        let increase = k.min(self.window_steps) as f64 * per_step;
        increase * (1.0 / self.window_secs())
    }
}

pub(crate) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `(active, size)` whose ratio is within 0.1% of `value`, with the smallest power-of-ten
/// size from 100.
pub(crate) fn ratio(value: f64) -> Option<(f64, f64)> {
    (2..=9).map(|k| 10f64.powi(k)).find_map(|size| {
        let active = (value * size).round();
        ((active / size - value).abs() <= value.abs() * 0.001).then_some((active, size))
    })
}

/// The number promtool reads back from the text poolwatch prints for `x`.
pub(crate) fn as_printed(x: f64) -> f64 {
    number(x).parse().unwrap_or(x)
}

/// Prometheus's `histogram_quantile` over cumulative buckets sorted by bound, the last
/// `+Inf`.
pub(crate) fn bucket_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
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

/// Prometheus's `quantile_over_time` (promql's `quantile`), operation for operation.
pub(crate) fn quantile(q: f64, mut values: Vec<f64>) -> f64 {
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
