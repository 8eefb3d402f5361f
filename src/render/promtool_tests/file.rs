//! The promtool unit-test file, as `promtool test rules` reads it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// A promtool unit-test file, as `promtool test rules` reads it.
#[derive(Debug, Clone, Serialize)]
pub struct TestFile {
    pub(crate) rule_files: Vec<String>,
    pub(crate) evaluation_interval: String,
    pub tests: Vec<TestGroup>,
    /// Comment lines for the file's header: what these tests leave to other proofs.
    #[serde(skip)]
    pub(crate) notes: Vec<String>,
}

impl TestFile {
    /// `text` (the serialized file) with [`Self::notes`] as comments after its header.
    pub(crate) fn noted(&self, text: String) -> String {
        if self.notes.is_empty() {
            return text;
        }
        // The header is the leading comment lines.
        let mut body = 0;
        for line in text.split_inclusive('\n') {
            if !line.starts_with('#') {
                break;
            }
            body += line.len();
        }
        let mut out = String::with_capacity(text.len() + 80 * self.notes.len());
        out.push_str(&text[..body]);
        for n in &self.notes {
            out.push_str("# ");
            out.push_str(n);
            out.push('\n');
        }
        out.push_str(&text[body..]);
        out
    }

    /// The same tests loading other rule files (the plain groups a deploy target wraps),
    /// borrowed rather than copied.
    pub(crate) fn loading(&self, rule_files: Vec<String>) -> impl Serialize + '_ {
        #[derive(Serialize)]
        struct Loading<'a> {
            rule_files: Vec<String>,
            evaluation_interval: &'a str,
            tests: &'a [TestGroup],
        }
        Loading {
            rule_files,
            evaluation_interval: &self.evaluation_interval,
            tests: &self.tests,
        }
    }
}

/// One test: input series, and what the rules must produce from them.
#[derive(Debug, Clone, Serialize)]
pub struct TestGroup {
    pub name: String,
    pub(crate) interval: String,
    pub(crate) input_series: Vec<InputSeries>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alert_rule_test: Vec<AlertRuleTest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) promql_expr_test: Vec<PromqlExprTest>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct InputSeries {
    pub(crate) series: String,
    pub(crate) values: String,
}

/// The alerts named `alertname` that must be firing at `eval_time` (none: an empty list).
#[derive(Debug, Clone, Serialize)]
pub struct AlertRuleTest {
    pub(crate) eval_time: String,
    pub alertname: String,
    pub exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpAlert {
    pub exp_labels: BTreeMap<String, String>,
    pub(crate) exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PromqlExprTest {
    pub(crate) expr: String,
    pub(crate) eval_time: String,
    pub(crate) exp_samples: Vec<ExpSample>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ExpSample {
    pub(crate) labels: String,
    pub(crate) value: f64,
}

/// How many alerts have both a firing and a silent case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    pub alerts: usize,
    pub firing_and_silent: usize,
    /// Alerts on native histograms, which promtool 2.42 cannot feed: proven end to end.
    pub native: usize,
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "alerts with a firing and a silent case: {}/{}",
            self.firing_and_silent, self.alerts
        )?;
        if self.native > 0 {
            write!(
                f,
                ", {} more on native histograms, proven end to end (not by promtool 2.42)",
                self.native
            )?;
        }
        Ok(())
    }
}
