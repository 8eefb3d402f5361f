//! Prometheus's text exposition format (0.0.4), parsed into metric families: the shape
//! (type, label names, histogram buckets) the catalog conformance compares with a spec.
use std::collections::{BTreeMap, BTreeSet};

/// One metric family of a text exposition: its type, the label names its samples carry,
/// and for a histogram its finite bucket bounds.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Family {
    pub kind: String,
    pub labels: BTreeSet<String>,
    pub buckets: Vec<f64>,
    /// Label values seen, per label (to pick identities out of real data).
    pub values: BTreeMap<String, BTreeSet<String>>,
}

/// Parses Prometheus's text exposition format (0.0.4): families by name. Samples of a
/// histogram or summary (`_bucket`, `_sum`, `_count`) count towards their family; `le` and
/// `quantile` are not counted as labels.
pub(crate) fn parse_exposition(text: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                families.entry(name.to_string()).or_default().kind = kind.to_string();
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (name, labels) = match line.find('{') {
            Some(i) => (&line[..i], parse_labels(&line[i + 1..])),
            None => (line.split_whitespace().next().unwrap_or(""), Vec::new()),
        };
        let family_name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                let base = name.strip_suffix(suffix)?;
                families
                    .get(base)
                    .is_some_and(|f| f.kind == "histogram" || f.kind == "summary")
                    .then_some(base)
            })
            .unwrap_or(name);
        let fam = families.entry(family_name.to_string()).or_default();
        if fam.kind.is_empty() {
            fam.kind = "untyped".into();
        }
        for (k, v) in labels {
            if k == "le" {
                if let Ok(b) = v.parse::<f64>()
                    && b.is_finite()
                    && !fam.buckets.contains(&b)
                {
                    fam.buckets.push(b);
                }
                continue;
            }
            if k == "quantile" {
                continue;
            }
            fam.labels.insert(k.clone());
            fam.values.entry(k).or_default().insert(v);
        }
    }
    for f in families.values_mut() {
        f.buckets.sort_by(f64::total_cmp);
    }
    families
}

/// `a="x",b="y"} 1` → [(a, x), (b, y)], with `\"`, `\\` and `\n` unescaped.
fn parse_labels(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if rest.starts_with('}') || rest.is_empty() {
            return out;
        }
        let Some(eq) = rest.find('=') else {
            return out;
        };
        let key = rest[..eq].trim().to_string();
        rest = &rest[eq + 1..];
        let Some(body) = rest.strip_prefix('"') else {
            return out;
        };
        let mut value = String::new();
        let mut chars = body.char_indices();
        let mut end = body.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.push((key, value));
        rest = &body[end..];
    }
}
