//! Prometheus durations (`5m`, `1h30m`, `250ms`): parsed once, printed canonically.

use std::fmt;

/// A non-negative Prometheus duration, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PromDuration(u64);

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

impl PromDuration {
    pub(crate) const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    pub(crate) const fn from_secs(s: u64) -> Self {
        Self(s * 1000)
    }

    pub(crate) const fn millis(self) -> u64 {
        self.0
    }

    pub(crate) fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses Prometheus's duration syntax: unit groups from largest to smallest, each at
    /// most once (`1h30m`, not `30m1h`), as `model.ParseDuration` accepts.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("empty duration".into());
        }
        if s == "0" {
            return Ok(Self(0));
        }
        let mut rest = s;
        let mut total: u64 = 0;
        let mut last_unit = None::<usize>;
        while !rest.is_empty() {
            let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(format!(
                    "`{s}` is not a duration: expected a number followed by a unit (ms, s, m, h, d, w, y), like `5m` or `1h30m`"
                ));
            }
            let n: u64 = rest[..digits]
                .parse()
                .map_err(|_| format!("`{s}`: the number is too large"))?;
            rest = &rest[digits..];
            // "ms" must be tried before "m".
            let unit = [6usize, 0, 1, 2, 3, 4, 5]
                .into_iter()
                .find(|&i| rest.starts_with(UNITS[i].0))
                .ok_or_else(|| {
                    format!("`{s}` has no valid unit after {n}: use ms, s, m, h, d, w or y")
                })?;
            if last_unit.is_some_and(|l| unit <= l) {
                return Err(format!(
                    "`{s}`: units must go from largest to smallest, each once (like `1h30m`)"
                ));
            }
            last_unit = Some(unit);
            rest = &rest[UNITS[unit].0.len()..];
            total = n
                .checked_mul(UNITS[unit].1)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("`{s}` is too long"))?;
        }
        Ok(Self(total))
    }
}

impl fmt::Display for PromDuration {
    /// Prints as Prometheus does: largest units first, zero units left out, `0s` for zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut ms = self.0;
        for (name, size) in UNITS {
            let n = ms / size;
            if n > 0 {
                write!(f, "{n}{name}")?;
                ms %= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::PromDuration;

    #[test]
    fn parses_and_prints_canonically() {
        for (input, ms, printed) in [
            ("5m", 300_000, "5m"),
            ("90s", 90_000, "1m30s"),
            ("1h30m", 5_400_000, "1h30m"),
            ("250ms", 250, "250ms"),
            ("0", 0, "0s"),
            ("1d", 86_400_000, "1d"),
        ] {
            let d = PromDuration::parse(input).expect(input);
            assert_eq!(d.millis(), ms, "{input}");
            assert_eq!(d.to_string(), printed, "{input}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "5",
            "m",
            "5 m",
            "30m1h",
            "5mm",
            "-5m",
            "1.5m",
            "5x",
            "99999999999999999999y",
        ] {
            assert!(PromDuration::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
