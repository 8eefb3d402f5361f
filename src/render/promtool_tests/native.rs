//! What promtool 2.42 cannot prove: rules that read a histogram stored only as native
//! histograms (`storage: native`). promtool's input series notation gained native
//! histograms in 2.47.0 (docs/configuration/unit_testing_rules.md of v2.47.0, "Native
//! histogram notation"; absent from v2.42.0's), so a 2.42 test cannot feed such a rule.
//! Those alerts and recording rules get no promtool case; the test file says so in its
//! header, the coverage line counts them apart, and the end-to-end scenario
//! (`tests/it/e2e_native*.rs`, a real Prometheus scraping native histograms) proves them.
//! A histogram stored `both` ways is proven here through its classic fallback.

use crate::model::{HistogramStorage, Pool, Role, Signal};
use crate::render::prometheus::Record;

/// The roles a signal's expression reads in `pool`: its own, or the first set of its
/// alternatives the pool binds (the one its expression chooses, as the mean's wait
/// counters before the wait-time histogram).
fn roles_read(pool: &Pool, signal: Signal) -> Vec<Role> {
    let mut out: Vec<Role> = signal.info().role.into_iter().collect();
    out.extend_from_slice(pool.roles.bound_set(signal).unwrap_or_default());
    out
}

/// Whether `role` is a histogram stored only natively in `pool`.
fn native_only(pool: &Pool, role: Role) -> bool {
    pool.roles.storage(role) == HistogramStorage::Native
}

/// Whether an alert of `signal` reads a native-only histogram of `pool`.
pub(super) fn alert_reads_native(pool: &Pool, signal: Signal) -> bool {
    roles_read(pool, signal)
        .into_iter()
        .any(|r| native_only(pool, r))
}

/// Whether a recording rule reads a native-only histogram of `pool`: the wait-time
/// histogram's mean and quantiles, or a signal's value that reads one.
pub(super) fn record_reads_native(pool: &Pool, record: Option<Record>) -> bool {
    match record {
        Some(Record::WaitMean | Record::WaitQuantile(_)) => native_only(pool, Role::WaitTime),
        Some(Record::Signal(signal)) => alert_reads_native(pool, signal),
        _ => false,
    }
}

/// The test file's header lines naming what is left to the end-to-end scenario.
pub(super) fn note(rules: &[String]) -> Vec<String> {
    if rules.is_empty() {
        return Vec::new();
    }
    let mut out = vec![
        "Not tested here: these rules read native histograms (catalog `storage: native`),"
            .to_string(),
        "which promtool 2.42's input series cannot express (its notation has native".to_string(),
        "histograms from 2.47.0). They are proven end to end against a real Prometheus".to_string(),
        "scraping native histograms (poolwatch's tests/it/e2e_native*.rs):".to_string(),
    ];
    out.extend(rules.iter().map(|r| format!("- {r}")));
    out
}
