//! What the checks know about metrics: exact types and units from a spec's catalog, a saved
//! `/metrics` exposition (`--metrics`) or a saved `/api/v1/metadata` response
//! (`--metadata`); and, for every other name, what Prometheus's naming conventions say
//! (`_total` is a counter, `_bucket` a histogram's buckets, `_seconds` a time). A name
//! known only by convention is *inferred*: checks built on it report at most a warning,
//! because conventions are not rules and old exporters break them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::model::{Catalog, MetricKind, Model, Unit};

/// Where exact knowledge came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provenance {
    /// A poolwatch spec's `catalog:` (complete: an unknown name is an error).
    Spec,
    /// A saved `/metrics` exposition (one target's metrics).
    Exposition,
    /// A saved `/api/v1/metadata` response (one server's metrics).
    Metadata,
}

/// A metric's type, as Prometheus and OpenMetrics name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    /// An info metric: value 1, the information is in its labels.
    Info,
    /// A state set or 0/1 gauge: one series per state, value 0 or 1.
    StateSet,
    Unknown,
}

impl MetricType {
    /// Any letter case; compared in place, since a server's metadata names a type for
    /// each of its thousands of metrics.
    fn parse(s: &str) -> MetricType {
        let s = s.trim();
        [
            ("counter", MetricType::Counter),
            ("gauge", MetricType::Gauge),
            ("histogram", MetricType::Histogram),
            ("gaugehistogram", MetricType::Histogram),
            ("summary", MetricType::Summary),
            ("info", MetricType::Info),
            ("stateset", MetricType::StateSet),
        ]
        .into_iter()
        .find(|(word, _)| s.eq_ignore_ascii_case(word))
        .map_or(MetricType::Unknown, |(_, t)| t)
    }
}

/// One metric family known exactly.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Family {
    pub(crate) kind: MetricType,
    pub(crate) unit: Option<Unit>,
    /// A histogram's finite bucket bounds (`le`), ascending; empty when not known.
    pub(crate) buckets: Vec<f64>,
    /// A histogram whose samples may be native histograms under its own name (a spec's
    /// `storage: native` or `both`).
    pub(crate) native: bool,
    /// Every label its series carry (`le` and `quantile` included), besides what the
    /// target adds (`job`, `instance`, relabeling); `None` when not known.
    pub(crate) labels: Option<std::collections::BTreeSet<String>>,
}

/// The unit a `# UNIT` line, a metadata `unit` or a name suffix names, when it is one the
/// checks reason about.
pub(crate) fn unit_word(word: &str) -> Option<Unit> {
    match word {
        "seconds" => Some(Unit::Seconds),
        "bytes" => Some(Unit::Bytes),
        "ratio" => Some(Unit::Ratio),
        "percent" => Some(Unit::Percent),
        "connections" => Some(Unit::Connections),
        _ => None,
    }
}

/// The unit a name's last word says (`_seconds`, `_bytes`, `_ratio`, `_percent`), after
/// the series suffixes (`_total`, `_bucket`, `_sum`, `_count`) are removed.
pub(crate) fn unit_of_name(name: &str) -> Option<Unit> {
    let base = strip_series_suffix(name).0;
    base.rsplit('_').next().and_then(unit_word)
}

/// A name without its series suffix, and the suffix.
pub(crate) fn strip_series_suffix(name: &str) -> (&str, &str) {
    for s in ["_total", "_bucket", "_count", "_sum", "_created"] {
        if let Some(b) = name.strip_suffix(s) {
            return (b, s);
        }
    }
    (name, "")
}

/// What the checks know: families known exactly, by name, and where they came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Knowledge {
    families: HashMap<String, Family>,
    /// The sources that filled `families`; empty when nothing is known exactly.
    pub(crate) provenance: Vec<Provenance>,
    /// The Prometheus the files run on (`check --prometheus`).
    pub(crate) target: Target,
}

/// The Prometheus major version rule files and dashboards run on. Not given, 3 is assumed
/// (the current release, and a spec's default target) and what only 3 breaks is a warning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Target {
    #[default]
    Assumed3,
    V2,
    V3,
}

