//! The expected values of each pool's recording rules, computed operation for operation as
//! Prometheus 2 computes them (promtool compares recorded values exactly).

use std::collections::BTreeMap;

use super::Tests;
use super::arithmetic::{bucket_quantile, quantile};
use super::file::{ExpSample, PromqlExprTest, TestGroup};
use super::inputs::{Scenario, inputs_buckets};
use crate::conventions::number;
use crate::model::{Pool, Role};
use crate::render::prometheus::{Record, Rule};
use crate::render::promql::push_matchers;

impl Tests<'_> {
    /// The expected values of a pool's recording rules, on a pool that was 90% busy a
    /// moment ago and is 50% busy now, with a known wait-time distribution.
    pub(super) fn recording_group(
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
        let pool_sel = crate::render::promql::pool_matcher(&self.model.pool_label, &pool.name);
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
                Record::WaitQuantile(q) => vec![(None, bucket_quantile(q, &rates))],
                Record::CapacityActive => vec![(None, NOW)],
                Record::Recommended => vec![(None, recommended.ok_or_else(missing)?)],
                Record::MemoryCeiling => {
                    constant = true;
                    vec![(None, ceiling.ok_or_else(missing)? as f64)]
                }
                // Driven by its alert's worlds, not this one: they hold the series that move
                // it, and the alert compares and prints what it records.
                Record::Signal(_) => continue,
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
            ends: None,
            outside: Vec::new(),
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
