//! The catalog: each metric's name, type, unit, labels and histogram buckets.

use super::{DUPLICATE, INVALID_NAME, INVALID_VALUE, Resolver, is_label_name, is_metric_name};
use crate::diag::Diagnostic;
use crate::model::{Catalog, Feature, HistogramStorage, Metric};
use crate::spec::{self, RawSpec, S};

impl Resolver<'_> {
    pub(super) fn catalog(&mut self, raw: &RawSpec) -> Catalog {
        let mut catalog = Catalog::default();
        for m in &raw.catalog {
            let name = &m.name.value;
            if !is_metric_name(name) && !self.utf8_name(name, &m.name) {
                let d = Diagnostic::error(
                    INVALID_NAME,
                    format!("`{name}` is not a valid Prometheus metric name"),
                )
                .at(self.span(&m.name))
                .label("expected [a-zA-Z_:][a-zA-Z0-9_:]*");
                self.push(d);
                continue;
            }
            for suffix in ["_bucket", "_sum", "_count"] {
                if m.kind.value == spec::MetricKind::Histogram && name.ends_with(suffix) {
                    let d = Diagnostic::error(
                        INVALID_NAME,
                        format!("histogram `{name}` is named with its `{suffix}` series"),
                    )
                    .at(self.span(&m.name))
                    .help(format!(
                        "name the histogram itself: `{}`",
                        name.trim_end_matches(suffix)
                    ));
                    self.push(d);
                }
            }
            let mut labels: Vec<String> = Vec::new();
            for l in &m.labels {
                // A name outside the classic set is refused (PW003) only if Prometheus 3
                // cannot take it quoted either.
                let ok =
                    is_label_name(&l.value) || self.utf8_name(&l.value, l) || self.label_name(l);
                if ok && !labels.contains(&l.value) {
                    labels.push(l.value.clone());
                }
            }
            let buckets = m.buckets.as_ref().map(|b| self.buckets(m, b));
            let storage = self.storage(m);
            let metric = Metric {
                name: name.clone(),
                kind: m.kind.value,
                unit: m.unit.value,
                help: m.help.value.trim().to_string(),
                labels,
                buckets,
                storage,
            };
            if !catalog.insert(metric) {
                let d = Diagnostic::error(
                    DUPLICATE,
                    format!("metric `{name}` is declared twice in the catalog"),
                )
                .at(self.span(&m.name))
                .label("second declaration");
                self.push(d);
            }
        }
        catalog
    }

    /// A histogram's bucket bounds: finite, ascending, on a histogram.
    pub(super) fn buckets(&mut self, m: &spec::RawMetric, b: &S<Vec<S<f64>>>) -> Vec<f64> {
        if let Some(d) = self.not_a_histogram(m, "buckets", b) {
            self.push(d);
        }
        if b.value.is_empty() {
            let d = Diagnostic::error(
                INVALID_VALUE,
                "a histogram needs at least one finite bucket",
            )
            .at(self.span(b));
            self.push(d);
        }
        let mut out: Vec<f64> = Vec::new();
        for v in &b.value {
            if !v.value.is_finite() {
                let d =
                    Diagnostic::error(INVALID_VALUE, "bucket bounds are finite; `+Inf` is implied")
                        .at(self.span(v));
                self.push(d);
                continue;
            }
            if out.last().is_some_and(|p| *p >= v.value) {
                let d = Diagnostic::error(INVALID_VALUE, "bucket bounds must be ascending")
                    .at(self.span(v))
                    .label(format!(
                        "{} follows {}",
                        crate::conventions::number(v.value),
                        crate::conventions::number(out.last().copied().unwrap_or_default())
                    ));
                self.push(d);
                continue;
            }
            out.push(v.value);
        }
        out
    }

    /// The error for `what` (a histogram's field) written at `at` on a metric of another
    /// type, if it is one.
    fn not_a_histogram<T>(&self, m: &spec::RawMetric, what: &str, at: &S<T>) -> Option<Diagnostic> {
        (m.kind.value != spec::MetricKind::Histogram).then(|| {
            Diagnostic::error(
                INVALID_VALUE,
                format!(
                    "`{}` is a {}: only a histogram has {what}",
                    m.name.value, m.kind.value
                ),
            )
            .at(self.span(at))
        })
    }

    /// A histogram's `storage:`, on a histogram only, and native only where the target
    /// Prometheus reads native histograms.
    fn storage(&mut self, m: &spec::RawMetric) -> HistogramStorage {
        let Some(st) = &m.storage else {
            return HistogramStorage::default();
        };
        if let Some(d) = self.not_a_histogram(m, "a `storage`", st) {
            self.push(d.help("remove `storage:`, or declare the metric `type: histogram`"));
            return HistogramStorage::default();
        }
        if st.value.has_native() {
            self.require(Feature::NativeHistograms, st);
        }
        st.value
    }

    pub(super) fn label_name(&mut self, l: &S<String>) -> bool {
        if is_label_name(&l.value) {
            return true;
        }
        let d = Diagnostic::error(
            INVALID_NAME,
            format!("`{}` is not a valid Prometheus label name", l.value),
        )
        .at(self.span(l))
        .label("expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with `__`");
        self.push(d);
        false
    }
}