impl Target {
    /// From `--prometheus 2|3`.
    pub(crate) fn from_flag(major: Option<u8>) -> Self {
        match major {
            Some(2) => Target::V2,
            Some(_) => Target::V3,
            None => Target::Assumed3,
        }
    }

    pub(crate) fn is_v3(self) -> bool {
        self != Target::V2
    }

    /// The level of a finding about what one version breaks: `severity` when the version
    /// is given, at most a warning when 3 is only assumed.
    pub(crate) fn level(self, severity: crate::diag::Severity) -> crate::diag::Severity {
        use crate::diag::Severity;
        match (self, severity) {
            (Target::Assumed3, Severity::Error) => Severity::Warning,
            _ => severity,
        }
    }

    /// How the version is known, for messages.
    pub(crate) fn words(self) -> &'static str {
        match self {
            Target::Assumed3 => "Prometheus 3, assumed: `--prometheus 2|3` says which",
            Target::V2 => "Prometheus 2, from `--prometheus 2`",
            Target::V3 => "Prometheus 3, from `--prometheus 3`",
        }
    }
}

/// What one series name is, as far as anything says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesInfo {
    pub(crate) kind: MetricType,
    pub(crate) unit: Option<Unit>,
    /// One of a histogram's `_bucket` series.
    pub(crate) buckets: bool,
    /// Known from a catalog, exposition or metadata (not only by naming convention).
    pub(crate) exact: bool,
}

impl Knowledge {
    /// Exact knowledge from a spec: its catalog, and the labels its pools group by. Identity
    /// and kept labels (`namespace`, `pod`) often come from the scrape target's relabeling,
    /// not the exporter, and the spec declares them on the pool rather than the metric.
    pub(crate) fn from_model(model: &Model) -> Self {
        let mut k = Self::from_catalog(&model.catalog);
        let pooled: Vec<&String> = model
            .pools
            .iter()
            .flat_map(|p| p.identity.iter().chain(&p.keep_labels))
            .collect();
        for f in k.families.values_mut() {
            if let Some(labels) = &mut f.labels {
                labels.extend(pooled.iter().map(|l| (*l).clone()));
            }
        }
        k
    }

    /// Exact knowledge from a spec's catalog.
    pub(crate) fn from_catalog(catalog: &Catalog) -> Self {
        let mut k = Knowledge::default();
        for m in &catalog.metrics {
            let kind = match m.kind {
                MetricKind::Counter => MetricType::Counter,
                MetricKind::Gauge => MetricType::Gauge,
                MetricKind::Histogram => MetricType::Histogram,
            };
            k.families.insert(
                m.name.clone(),
                Family {
                    kind,
                    unit: Some(m.unit),
                    buckets: m.buckets.clone().unwrap_or_default(),
                    native: m.kind == MetricKind::Histogram && m.storage.has_native(),
                    // A spec declares the labels it relies on; none declared says nothing.
                    labels: (!m.labels.is_empty()).then(|| {
                        let mut l: std::collections::BTreeSet<String> =
                            m.labels.iter().cloned().collect();
                        if kind == MetricType::Histogram {
                            l.insert("le".into());
                        }
                        l
                    }),
                },
            );
        }
        k.provenance.push(Provenance::Spec);
        k
    }

    /// True when a spec's catalog is the list of every metric (an unknown name is a typo).
    pub(crate) fn is_closed(&self) -> bool {
        self.provenance.contains(&Provenance::Spec)
    }

    /// True when anything is known exactly.
    pub(crate) fn has_catalog(&self) -> bool {
        !self.provenance.is_empty()
    }

    /// Adds families (an exposition's or metadata's); existing entries win.
    pub(crate) fn merge(&mut self, provenance: Provenance, families: HashMap<String, Family>) {
        if self.families.is_empty() {
            // The first source is taken as it is, without hashing every name again.
            self.families = families;
        } else {
            self.families.reserve(families.len());
            for (name, f) in families {
                self.families.entry(name).or_insert(f);
            }
        }
        if !self.provenance.contains(&provenance) {
            self.provenance.push(provenance);
        }
    }

