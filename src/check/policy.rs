//! The lint policy of `check --rules/--dashboards`: the level a user gives a check
//! (`--level CODE=LEVEL`), the adoption baseline, the lowest level that fails the run
//! (`--fail-on`), and the one-line summary. The app reads the files and prints; what the
//! findings mean for the run is decided here.

use super::baseline::{self, Baseline};
use super::registry;
use crate::diag::{self, Diagnostic, Severity};
use crate::source::Sources;

/// The lowest level that fails `check --rules/--dashboards`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

/// A `--level` setting that names no check or no level, with a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadLevel {
    pub(crate) message: String,
    pub(crate) help: Option<&'static str>,
}

/// The user's settings over the checks' defaults.
#[derive(Debug, Default)]
pub(crate) struct LintPolicy {
    /// Code → level (`None`: off), in the order given (the last setting of a code wins).
    levels: Vec<(&'static str, Option<Severity>)>,
    baseline: Option<Baseline>,
}

impl LintPolicy {
    /// Reads `--level CODE=LEVEL` settings (a code or a check's name).
    pub(crate) fn new(levels: &[String]) -> Result<Self, BadLevel> {
        let mut out = Vec::new();
        for l in levels {
            let bad = || BadLevel {
                message: format!(
                    "--level {l}: expected CODE=LEVEL, e.g. PW207=off (levels: error, warning, info, off)"
                ),
                help: None,
            };
            let (code, level) = l.split_once('=').ok_or_else(bad)?;
            let c = registry::find(code.trim()).ok_or_else(|| BadLevel {
                message: format!("--level {l}: no check is called `{code}`"),
                help: Some("`poolwatch check --list` lists them"),
            })?;
            let level = match level.trim() {
                "error" => Some(Severity::Error),
                "warning" => Some(Severity::Warning),
                "info" => Some(Severity::Info),
                "off" => None,
                _ => return Err(bad()),
            };
            out.push((c.code.code, level));
        }
        Ok(LintPolicy {
            levels: out,
            baseline: None,
        })
    }

    /// Findings recorded in `baseline` are counted, not reported.
    pub(crate) fn with_baseline(self, baseline: Baseline) -> Self {
        LintPolicy {
            baseline: Some(baseline),
            ..self
        }
    }

    /// The findings at the levels set (those turned off dropped), sorted.
    pub(crate) fn leveled(&self, diags: &mut Vec<Diagnostic>) {
        diags.retain_mut(
            |d| match self.levels.iter().rev().find(|(c, _)| *c == d.code.code) {
                Some((_, None)) => false,
                Some((_, Some(level))) => {
                    d.severity = *level;
                    true
                }
                None => true,
            },
        );
        diag::sort(diags);
    }

    /// Marks the findings the baseline holds; returns how many.
    pub(crate) fn baselined(&self, diags: &mut [Diagnostic], sources: &Sources) -> usize {
        self.baseline
            .as_ref()
            .map_or(0, |b| baseline::apply(b, diags, sources))
    }
}

/// Whether a finding not suppressed (nor baselined) is at or above `fail_on`.
pub(crate) fn fails(fail_on: FailOn, diags: &[Diagnostic]) -> bool {
    fail_on.threshold().is_some_and(|t| {
        diags
            .iter()
            .any(|d| d.suppressed.is_none() && d.severity >= t)
    })
}

/// What a lint run read and set aside, for its summary line.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Rule files and rules read, when `--rules` was given.
    pub(crate) rules: Option<(usize, usize)>,
    /// Dashboards read, when `--dashboards` was given.
    pub(crate) dashboards: Option<usize>,
    pub(crate) baselined: usize,
    /// Dashboard queries that are not Prometheus's.
    pub(crate) skipped_queries: usize,
    /// Files in the folders searched that hold no rule groups or panels.
    pub(crate) skipped_files: usize,
    /// Where `--write-baseline` wrote.
    pub(crate) baseline_written: Option<String>,
}

/// The last line of a human report: what was checked, against what, what was found.
pub(crate) fn summary(counts: &Counts, against: &str, diags: &[Diagnostic]) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut checked = Vec::new();
    if let Some((files, rules)) = counts.rules {
        checked.push(format!(
            "{} ({})",
            plural(files, "rule file"),
            plural(rules, "rule")
        ));
    }
    if let Some(n) = counts.dashboards {
        checked.push(plural(n, "dashboard"));
    }
    let mut notes = Vec::new();
    if counts.baselined > 0 {
        notes.push(format!("{} of them in the baseline", counts.baselined));
    }
    if counts.skipped_queries > 0 {
        let n = counts.skipped_queries;
        let what = if n == 1 { "query" } else { "queries" };
        notes.push(format!("{n} dashboard {what} skipped (not Prometheus)"));
    }
    if counts.skipped_files > 0 {
        notes.push(format!(
            "{} in the folders skipped (no rule groups or panels)",
            plural(counts.skipped_files, "file")
        ));
    }
    if let Some(p) = &counts.baseline_written {
        notes.push(format!("baseline written to {p}"));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("; {}", notes.join("; "))
    };
    format!(
        "poolwatch: {} checked against {against}: {}{notes}\n",
        checked.join(" and "),
        diag::summary(diags),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;

    const CODE: Code = Code {
        code: "PW207",
        name: "x",
    };

    #[test]
    fn levels_override_defaults_and_the_last_setting_wins() {
        let p = LintPolicy::new(&["PW207=off".into(), "PW207=info".into()]).unwrap();
        let mut d = vec![Diagnostic::error(CODE, "m")];
        p.leveled(&mut d);
        assert_eq!(d[0].severity, Severity::Info);
        assert!(!fails(FailOn::Warning, &d));
        assert!(fails(FailOn::Info, &d));
        assert!(!fails(FailOn::Never, &d));
        let off = LintPolicy::new(&["PW207=off".into()]).unwrap();
        off.leveled(&mut d);
        assert!(d.is_empty());
        assert!(LintPolicy::new(&["PW207".into()]).is_err());
        assert!(
            LintPolicy::new(&["PW999=off".into()])
                .unwrap_err()
                .help
                .is_some()
        );
    }

    #[test]
    fn the_summary_counts_in_words() {
        let counts = Counts {
            rules: Some((1, 2)),
            dashboards: Some(1),
            skipped_queries: 1,
            ..Counts::default()
        };
        let line = summary(&counts, "no catalog", &[]);
        assert!(
            line.starts_with(
                "poolwatch: 1 rule file (2 rules) and 1 dashboard checked against no catalog: "
            ),
            "{line}"
        );
        assert!(
            line.ends_with("; 1 dashboard query skipped (not Prometheus)\n"),
            "{line}"
        );
    }
}
