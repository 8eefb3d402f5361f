//! What the two lint targets share: one file, as a rule file or a dashboard, through
//! `pipeline::lint` (the step `check --rules`/`--dashboards` runs), every diagnostic then
//! rendered in every format.

use poolwatch::diag::{self, Format};
use poolwatch::pipeline;
use poolwatch::source::Sources;

/// Lints `data` (if UTF-8, as the app requires) as one file named `name`.
pub fn lint(name: &str, data: &[u8], dashboard: bool) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = Sources::default();
    let file = sources.add(name, text);
    let (rules, dashboards) = if dashboard {
        (vec![], vec![file])
    } else {
        (vec![file], vec![])
    };
    let (unusable, findings) = pipeline::lint(&sources, &rules, &dashboards);
    for format in [Format::Human, Format::Json, Format::Github] {
        let _ = diag::render(&unusable, &sources, format);
        let _ = diag::render(&findings, &sources, format);
    }
}
