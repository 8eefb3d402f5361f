//! The Prometheus a spec targets (`prometheus: "3"`), and the release each optional
//! feature of the generated files first appeared in, so a spec asking for a feature its
//! target cannot run is refused at the field that asks.

use std::fmt;

/// A Prometheus release, as far as the spec names it (`3`, `2.53`, `3.4.1`: the patch does
/// not decide any feature, and a missing minor counts as `.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PrometheusVersion {
    pub(crate) major: u32,
    pub(crate) minor: u32,
}

impl PrometheusVersion {
    /// What a spec targets when it names no version: the current major release line.
    pub(crate) const DEFAULT: PrometheusVersion = PrometheusVersion { major: 3, minor: 0 };

    /// Reads `3`, `2.53`, `3.4.1` (a leading `v` is allowed); only majors 2 and 3 exist.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let mut num = |what: &str| -> Result<Option<u32>, String> {
            match parts.next() {
                None => Ok(None),
                Some(p) => p.parse::<u32>().map(Some).map_err(|_| {
                    format!("`{text}` is not a Prometheus version: its {what} is not a number")
                }),
            }
        };
        let major = num("major")?.ok_or_else(|| format!("`{text}` is not a version"))?;
        let minor = num("minor")?.unwrap_or(0);
        num("patch")?;
        if parts.next().is_some() {
            return Err(format!(
                "`{text}` is not a Prometheus version: expected MAJOR[.MINOR[.PATCH]]"
            ));
        }
        if !(2..=3).contains(&major) {
            return Err(format!(
                "poolwatch generates for Prometheus 2.x and 3.x, not {major}.x"
            ));
        }
        Ok(Self { major, minor })
    }

    /// Whether this release has `feature`.
    pub(crate) fn has(self, feature: Feature) -> bool {
        self >= feature.since()
    }
}

impl fmt::Display for PrometheusVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A feature of the generated files that not every Prometheus release has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feature {
    /// A rule group's `limit` (Prometheus 2.31.0, CHANGELOG: "Rules: Add the ability to
    /// limit number of alerts or series. #9260").
    GroupLimit,
    /// An alerting rule's `keep_firing_for` (Prometheus 2.42.0, CHANGELOG: "Add
    /// 'keep_firing_for' field to alerting rules. #11827").
    KeepFiringFor,
    /// A rule group's `query_offset` (Prometheus 2.53.0, CHANGELOG: "Rules: Add new option
    /// `query_offset` for each rule group ... #14061").
    QueryOffset,
    /// Metric and label names outside the classic character set, written quoted
    /// (`{"my.metric", "a.label"="x"}`): Prometheus 3.0.0 (CHANGELOG: "UTF-8 support
    /// enabled by default"; docs/migration.md, "UTF-8 names").
    QuotedNames,
    /// Native histograms read by PromQL (`histogram_quantile`, `histogram_fraction`,
    /// `histogram_count`, `histogram_sum` over them): Prometheus 2.40.0 (CHANGELOG: "Add
    /// **experimental** support for native histograms. Enable with the flag
    /// `--enable-feature=native-histograms`. #11447"; docs/querying/functions.md of v2.40.0
    /// documents the four functions); stable from 3.8.0 (CHANGELOG: "Native histograms are
    /// now a stable, but optional feature, use the `scrape_native_histograms` config
    /// setting. #17232").
    NativeHistograms,
}

impl Feature {
    /// The first release with the feature.
    pub(crate) fn since(self) -> PrometheusVersion {
        let (major, minor) = match self {
            Feature::GroupLimit => (2, 31),
            Feature::KeepFiringFor => (2, 42),
            Feature::QueryOffset => (2, 53),
            Feature::QuotedNames => (3, 0),
            Feature::NativeHistograms => (2, 40),
        };
        PrometheusVersion { major, minor }
    }

    /// The field or construct, as the spec and the rule file spell it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Feature::GroupLimit => "rule group `limit`",
            Feature::KeepFiringFor => "`keep_firing_for`",
            Feature::QueryOffset => "rule group `query_offset`",
            Feature::QuotedNames => "a name outside [a-zA-Z_:][a-zA-Z0-9_:]* (written quoted)",
            Feature::NativeHistograms => "a native histogram (`storage: native` or `both`)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_written_and_order_by_release() {
        let v = |s| PrometheusVersion::parse(s).unwrap();
        assert_eq!(v("3"), PrometheusVersion::DEFAULT);
        assert_eq!(
            v("v2.53.1"),
            PrometheusVersion {
                major: 2,
                minor: 53
            }
        );
        assert!(v("2.9") < v("2.42"), "minor versions compare as numbers");
        for bad in ["", "x", "2.x", "1.8", "4", "2.42.0.1"] {
            assert!(PrometheusVersion::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn each_feature_starts_at_its_release() {
        let v = |s| PrometheusVersion::parse(s).unwrap();
        assert!(!v("2.41").has(Feature::KeepFiringFor));
        assert!(v("2.42").has(Feature::KeepFiringFor));
        assert!(!v("2.52").has(Feature::QueryOffset));
        assert!(v("2.53").has(Feature::QueryOffset));
        assert!(!v("2.30").has(Feature::GroupLimit));
        assert!(!v("2.55").has(Feature::QuotedNames));
        assert!(v("3").has(Feature::QuotedNames));
        assert!(!v("2.39").has(Feature::NativeHistograms));
        assert!(v("2.40").has(Feature::NativeHistograms));
    }
}