    /// True when a family known exactly shares `name`'s namespace (its first `_` word,
    /// `k2` of `k2_pool_size`): the exposition or metadata given is that exporter's.
    pub(crate) fn covers_namespace(&self, name: &str) -> bool {
        let Some((ns, _)) = name.split_once('_') else {
            return false;
        };
        self.families
            .keys()
            .any(|k| k.split_once('_').is_some_and(|(n, _)| n == ns))
    }

    /// True when `name` is a histogram stored natively, whose bare name selects it.
    pub(crate) fn is_native_histogram(&self, name: &str) -> bool {
        self.families.get(name).is_some_and(|f| f.native)
    }

    pub(crate) fn family(&self, name: &str) -> Option<&Family> {
        self.families.get(name)
    }

    /// Every exactly known series name (a histogram's three series), for "did you mean".
    pub(crate) fn series_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, f) in &self.families {
            match f.kind {
                MetricType::Histogram => {
                    for s in ["_bucket", "_sum", "_count"] {
                        out.push(format!("{name}{s}"));
                    }
                }
                MetricType::Summary => {
                    out.push(name.clone());
                    for s in ["_sum", "_count"] {
                        out.push(format!("{name}{s}"));
                    }
                }
                MetricType::Counter if !name.ends_with("_total") => {
                    // OpenMetrics names the family without `_total`, the series with it.
                    out.push(name.clone());
                    out.push(format!("{name}_total"));
                }
                _ => out.push(name.clone()),
            }
        }
        out.sort();
        out
    }

    /// What a series name is: exactly, from a family, or by convention.
    pub(crate) fn series(&self, name: &str) -> Option<SeriesInfo> {
        let exact = |kind, unit, buckets| SeriesInfo {
            kind,
            unit,
            buckets,
            exact: true,
        };
        if let Some(f) = self.families.get(name) {
            return match f.kind {
                // A classic histogram's bare name is not a series; a native one's is.
                MetricType::Histogram if f.native => Some(exact(f.kind, f.unit, false)),
                MetricType::Histogram => None,
                k => Some(exact(k, f.unit, false)),
            };
        }
        let (base, suffix) = strip_series_suffix(name);
        if !suffix.is_empty()
            && let Some(f) = self.families.get(base)
        {
            let unit = match suffix {
                "_sum" => f.unit,
                "_created" => Some(Unit::Seconds),
                _ => None,
            };
            match (f.kind, suffix) {
                (MetricType::Histogram, "_bucket") => {
                    return Some(exact(MetricType::Counter, None, true));
                }
                (MetricType::Histogram | MetricType::Summary, "_sum" | "_count") => {
                    return Some(exact(MetricType::Counter, unit, false));
                }
                (MetricType::Counter, "_total") => {
                    return Some(exact(MetricType::Counter, f.unit, false));
                }
                (_, "_created") => return Some(exact(MetricType::Gauge, unit, false)),
                _ => {}
            }
        }
        None
    }

    /// What naming conventions say about a name nothing knows exactly.
    pub(crate) fn infer(name: &str) -> SeriesInfo {
        let (_, suffix) = strip_series_suffix(name);
        let unit = unit_of_name(name);
        let (kind, buckets) = match suffix {
            "_total" => (MetricType::Counter, false),
            "_bucket" => (MetricType::Counter, true),
            _ if name.ends_with("_info") => (MetricType::Info, false),
            _ if is_binary_name(name) => (MetricType::StateSet, false),
            _ => (MetricType::Unknown, false),
        };
        SeriesInfo {
            kind,
            unit: if suffix == "_bucket" || suffix == "_count" {
                None
            } else {
                unit
            },
            buckets,
            exact: false,
        }
    }
}

/// Names that by wide convention hold 0 or 1: `up`, `probe_success`, `*_up`.
pub(crate) fn is_binary_name(name: &str) -> bool {
    name == "up" || name == "probe_success" || name.ends_with("_up")
}

