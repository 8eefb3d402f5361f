//! A summary as text: for a terminal (one line per change), Markdown for a pull request
//! comment or `$GITHUB_STEP_SUMMARY`, and JSON for tools.

use super::summary::{Change, Summary, VariantChanges};
use crate::diag::Format;

/// The summary in `format`; GitHub's annotations format prints the human text (the
/// annotations themselves name the stale files).
pub(crate) fn render(summary: &Summary, format: Format) -> String {
    match format {
        // The finding formats (SARIF, checkstyle) have no place for a summary in words.
        Format::Human | Format::Github | Format::Sarif | Format::Checkstyle => human(summary),
        Format::Markdown => markdown(summary),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(summary).unwrap_or_default();
            text.push('\n');
            text
        }
    }
}

fn status_words(v: &VariantChanges) -> Option<&'static str> {
    use super::summary::Status;
    match (v.status, v.environment.is_some()) {
        (Status::Added, true) => Some("new environment"),
        (Status::Added, false) => Some("new spec"),
        (Status::Removed, true) => Some("environment removed"),
        (Status::Removed, false) => Some("spec removed"),
        (Status::Changed, _) => None,
    }
}

/// "ConnectionPoolHighUtilization, k2 production-heavy: fires above 85% instead of 90%".
fn line(c: &Change, variant: &str) -> String {
    use super::summary::Subject;
    match (c.subject, c.name.as_str()) {
        (_, "") => format!("{variant}: {}", c.sentence),
        (Subject::Alert, n) => format!("{n}, {variant}: {}", c.sentence),
        (s, n) => format!("{} {n}, {variant}: {}", s.words(), c.sentence),
    }
}

fn human(s: &Summary) -> String {
    let mut out = String::new();
    for n in &s.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    if s.is_empty() {
        out.push_str(&format!("No change for on-call since {}.\n", s.base));
        return out;
    }
    out.push_str(&format!("What changes since {}:\n", s.base));
    for v in &s.variants {
        let title = v.title();
        if let Some(w) = status_words(v) {
            out.push_str(&format!("{title}: {w}\n"));
        }
        for c in &v.changes {
            out.push_str(&format!("  {}\n", line(c, &title)));
            if let (Some(b), Some(a)) = (&c.before, &c.after) {
                out.push_str(&format!("      was: {}\n", one_line(b)));
                out.push_str(&format!("      now: {}\n", one_line(a)));
            }
        }
    }
    out
}

/// An expression on one line, for a sentence.
fn one_line(expr: &str) -> String {
    expr.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn markdown(s: &Summary) -> String {
    use super::summary::Subject;
    let mut out = format!("## What this change does (since `{}`)\n\n", s.base);
    for n in &s.notes {
        out.push_str(&format!("> {n}\n\n"));
    }
    if s.is_empty() {
        out.push_str("No change for on-call.\n");
        return out;
    }
    for v in &s.variants {
        let title = v.title();
        match status_words(v) {
            Some(w) => out.push_str(&format!("### {title} ({w})\n\n")),
            None => out.push_str(&format!("### {title}\n\n")),
        }
        for c in &v.changes {
            let name = match (c.subject, c.name.as_str()) {
                (_, "") => String::new(),
                (Subject::Alert, n) => format!("`{n}`: "),
                (s, n) => format!("{} `{n}`: ", s.words()),
            };
            out.push_str(&format!("- {name}{}\n", escape(&c.sentence)));
            if let (Some(b), Some(a)) = (&c.before, &c.after) {
                out.push_str(&format!(
                    "  - was: `{}`\n  - now: `{}`\n",
                    one_line(b).replace('`', "'"),
                    one_line(a).replace('`', "'")
                ));
            }
        }
        out.push('\n');
    }
    out
}

/// Text safe in a Markdown list item: characters Markdown would read as markup escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What `emit --check` prints on standard output when files are stale, in `format`: the
/// summary of the change (or why there is none) and each stale file's diff; GitHub's
/// format adds an annotation per stale file, JSON puts both in one document.
pub(crate) fn stale_report(
    format: Format,
    dir: &str,
    stale: &[(String, String)],
    summary: Result<&Summary, &str>,
    fix: &str,
) -> String {
    let diffs: String = stale.iter().map(|(_, d)| d.as_str()).collect();
    let words = |s: Result<&Summary, &str>, f: Format| match s {
        Ok(s) => render(s, f),
        Err(why) => why.to_string(),
    };
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "stale": stale.iter().map(|(p, d)| serde_json::json!({
                    "path": format!("{dir}/{p}"),
                    "diff": d,
                })).collect::<Vec<_>>(),
                "fix": fix,
                "summary": summary.ok(),
                "no_summary": summary.err(),
            });
            let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Markdown => format!(
            "{}\n**Stale generated files**: run `{fix}` and commit the result.\n\n\
             <details><summary>{} stale file(s)</summary>\n\n```diff\n{diffs}```\n\n</details>\n",
            words(summary, format),
            stale.len()
        ),
        Format::Github => {
            let mut out = String::new();
            for (p, _) in stale {
                let file = format!("{dir}/{p}");
                out.push_str(&format!(
                    "::error file={},title={}::{}\n",
                    crate::diag::gh_escape(&file, true),
                    crate::diag::gh_escape("stale generated file", true),
                    crate::diag::gh_escape(
                        &format!("{file} is not what the spec generates; run `{fix}` and commit the result"),
                        false
                    )
                ));
            }
            out.push_str(&words(summary, format));
            out.push_str(&diffs);
            out
        }
        Format::Human | Format::Sarif | Format::Checkstyle => {
            format!("{}{diffs}", words(summary, Format::Human))
        }
    }
}
