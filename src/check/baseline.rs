//! Baselines: the findings a repository had when it adopted the linter, written once
//! (`--write-baseline FILE`) and read on every later run (`--baseline FILE`), so that only
//! new findings fail. A finding is known by its code, file, object and message (not its
//! line, which moves whenever anything above it changes); each recorded entry absorbs one
//! finding, so a second copy of a baselined mistake is still new.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;
use crate::source::Sources;

/// One recorded finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) code: String,
    pub(crate) file: String,
    pub(crate) object: String,
    pub(crate) message: String,
}

/// A baseline file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Baseline {
    pub(crate) version: u32,
    pub(crate) findings: Vec<Entry>,
}

fn entry(d: &Diagnostic, sources: &Sources) -> Entry {
    Entry {
        code: d.code.code.to_string(),
        file: d
            .span
            .as_ref()
            .and_then(|s| sources.get(s.file))
            .map(|f| f.name.clone())
            .unwrap_or_default(),
        object: d.object.clone().unwrap_or_default(),
        message: d.message.clone(),
    }
}

/// The baseline of these findings (suppressed ones are already accounted for), as JSON.
pub(crate) fn write(diags: &[Diagnostic], sources: &Sources) -> String {
    let mut findings: Vec<Entry> = diags
        .iter()
        .filter(|d| d.suppressed.is_none())
        .map(|d| entry(d, sources))
        .collect();
    findings.sort();
    let b = Baseline {
        version: 1,
        findings,
    };
    let mut s = serde_json::to_string_pretty(&b).unwrap_or_default();
    s.push('\n');
    s
}

/// Reads a baseline file's text.
pub(crate) fn parse(text: &str) -> Result<Baseline, String> {
    let b: Baseline = serde_json::from_str(text).map_err(|e| {
        format!(
            "line {}, column {}: not a poolwatch baseline (write one with --write-baseline)",
            e.line(),
            e.column()
        )
    })?;
    if b.version != 1 {
        return Err(format!("baseline version {} is not 1", b.version));
    }
    Ok(b)
}

/// Marks the findings the baseline records as suppressed ("in the baseline"). Returns
/// how many it marked.
pub(crate) fn apply(baseline: &Baseline, diags: &mut [Diagnostic], sources: &Sources) -> usize {
    let mut left: BTreeMap<&Entry, usize> = BTreeMap::new();
    for e in &baseline.findings {
        *left.entry(e).or_default() += 1;
    }
    let mut marked = 0;
    for d in diags.iter_mut().filter(|d| d.suppressed.is_none()) {
        let e = entry(d, sources);
        if let Some(n) = left.get_mut(&e)
            && *n > 0
        {
            *n -= 1;
            d.suppressed = Some("in the baseline".to_string());
            marked += 1;
        }
    }
    marked
}
