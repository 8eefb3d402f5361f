//! The report formats CI systems read besides GitHub's workflow commands: SARIF 2.1.0
//! (GitHub code scanning and most code-review tools show each result on its line) and
//! checkstyle XML (Jenkins, GitLab and reviewdog read it). Suppressed findings are kept in
//! SARIF as results with a suppression, and left out of checkstyle, which has no such notion.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::check::registry::CHECKS;
use crate::diag::{Diagnostic, Severity, place};
use crate::source::Sources;

/// The SARIF `level` of a severity (`note` is SARIF's word for information).
fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A SARIF 2.1.0 log with one run: the tool with every check as a rule, and one result per
/// finding (its message, help and object in the text; its place as a region).
pub(crate) fn render_sarif(diags: &[Diagnostic], sources: &Sources) -> String {
    let rules: Vec<serde_json::Value> = CHECKS
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.code.code,
                "name": c.code.name,
                "shortDescription": {"text": c.summary()},
                "fullDescription": {"text": c.doc()},
                "defaultConfiguration": {"level": sarif_level(c.severity)},
            })
        })
        .collect();
    let index: BTreeMap<&str, usize> = CHECKS
        .iter()
        .enumerate()
        .map(|(i, c)| (c.code.code, i))
        .collect();
    let results: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(o) = &d.object {
                let _ = write!(text, " (in {o})");
            }
            for h in &d.help {
                let _ = write!(text, "\nhelp: {h}");
            }
            let mut r = serde_json::json!({
                "ruleId": d.code.code,
                "level": sarif_level(d.severity),
                "message": {"text": text},
            });
            if let Some(&i) = index.get(d.code.code) {
                r["ruleIndex"] = i.into();
            }
            if let Some((file, (l, c), (el, ec))) = d.span.as_ref().and_then(|s| place(s, sources))
            {
                r["locations"] = serde_json::json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(file)},
                        "region": {
                            "startLine": l,
                            "startColumn": c,
                            "endLine": el,
                            "endColumn": ec.max(if el == l { c + 1 } else { 1 }),
                        }
                    }
                }]);
            }
            if let Some(reason) = &d.suppressed {
                r["suppressions"] =
                    serde_json::json!([{"kind": "inSource", "justification": reason}]);
            }
            r
        })
        .collect();
    let log = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "poolwatch",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&log).expect("a JSON value always prints");
    s.push('\n');
    s
}

/// A file path as a URI reference: `/` separators, and the characters a URI may not hold
/// as they are percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// XML text with the five special characters escaped (and control characters, which XML
/// 1.0 cannot hold, dropped).
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// Checkstyle XML: one `<file>` per file with its `<error>`s (line, column, severity,
/// message, source `poolwatch.PW205`); findings without a place go under `<file name="">`.
pub(crate) fn render_checkstyle(diags: &[Diagnostic], sources: &Sources) -> String {
    let mut files: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for d in diags.iter().filter(|d| d.suppressed.is_none()) {
        let p = d.span.as_ref().and_then(|s| place(s, sources));
        let (file, at) = match p {
            Some((f, (l, c), _)) => (f, format!(" line=\"{l}\" column=\"{c}\"")),
            None => ("", String::new()),
        };
        let mut msg = d.message.clone();
        if let Some(o) = &d.object {
            let _ = write!(msg, " (in {o})");
        }
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        files.entry(file).or_default().push(format!(
            "    <error{at} severity=\"{severity}\" message=\"{}\" source=\"poolwatch.{}\"/>\n",
            xml(&msg),
            d.code.code
        ));
    }
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle version=\"8.0\">\n");
    for (file, errors) in files {
        let _ = writeln!(out, "  <file name=\"{}\">", xml(file));
        for e in errors {
            out.push_str(&e);
        }
        out.push_str("  </file>\n");
    }
    out.push_str("</checkstyle>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_become_uri_references_and_text_becomes_xml() {
        assert_eq!(super::uri("rules/a b%.yml"), "rules/a%20b%25.yml");
        assert_eq!(
            super::xml("a < \"b\" & 'c'\u{1}"),
            "a &lt; &quot;b&quot; &amp; &apos;c&apos;"
        );
    }
}