/// A saved `/metrics` exposition (Prometheus text format or OpenMetrics): `# TYPE` and
/// `# UNIT` lines, and the `le` of every `_bucket` sample. Returns the families, or the
/// 1-based line and a message for a line that is none of comment, sample or blank.
pub(crate) fn parse_exposition(text: &str) -> Result<HashMap<String, Family>, (usize, String)> {
    let mut out: HashMap<String, Family> = HashMap::new();
    let blank = || Family {
        kind: MetricType::Unknown,
        unit: None,
        buckets: Vec::new(),
        native: false,
        labels: None,
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let mut words = rest.split_whitespace();
            let (Some(what), Some(name)) = (words.next(), words.next()) else {
                continue;
            };
            let value = words.next().unwrap_or("");
            match what {
                "TYPE" => {
                    out.entry(name.to_string()).or_insert_with(blank).kind =
                        MetricType::parse(value)
                }
                "UNIT" => out.entry(name.to_string()).or_insert_with(blank).unit = unit_word(value),
                _ => {}
            }
            continue;
        }
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .ok_or_else(|| (i + 1, "a sample line needs a name and a value".to_string()))?;
        let name = &line[..name_end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return Err((i + 1, format!("`{name}` is not a metric name")));
        }
        // The family a sample belongs to: its own name's, or its base name's for a
        // histogram's or summary's series and a counter's `_total`.
        let family = if out.contains_key(name) {
            name
        } else {
            let (base, suffix) = strip_series_suffix(name);
            if !suffix.is_empty() && out.contains_key(base) {
                base
            } else {
                name
            }
        };
        let labels = out
            .entry(family.to_string())
            .or_insert_with(blank)
            .labels
            .get_or_insert_with(Default::default);
        label_names(&line[name_end..], |l| {
            if !labels.contains(l) {
                labels.insert(l.to_string());
            }
        });
        if let Some(base) = name.strip_suffix("_bucket")
            && let Some(le) = label_value(&line[name_end..], "le")
            && let Ok(v) = le.parse::<f64>()
            && v.is_finite()
        {
            let f = out.entry(base.to_string()).or_insert_with(blank);
            if !f.buckets.contains(&v) {
                f.buckets.push(v);
            }
        }
    }
    for f in out.values_mut() {
        f.buckets.sort_by(f64::total_cmp);
    }
    Ok(out)
}

/// The label names of a sample's `{...}`, its quoted values skipped (with their escapes).
fn label_names(rest: &str, mut f: impl FnMut(&str)) {
    let Some(body) = rest.strip_prefix('{') else {
        return;
    };
    let mut chars = body.char_indices();
    let mut start = 0;
    while let Some((i, c)) = chars.next() {
        match c {
            '=' => {
                let name = body[start..i].trim().trim_start_matches(',').trim();
                if !name.is_empty() {
                    f(name.trim_matches('"'));
                }
                // Skip the quoted value.
                let mut escaped = false;
                let mut opened = false;
                for (_, v) in chars.by_ref() {
                    if !opened {
                        opened = v == '"';
                        continue;
                    }
                    match (escaped, v) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => {}
                    }
                }
                start = chars.offset();
            }
            '}' => return,
            _ => {}
        }
    }
}

/// The value of `label` in a sample's `{...}` (naive about escaped quotes, which `le`
/// values never hold).
fn label_value<'a>(rest: &'a str, label: &str) -> Option<&'a str> {
    let body = rest.strip_prefix('{')?;
    let body = &body[..body.find('}')?];
    body.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == label).then(|| v.trim().trim_matches('"'))
    })
}

