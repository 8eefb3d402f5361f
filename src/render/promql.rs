//! PromQL text for a pool's signals. Every expression poolwatch emits is built here, with
//! label values escaped, so rules and dashboards compute the same thing the same way.

use crate::conventions::number;
use crate::model::{Pool, Role, Signal};

/// Escapes a label value for a double-quoted PromQL string.
pub fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    push_escaped(&mut out, v);
    out
}

/// Appends a label value escaped as [`escape_label_value`] does.
fn push_escaped(out: &mut String, v: &str) {
    use std::fmt::Write as _;
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Prometheus's lexer reads U+FFFD as a decoding error ("invalid UTF-8 rune"), and
            // control characters are invisible in review: write them as escapes.
            c if c.is_control() || c == '\u{FFFD}' => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// `{a="x", b="y"}`, or nothing for no matchers.
pub fn matchers(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    push_matchers(&mut out, pairs);
    out
}

/// Appends [`matchers`] of `pairs` to `out` (no intermediate strings: a fleet writes
/// hundreds of thousands of them).
pub fn push_matchers(out: &mut String, pairs: &[(&str, &str)]) {
    if pairs.is_empty() {
        return;
    }
    out.reserve(
        pairs
            .iter()
            .map(|(k, v)| k.len() + v.len() + 5)
            .sum::<usize>()
            + 2,
    );
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push_str("=\"");
        push_escaped(out, v);
        out.push('"');
    }
    out.push('}');
}

/// `{pool="k2"}`: selects the series a pool's recording rules record (they carry the pool
/// label).
pub fn pool_matcher(pool_label: &str, pool: &str) -> String {
    matchers(&[(pool_label, pool)])
}

/// Builds the expressions of one pool for one rate window (`5m` in rules,
/// `$__rate_interval` in dashboards).
#[derive(Debug)]
pub struct PoolExprs<'a> {
    pub pool: &'a Pool,
    pub window: &'a str,
    /// Break long binary expressions over lines (rule files show them as block scalars).
    pub multiline: bool,
}

/// Lines longer than this are broken at their top-level binary operator.
pub const WIDTH: usize = 80;

impl<'a> PoolExprs<'a> {
    /// Expressions for a rule file: long ones span several lines.
    pub fn rules(pool: &'a Pool, window: &'a str) -> Self {
        Self {
            pool,
            window,
            multiline: true,
        }
    }

    /// Expressions for dashboard targets: always one line.
    pub fn panels(pool: &'a Pool, window: &'a str) -> Self {
        Self {
            pool,
            window,
            multiline: false,
        }
    }

    /// `lhs op rhs`, or with the operator on a line of its own when too long.
    pub fn binary(&self, lhs: &str, op: &str, rhs: &str) -> String {
        let one_line = format!("{lhs} {op} {rhs}");
        if !self.multiline || (one_line.len() <= WIDTH && !one_line.contains('\n')) {
            one_line
        } else if rhs.len() <= 20 && !rhs.contains('\n') {
            format!("{lhs}\n{op} {rhs}")
        } else {
            format!("{lhs}\n{op}\n{rhs}")
        }
    }

    /// `metric{selector}`.
    pub fn select(&self, metric: &str) -> String {
        let pairs: Vec<(&str, &str)> = self
            .pool
            .selector
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        format!("{metric}{}", matchers(&pairs))
    }

    /// `sum by (kept, extra) (inner)`, or `sum(inner)` with nothing kept.
    pub fn sum(&self, inner: &str, extra: &[&str]) -> String {
        let mut labels: Vec<&str> = self.pool.keep_labels.iter().map(String::as_str).collect();
        labels.extend_from_slice(extra);
        if labels.is_empty() {
            format!("sum({inner})")
        } else {
            format!("sum by ({}) ({inner})", labels.join(", "))
        }
    }

    pub fn rate(&self, metric: &str) -> String {
        format!("rate({}[{}])", self.select(metric), self.window)
    }

    /// Per-second rate of a counter, summed to the kept labels.
    pub fn counter_rate(&self, metric: &str) -> String {
        self.sum(&self.rate(metric), &[])
    }

    /// A gauge summed to the kept labels.
    pub fn gauge(&self, metric: &str) -> String {
        self.sum(&self.select(metric), &[])
    }

    /// active / size, a 0..1 ratio.
    pub fn utilization(&self) -> String {
        self.binary(
            &self.gauge(&self.pool.roles.active),
            "/",
            &self.gauge(&self.pool.roles.size),
        )
    }

    /// Bucket rates of a histogram, summed to the kept labels and `le`.
    pub fn bucket_rate(&self, histogram: &str) -> String {
        self.sum(&self.rate(&format!("{histogram}_bucket")), &["le"])
    }

    pub fn quantile(&self, q: f64, histogram: &str) -> String {
        format!(
            "histogram_quantile({}, {})",
            number(q),
            self.bucket_rate(histogram)
        )
    }

    /// Mean of a histogram's observations over the window.
    pub fn mean(&self, histogram: &str) -> String {
        self.binary(
            &self.counter_rate(&format!("{histogram}_sum")),
            "/",
            &self.counter_rate(&format!("{histogram}_count")),
        )
    }

    /// Available connections: the pool's gauge, or size - active when it has none.
    pub fn available(&self) -> String {
        let r = &self.pool.roles;
        match &r.available {
            Some(m) => self.gauge(m),
            None => format!("({} - {})", self.gauge(&r.size), self.gauge(&r.active)),
        }
    }

    /// The metric of an optional role. The model drops every signal whose role a pool
    /// lacks, so this is only asked for roles that exist; an empty name would fail the
    /// PromQL check rather than pass silently.
    fn role(&self, role: Role) -> &str {
        self.pool.roles.get(role).unwrap_or_default()
    }

    /// The value a signal compares with its thresholds.
    pub fn signal(&self, signal: Signal) -> String {
        let r = &self.pool.roles;
        match signal {
            Signal::Utilization => self.utilization(),
            Signal::AcquisitionTimeouts => self.counter_rate(self.role(Role::AcquisitionTimeouts)),
            Signal::CreationErrors => self.counter_rate(self.role(Role::CreationErrors)),
            Signal::WaitTimeP99 => self.quantile(0.99, self.role(Role::WaitTime)),
            Signal::QueryDurationP99 => self.quantile(0.99, self.role(Role::QueryDuration)),
            Signal::Exhausted => self.available(),
            Signal::Absent => format!("absent({})", self.select(&r.size)),
            // Compared against the recommended size's recording rule.
            Signal::Undersized => self.gauge(&r.size),
        }
    }

    /// The alert condition: the signal compared with a threshold.
    pub fn condition(&self, signal: Signal, threshold: f64) -> String {
        self.binary(
            &self.signal(signal),
            signal.comparison().operator(),
            &number(threshold),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label_value("x\ny"), r"x\ny");
        assert_eq!(matchers(&[("job", "a\"b")]), r#"{job="a\"b"}"#);
        assert_eq!(matchers(&[]), "");
        assert_eq!(escape_label_value("a\u{FFFD}\u{1}"), r"a\uFFFD\u0001");
    }
}
