//! Prometheus's alert state machine replayed over a test's evaluation steps: inactive →
//! pending → firing once the condition has held for `for`, and, with `keep_firing_for`,
//! still firing (with the value it last had) until the condition has been gone that long
//! (Prometheus 2.42's rules/alerting.go: a firing alert whose expression returns nothing
//! keeps firing while `now - keepFiringSince < keepFiringFor`; a pending one is dropped).

/// How an alert's state moves: its `for` in steps, `keep_firing_for` in milliseconds, and
/// the evaluation step.
#[derive(Debug, Clone, Copy)]
pub(super) struct Machine {
    pub(super) for_steps: u64,
    pub(super) keep_ms: u64,
    pub(super) step_ms: u64,
}

impl Machine {
    /// The value the alert shows at step `n` if it is firing then, evaluated every step
    /// from 0; `seen(k)` is the expression's value at step `k` when its condition holds.
    pub(super) fn firing_at(self, seen: impl Fn(u64) -> Option<f64>, n: u64) -> Option<f64> {
        let mut state = State::Inactive;
        for k in 0..=n {
            state = self.next(state, seen(k), k);
        }
        match state {
            State::Firing { value, .. } => Some(value),
            State::Inactive | State::Pending { .. } => None,
        }
    }

    fn next(self, state: State, seen: Option<f64>, k: u64) -> State {
        match (state, seen) {
            (State::Inactive, Some(value)) => self.promote(k, value, k),
            (State::Pending { since, .. }, Some(value)) => self.promote(since, value, k),
            (State::Firing { .. }, Some(value)) => State::Firing { value, gone: None },
            (State::Firing { value, gone }, None) if self.keep_ms > 0 => {
                let gone = gone.unwrap_or(k);
                if (k - gone) * self.step_ms < self.keep_ms {
                    State::Firing {
                        value,
                        gone: Some(gone),
                    }
                } else {
                    State::Inactive
                }
            }
            (_, None) => State::Inactive,
        }
    }

    /// A condition holding since `since` with `value` at step `k`: firing once `for` has
    /// passed (at once for a zero `for`), else pending.
    fn promote(self, since: u64, value: f64, k: u64) -> State {
        if k - since >= self.for_steps {
            State::Firing { value, gone: None }
        } else {
            State::Pending { since }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Inactive,
    Pending {
        since: u64,
    },
    /// Firing with the value of its last evaluation that held; `gone`: the first step of
    /// the current run without a result, while `keep_firing_for` holds it.
    Firing {
        value: f64,
        gone: Option<u64>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holds at steps 0..10 except 5 and 6: a two-step dip.
    fn flapping(k: u64) -> Option<f64> {
        (k < 10 && k != 5 && k != 6).then_some(k as f64)
    }

    #[test]
    fn without_keep_firing_for_a_dip_ends_the_alert_and_for_starts_again() {
        let m = Machine {
            for_steps: 2,
            keep_ms: 0,
            step_ms: 1000,
        };
        let firing: Vec<u64> = (0..12)
            .filter(|&n| m.firing_at(flapping, n).is_some())
            .collect();
        assert_eq!(firing, [2, 3, 4, 9]);
    }

    #[test]
    fn keep_firing_for_bridges_a_shorter_dip_with_the_last_value_then_lets_go() {
        let m = Machine {
            for_steps: 2,
            keep_ms: 3000,
            step_ms: 1000,
        };
        let firing: Vec<u64> = (0..14)
            .filter(|&n| m.firing_at(flapping, n).is_some())
            .collect();
        // Gone at 10: kept while now - 10 < 3 steps.
        assert_eq!(firing, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(
            m.firing_at(flapping, 6),
            Some(4.0),
            "the value before the dip"
        );
    }

    #[test]
    fn a_pending_alert_is_not_kept() {
        let m = Machine {
            for_steps: 5,
            keep_ms: 10_000,
            step_ms: 1000,
        };
        assert_eq!(m.firing_at(flapping, 8), None);
    }
}