/// A saved `/api/v1/metadata` response: `{"data": {"<name>": [{"type", "unit"}]}}`.
/// Read into a hash map: a server's metadata holds every metric it scrapes, and nothing
/// needs them in order.
pub(crate) fn parse_metadata(text: &str) -> Result<HashMap<String, Family>, String> {
    #[derive(serde::Deserialize)]
    struct Response<'a> {
        #[serde(borrow)]
        data: HashMap<String, Vec<Entry<'a>>>,
    }
    #[derive(serde::Deserialize)]
    struct Entry<'a> {
        #[serde(rename = "type", default, borrow)]
        kind: Cow<'a, str>,
        #[serde(default, borrow)]
        unit: Cow<'a, str>,
    }
    let r: Response = serde_json::from_str(text).map_err(|e| {
        format!(
            "line {}, column {}: not a /api/v1/metadata response (expected {{\"data\": {{\"<metric>\": [{{\"type\": ..., \"unit\": ...}}]}}}})",
            e.line(),
            e.column()
        )
    })?;
    let mut out = HashMap::with_capacity(r.data.len());
    for (name, entries) in r.data {
        if let Some(e) = entries.first() {
            let family = Family {
                kind: MetricType::parse(&e.kind),
                unit: unit_word(&e.unit),
                buckets: Vec::new(),
                native: false,
                labels: None,
            };
            out.insert(name, family);
        }
    }
    Ok(out)
}

/// "Did you mean" in time linear in the number of names: every name and each of its
/// one-character deletions index the name, so a lookup lists the names within one edit
/// (and most within two) without comparing against all of them. The deletions are kept as
/// hashes (computed from prefix and suffix hashes, no string built), sorted; a colliding
/// hash only adds a candidate, which the edit distance then judges.
///
/// Names one deletion apart differ in length by at most one, so the keys are grouped by
/// the length of their name and a lookup reads three groups. A group is hashed and sorted
/// the first time a lookup reads it: a few misspellings never pay for the other lengths.
#[derive(Debug, Default)]
pub(crate) struct NameIndex {
    names: Vec<String>,
    /// Element `n`: the names of `n` bytes.
    by_len: Vec<LenGroup>,
}

/// The names of one length, and their keys once a lookup needed them.
#[derive(Debug, Default)]
struct LenGroup {
    ids: Vec<u32>,
    /// (hash of a name or of one of its deletions, name index), sorted.
    keys: OnceLock<Vec<(u64, u32)>>,
}

