//! CI's report formats of `check --rules/--dashboards`: SARIF 2.1.0 and checkstyle XML
//! hold every finding at its place, and `--fail-on` decides the exit code in every format.
//!
//! SARIF is checked against the properties the SARIF 2.1.0 specification (OASIS, errata 01)
//! requires of a log, a run, a tool, a result and a region, always; and against the
//! official JSON schema (oasis-tcs/sarif-spec, `sarif-2.1/schema/sarif-schema-2.1.0.json`)
//! when `POOLWATCH_SARIF_SCHEMA` names a copy of it (not kept in this repository).

use std::path::PathBuf;

use clap::Parser;
use poolwatch::app::{self, Report};
use poolwatch::cli::Cli;
use serde_json::Value;

use crate::harness::Need;

fn run(args: &[&str]) -> Report {
    let mut argv = vec!["poolwatch"];
    argv.extend_from_slice(args);
    app::run(Cli::try_parse_from(argv).expect("arguments parse"))
}

/// Two rule files: one with errors (PW110), one with only warnings (PW111).
const RULES: &str = "tests/lint/PW110-contradictory-matchers/bad.yml";
const MORE: &str = "tests/lint/PW111-matching-never-matches/bad.yml";

fn with(format: &str, fail_on: &str) -> Report {
    run(&[
        "check",
        "--rules",
        RULES,
        "--rules",
        MORE,
        "--format",
        format,
        "--fail-on",
        fail_on,
    ])
}

/// The JSON report's findings as (code, level word, line), the reference the other
/// formats must agree with.
fn reference() -> Vec<(String, String, u64)> {
    let v: Value = serde_json::from_str(&with("json", "never").stdout).unwrap();
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["suppressed"].is_null())
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["severity"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn sarif_holds_what_the_specification_requires() {
    let report = with("sarif", "never");
    assert_eq!(report.code, 0, "--fail-on never: {}", report.stderr);
    let log: Value = serde_json::from_str(&report.stdout).expect("SARIF is JSON");
    // sarifLog: version "2.1.0" and runs are required (§3.13).
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    // run: tool is required (§3.14); tool: driver (§3.18); toolComponent: name (§3.19).
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "poolwatch");
    let rules = driver["rules"].as_array().expect("rules");
    // reportingDescriptor: `helpUri` is a "uri" (§3.49.12, absolute); the help text names
    // the command and the docs section instead.
    for rule in rules {
        assert!(rule.get("helpUri").is_none(), "a relative helpUri: {rule}");
        let help = rule["help"]["text"].as_str().expect("help.text");
        assert!(help.contains("--explain"), "{rule}");
    }
    let results = runs[0]["results"].as_array().expect("results");
    let mut seen = Vec::new();
    for r in results {
        // result: message (text) is required (§3.27.11); level from the enum (§3.27.10).
        assert!(
            r["message"]["text"].as_str().is_some_and(|t| !t.is_empty()),
            "{r}"
        );
        let level = r["level"].as_str().unwrap();
        assert!(["none", "note", "warning", "error"].contains(&level), "{r}");
        // ruleIndex points at the rule whose id is ruleId (§3.27.6).
        let id = r["ruleId"].as_str().unwrap();
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], id, "{r}");
        // region: 1-based lines and columns, the end not before the start (§3.30).
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            uri.starts_with("tests/lint/") && !uri.contains(' '),
            "{uri}"
        );
        let region = &loc["region"];
        let line = region["startLine"].as_u64().unwrap();
        assert!(line >= 1 && region["startColumn"].as_u64().unwrap() >= 1);
        assert!(region["endLine"].as_u64().unwrap() >= line);
        if r["suppressions"].is_null() {
            let word = match level {
                "note" => "info",
                w => w,
            };
            seen.push((id.to_string(), word.to_string(), line));
        }
    }
    assert_eq!(seen, reference(), "SARIF and JSON disagree");
}

fn checkstyle_holds_every_finding_at_its_line() {
    let report = with("checkstyle", "never");
    let xml = &report.stdout;
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle"),
        "{xml}"
    );
    assert!(xml.trim_end().ends_with("</checkstyle>"), "{xml}");
    let attr = |line: &str, name: &str| -> String {
        let start = line.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let end = start + line[start..].find('"').unwrap();
        line[start..end].to_string()
    };
    let seen: Vec<(String, String, u64)> = xml
        .lines()
        .filter(|l| l.trim_start().starts_with("<error"))
        .map(|l| {
            // Quotes inside a message are escaped: the attribute ends at its own quote.
            assert!(!attr(l, "message").contains('<'), "{l}");
            (
                attr(l, "source")
                    .trim_start_matches("poolwatch.")
                    .to_string(),
                attr(l, "severity"),
                attr(l, "line").parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, reference(), "checkstyle and JSON disagree");
    assert!(xml.contains("&quot;node&quot;"), "quotes escaped: {xml}");
}

/// `--fail-on` decides the exit code whatever the format.
fn fail_on_applies_to_every_format() {
    for format in ["human", "json", "github", "sarif", "checkstyle"] {
        assert_eq!(with(format, "error").code, 1, "{format}: an error fails");
        assert_eq!(with(format, "never").code, 0, "{format}: never fails");
        let warnings_only = run(&[
            "check",
            "--rules",
            MORE,
            "--format",
            format,
            "--fail-on",
            "warning",
        ]);
        assert_eq!(
            warnings_only.code, 1,
            "{format}: a warning fails --fail-on warning"
        );
        let errors_only = run(&["check", "--rules", MORE, "--format", format]);
        assert_eq!(
            errors_only.code, 0,
            "{format}: warnings pass --fail-on error"
        );
    }
}

fn sarif_validates_against_the_official_schema() {
    let path = PathBuf::from(std::env::var_os("POOLWATCH_SARIF_SCHEMA").unwrap());
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::draft4::new(&schema).expect("the SARIF schema compiles");
    let log: Value = serde_json::from_str(&with("sarif", "never").stdout).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        sarif_holds_what_the_specification_requires,
        checkstyle_holds_every_finding_at_its_line,
        fail_on_applies_to_every_format,
        [Need::OptIn("POOLWATCH_SARIF_SCHEMA")] sarif_validates_against_the_official_schema,
    ]
}
