//! PW210 invalid-suppression: a suppression must name a check code and give a reason.
//!
//! Why: a silenced finding is a decision someone made; without the reason nobody can tell
//! later whether it still holds. A suppression that names no known code silences nothing
//! and is reported so the typo is found.
//!
//! How to silence one check for one rule: in a rule file, a comment on the line(s) right
//! above the rule, `# poolwatch: ignore PW205 the description is for a Slack bot that
//! expects the raw ratio`; in a spec, `lint: {ignore: [{rule: <alert or record name>,
//! code: PW205, reason: ...}]}`. Silenced findings are not printed one by one, but the
//! summary counts them ("1 suppressed") and `--format json` lists them with their reason.
//!
//! Example: `# poolwatch: ignore PW205` (no reason).

use crate::diag::{Code, Severity};

pub(crate) const CODE: Code = Code {
    code: "PW210",
    name: "invalid-suppression",
};
pub(crate) const SEVERITY: Severity = Severity::Warning;

/// The comment marker of a suppression in rule files.
pub(crate) const MARKER: &str = "poolwatch: ignore";

/// `PW205 reason text` → (code, reason); `is_check` says whether a code names a check (the
/// registry knows, and the registry lists this check).
pub(crate) fn parse_directive(
    rest: &str,
    is_check: impl Fn(&str) -> bool,
) -> Result<(String, String), String> {
    let rest = rest.trim();
    let (code, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let code = code.trim_end_matches(':');
    if !is_check(code) {
        return Err(format!(
            "`{code}` is not a check code; the suppression is ignored"
        ));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(format!(
            "suppression of {code} gives no reason; it is ignored"
        ));
    }
    Ok((code.to_string(), reason.to_string()))
}