/// Hashes of a name and of each of its one-byte deletions (names are ASCII; other bytes
/// only make extra candidates).
fn deletion_hashes(name: &str, mut f: impl FnMut(u64)) {
    const P: u64 = 0x100_0000_01b3;
    let b = name.as_bytes();
    let n = b.len();
    // prefix[i]: hash of b[..i]; suffix[i]: hash of b[i..]; pow[k] = P^k.
    let mut prefix = Vec::with_capacity(n + 1);
    let mut pow = Vec::with_capacity(n + 1);
    prefix.push(0u64);
    pow.push(1u64);
    for (i, &c) in b.iter().enumerate() {
        prefix.push(prefix[i].wrapping_mul(P).wrapping_add(u64::from(c) + 1));
        pow.push(pow[i].wrapping_mul(P));
    }
    let mut suffix = vec![0u64; n + 1];
    for i in (0..n).rev() {
        suffix[i] = (u64::from(b[i]) + 1)
            .wrapping_mul(pow[n - 1 - i])
            .wrapping_add(suffix[i + 1]);
    }
    let mix =
        |h: u64, len: usize| (h ^ (len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).rotate_left(17);
    f(mix(prefix[n], n));
    for i in 0..n {
        // b[..i] followed by b[i+1..]: the prefix shifted by the suffix's length.
        let h = prefix[i]
            .wrapping_mul(pow[n - 1 - i])
            .wrapping_add(suffix[i + 1]);
        f(mix(h, n - 1));
    }
}

impl NameIndex {
    pub(crate) fn new(names: Vec<String>) -> Self {
        let longest = names.iter().map(String::len).max().unwrap_or(0);
        let mut by_len: Vec<LenGroup> = (0..=longest).map(|_| LenGroup::default()).collect();
        for (i, n) in names.iter().enumerate() {
            by_len[n.len()].ids.push(i as u32);
        }
        Self { names, by_len }
    }

    /// The sorted keys of the names of `len` bytes (none when there are none).
    fn keys(&self, len: usize) -> &[(u64, u32)] {
        let Some(group) = self.by_len.get(len) else {
            return &[];
        };
        group.keys.get_or_init(|| {
            let mut keys = Vec::with_capacity(group.ids.len() * (len + 1));
            for &i in &group.ids {
                deletion_hashes(&self.names[i as usize], |h| keys.push((h, i)));
            }
            keys.sort_unstable();
            keys.dedup();
            keys
        })
    }

    /// The closest indexed name within the distance `did_you_mean` allows.
    pub(crate) fn closest(&self, name: &str) -> Option<&str> {
        let n = name.len();
        let groups =
            [n.checked_sub(1), Some(n), Some(n + 1)].map(|l| l.map_or(&[][..], |l| self.keys(l)));
        let mut ids: Vec<u32> = Vec::new();
        deletion_hashes(name, |h| {
            for keys in groups {
                let start = keys.partition_point(|&(k, _)| k < h);
                ids.extend(
                    keys[start..]
                        .iter()
                        .take_while(|&&(k, _)| k == h)
                        .map(|&(_, i)| i),
                );
            }
        });
        ids.sort_unstable();
        ids.dedup();
        crate::model::did_you_mean(name, ids.iter().map(|&i| self.names[i as usize].as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog of one histogram, `wait_seconds`, stored as `storage`.
    fn histogram(storage: crate::model::HistogramStorage) -> Knowledge {
        let mut c = Catalog::default();
        c.insert(crate::model::Metric {
            name: "wait_seconds".into(),
            kind: MetricKind::Histogram,
            unit: Unit::Seconds,
            help: String::new(),
            labels: Vec::new(),
            buckets: None,
            storage,
        });
        Knowledge::from_catalog(&c)
    }

    #[test]
    fn a_native_histogram_is_read_by_its_bare_name() {
        use crate::check::typing::{Env, ValUnit};
        use crate::model::HistogramStorage;
        let classic = Env::new(histogram(HistogramStorage::Classic));
        assert!(
            !classic.knows("wait_seconds"),
            "a classic histogram's bare name"
        );
        for storage in [HistogramStorage::Native, HistogramStorage::Both] {
            let env = Env::new(histogram(storage));
            assert!(env.knows("wait_seconds"), "{storage}");
            let ty = |src: &str| env.type_of(&promql_parser::parser::parse(src).unwrap());
            let rate = "sum by (job) (rate(wait_seconds[5m]))";
            let q = ty(&format!("histogram_quantile(0.99, {rate})"));
            assert_eq!(q.unit, ValUnit::Of(Unit::Seconds), "{storage}");
            assert!(!q.labels.drops("job"), "{storage}: {}", q.labels.describe());
            // The histogram is histogram_fraction's last argument: its labels survive.
            let share = ty(&format!("histogram_fraction(5, +Inf, {rate})"));
            assert!(share.is_ratio() && !share.labels.drops("job"), "{storage}");
            let count = ty(&format!("histogram_count({rate})"));
            assert_eq!(count.unit, ValUnit::PerSecond(Unit::Events), "{storage}");
            let sum = ty(&format!("histogram_sum({rate})"));
            assert_eq!(sum.unit, ValUnit::PerSecond(Unit::Seconds), "{storage}");
        }
    }

    #[test]
    fn names_say_what_they_can() {
        assert_eq!(Knowledge::infer("x_errors_total").kind, MetricType::Counter);
        assert_eq!(
            Knowledge::infer("x_request_duration_seconds_sum").unit,
            Some(Unit::Seconds)
        );
        assert!(Knowledge::infer("x_seconds_bucket").buckets);
        assert_eq!(Knowledge::infer("build_info").kind, MetricType::Info);
        assert_eq!(Knowledge::infer("up").kind, MetricType::StateSet);
        // `_created` names a creation timestamp only beside a counter the exposition has.
        assert_eq!(
            Knowledge::infer("mysql_global_status_threads_created").kind,
            MetricType::Unknown
        );
        assert_eq!(Knowledge::infer("queue_length").kind, MetricType::Unknown);
        assert!(!Knowledge::infer("x_total").exact);
    }

    #[test]
    fn an_exposition_gives_types_units_and_buckets() {
        let text = "# HELP a_seconds Wait.\n# TYPE a_seconds histogram\n# UNIT a_seconds seconds\n\
                    a_seconds_bucket{le=\"0.5\"} 1\na_seconds_bucket{x=\"y\",le=\"2.5\"} 3\n\
                    a_seconds_bucket{le=\"+Inf\"} 4\na_seconds_sum 3\na_seconds_count 4\n\
                    # TYPE g gauge\ng 1\n";
        let f = parse_exposition(text).unwrap();
        assert_eq!(f["a_seconds"].kind, MetricType::Histogram);
        assert_eq!(f["a_seconds"].unit, Some(Unit::Seconds));
        assert_eq!(f["a_seconds"].buckets, vec![0.5, 2.5]);
        assert_eq!(f["g"].kind, MetricType::Gauge);
        let names = |n: &str| f[n].labels.clone().unwrap().into_iter().collect::<Vec<_>>();
        assert_eq!(names("a_seconds"), vec!["le", "x"]);
        assert!(names("g").is_empty());
        let odd = parse_exposition("q{a=\"x,b=\\\"y\\\"\",c=\"}\"} 1\n").unwrap();
        assert_eq!(
            odd["q"]
                .labels
                .clone()
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["a", "c"]
        );
        assert_eq!(parse_exposition("{oops} 1\n").unwrap_err().0, 1);
    }

    #[test]
    fn metadata_gives_types() {
        let f = parse_metadata(
            r#"{"status":"success","data":{"q":[{"type":"gauge","help":"","unit":"bytes"}]}}"#,
        )
        .unwrap();
        assert_eq!(f["q"].kind, MetricType::Gauge);
        assert_eq!(f["q"].unit, Some(Unit::Bytes));
        assert!(parse_metadata("[]").is_err());
    }

    #[test]
    fn the_index_finds_near_names() {
        let idx = NameIndex::new(vec![
            "k2_connection_pool_acquisition_timeouts_total".into(),
            "up".into(),
        ]);
        assert_eq!(
            idx.closest("k2_connection_pool_acquisition_timeout_total"),
            Some("k2_connection_pool_acquisition_timeouts_total")
        );
        assert_eq!(idx.closest("something_else"), None);
        assert_eq!(idx.closest("uq"), Some("up"));
        assert_eq!(idx.closest("upp"), Some("up"));
        assert_eq!(idx.closest("p"), Some("up"));
    }

    /// The names one deletion (or none) away on each side, built as strings: what the
    /// grouped, hashed index must find.
    fn one_deletion_apart(a: &str, b: &str) -> bool {
        let dels = |s: &str| {
            let mut v = vec![s.to_string()];
            for i in 0..s.len() {
                v.push(format!("{}{}", &s[..i], &s[i + 1..]));
            }
            v
        };
        let db = dels(b);
        dels(a).iter().any(|x| db.contains(x))
    }

    #[test]
    fn the_index_reads_only_neighbouring_lengths_and_misses_nothing() {
        let names: Vec<String> = [
            "up",
            "upx",
            "x_up",
            "a_total",
            "ab_total",
            "abc_total",
            "b_total",
            "a_totals",
            "req_seconds_bucket",
            "req_second_bucket",
            "req_seconds_bucke",
            "req_secondsx_bucket",
        ]
        .map(String::from)
        .to_vec();
        let idx = NameIndex::new(names.clone());
        for q in [
            "u",
            "up",
            "uq",
            "upxx",
            "a_tota",
            "a_totalx",
            "ab_totals",
            "abcd_total",
            "req_seconds_buckets",
            "req_secnds_bucket",
            "eq_seconds_bucket",
            "",
            "zzz",
        ] {
            let brute = crate::model::did_you_mean(
                q,
                names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| one_deletion_apart(n, q)),
            );
            assert_eq!(idx.closest(q), brute, "{q}");
        }
    }
}
