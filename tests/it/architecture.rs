//! The invariants of ARCHITECTURE.md that a reading of the source can prove: PromQL text is
//! built only in `render/promql.rs`, only `src/write/` writes files, only `src/app.rs`
//! reads them, and the modules of `src/check/` depend on each other one way.

use std::path::{Path, PathBuf};

use crate::common;

/// Every `.rs` file under `src/`, as (path relative to the root, text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&common::root().join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(common::root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The code of a file: lines that are not comments, and no `#[cfg(test)]` module (tests
/// may build what they assert on).
fn code(text: &str) -> Vec<(usize, &str)> {
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end]
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .collect()
}

/// String literals of a line (plain `"..."` only, which is how format strings are written).
fn literals(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

fn violations(allowed: &[&str], needles: &[&str], in_literals: bool) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in sources() {
        if allowed.iter().any(|a| path.starts_with(a)) {
            continue;
        }
        for (n, line) in code(&text) {
            let hay: Vec<&str> = if in_literals {
                literals(line)
            } else {
                vec![line]
            };
            if let Some(needle) = needles
                .iter()
                .find(|nd| hay.iter().any(|h| h.contains(**nd)))
            {
                found.push(format!("{path}:{n}: `{needle}` in {}", line.trim()));
            }
        }
    }
    found
}

/// Architecture Invariant: every PromQL expression comes from `render/promql.rs` (checks
/// read PromQL, and name functions in their messages, but build none).
fn promql_is_built_only_in_render_promql() {
    let promql = [
        "rate(",
        "_over_time(",
        "histogram_quantile(",
        " by (",
        "ignoring(",
        "group_left",
        "group_right",
        " unless ",
        " offset ",
        "absent(",
        "label_replace(",
    ];
    let found = violations(&["src/render/promql.rs", "src/check/"], &promql, true);
    assert!(
        found.is_empty(),
        "PromQL built outside src/render/promql.rs:\n{}",
        found.join("\n")
    );
}

/// Architecture Invariant: only `src/write/` writes files and only `src/app.rs` reads them.
fn only_write_writes_and_only_app_reads() {
    let writes = [
        "fs::write",
        "File::create",
        "fs::rename",
        "create_dir",
        "remove_file",
        "remove_dir",
        "OpenOptions",
        "NamedTempFile",
        "persist(",
    ];
    let found = violations(&["src/write/"], &writes, false);
    assert!(
        found.is_empty(),
        "files written outside src/write/:\n{}",
        found.join("\n")
    );
    let reads = ["read_to_string", "fs::read(", "File::open", "read_dir"];
    let found = violations(&["src/app.rs", "src/write/"], &reads, false);
    assert!(
        found.is_empty(),
        "files read outside src/app.rs:\n{}",
        found.join("\n")
    );
}

/// The sibling modules a file of `src/check/` uses: named in a `use super::{...}`
/// statement, or in a `super::name` / `check::name` path.
fn check_module_deps(code: &str, siblings: &[String]) -> Vec<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let names_path = |prefix: &str, name: &str| {
        let needle = format!("{prefix}::{name}");
        code.match_indices(&needle).any(|(i, _)| {
            let before = code[..i].chars().next_back();
            let after = code[i + needle.len()..].chars().next();
            !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
        })
    };
    // Every identifier inside a grouped `use super::{...};`.
    let mut grouped = Vec::new();
    for (i, _) in code.match_indices("use super::{") {
        let rest = &code[i..];
        let stmt = &rest[..rest.find(';').unwrap_or(rest.len())];
        grouped.extend(stmt.split(|c: char| !is_ident(c)).filter(|w| !w.is_empty()));
    }
    siblings
        .iter()
        .filter(|s| {
            names_path("super", s) || names_path("check", s) || grouped.contains(&s.as_str())
        })
        .cloned()
        .collect()
}

/// Architecture Invariant: the modules of `src/check/` depend on each other one way: the
/// checks on the rule model (`lint.rs`), the typing, the scanners and the dashboard
/// document; the registry on the checks; the rule-file reader and the runner on the
/// registry. A loop would make each side unreadable alone.
fn check_modules_depend_one_way() {
    let files: Vec<(String, String)> = sources()
        .into_iter()
        .filter_map(|(path, text)| {
            let name = path.strip_prefix("src/check/")?.strip_suffix(".rs")?;
            (name != "mod" && !name.contains('/')).then(|| (name.to_string(), text))
        })
        .collect();
    let siblings: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    assert!(
        siblings.len() > 20,
        "only {} check modules found",
        siblings.len()
    );
    let mut deps = std::collections::BTreeMap::new();
    for (name, text) in &files {
        let code: String = code(text)
            .into_iter()
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        assert!(
            !code.contains("use super::*"),
            "src/check/{name}.rs: `use super::*` hides what it depends on; name the modules"
        );
        let mut d = check_module_deps(&code, &siblings);
        d.retain(|s| s != name);
        deps.insert(name.clone(), d);
    }
    assert!(
        deps.values().map(Vec::len).sum::<usize>() > siblings.len(),
        "the dependency scan found almost nothing: {deps:?}"
    );
    // A depth-first walk; a module met again on the current path closes a loop.
    fn walk(
        m: &str,
        deps: &std::collections::BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
        loops: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            loops.push(cycle.join(" -> "));
            return;
        }
        if !done.insert(m.to_string()) {
            return;
        }
        path.push(m.to_string());
        for d in &deps[m] {
            walk(d, deps, path, done, loops);
        }
        path.pop();
    }
    let mut loops = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    for m in deps.keys() {
        walk(m, &deps, &mut Vec::new(), &mut done, &mut loops);
    }
    assert!(
        loops.is_empty(),
        "modules of src/check/ that depend on each other:\n{}",
        loops.join("\n")
    );
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        promql_is_built_only_in_render_promql,
        only_write_writes_and_only_app_reads,
        check_modules_depend_one_way,
    ]
}
