//! Checks of everything poolwatch would write: every PromQL expression is parsed before a
//! file is written. Each check returns diagnostics; none stops at its first finding.

pub mod promql_syntax;

use crate::diag::Diagnostic;
use crate::render::Artifacts;

/// Runs every check on the rendered artifacts.
pub fn check_artifacts(artifacts: &Artifacts) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    diags.extend(promql_syntax::check_rules(&artifacts.rules));
    diags.extend(promql_syntax::check_dashboard(&artifacts.dashboard));
    diags
}
