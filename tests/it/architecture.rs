//! The invariants of ARCHITECTURE.md that a reading of the source can prove: PromQL text is
//! built only in `render/promql.rs`, only `src/write/` writes files, only `src/app.rs`
//! reads them, source files depend on each other one way, parallel loops are one level,
//! and the lint policy lives in `src/check/`.

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

/// Architecture Invariant: every PromQL expression comes from `render/promql.rs` or, for a
/// signal's own expression, its file in `src/signals/` (checks read PromQL, and name
/// functions in their messages, but build none).
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
        "vector(",
        "100 * (",
    ];
    let found = violations(
        &["src/render/promql.rs", "src/signals/", "src/check/"],
        &promql,
        true,
    );
    assert!(
        found.is_empty(),
        "PromQL built outside src/render/promql.rs:\n{}",
        found.join("\n")
    );
}

/// Architecture Invariant: only `src/write/` writes files and only `src/app.rs` (with its
/// submodules in `src/app/`) reads them.
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
    let found = violations(&["src/app.rs", "src/app/", "src/write/"], &reads, false);
    assert!(
        found.is_empty(),
        "files read outside src/app.rs and src/app/:\n{}",
        found.join("\n")
    );
}

/// The module path of a source file: `src/render/promql.rs` is `[render, promql]`,
/// `src/render/mod.rs` is `[render]`, `src/lib.rs` is `[]`.
fn module_path(file: &str) -> Vec<String> {
    let stem = file
        .strip_prefix("src/")
        .unwrap()
        .strip_suffix(".rs")
        .unwrap();
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// Every path a file's code names through `crate::`, `super::` or `self::`, as absolute
/// module paths (the last segments may be items, not modules). `use` trees with braces are
/// expanded, nested ones too.
fn named_paths(code: &str, me: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    // `super` of `a/b.rs` ([a, b]) is [a]; of `a/mod.rs` ([a]) it is [] as well.
    let base = |head: &str| -> Option<Vec<String>> {
        match head {
            "crate" => Some(Vec::new()),
            "self" => Some(me.to_vec()),
            "super" if is_mod_file || !me.is_empty() => {
                Some(me[..me.len().saturating_sub(1)].to_vec())
            }
            _ => None,
        }
    };
    // Expands `prefix::{a, b::{c, d}}` into every full path.
    fn expand(tree: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let mut path = prefix;
            path.extend(
                tree[..open]
                    .split("::")
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let (mut depth, mut from) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&inner[from..i], path.clone(), out);
                        from = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&inner[from..], path, out);
        } else {
            let item = tree.split(" as ").next().unwrap_or(tree).trim();
            let mut path = prefix;
            path.extend(
                item.split("::")
                    .filter(|s| !s.is_empty() && *s != "self")
                    .map(str::to_string),
            );
            out.push(path);
        }
    }
    let mut out = Vec::new();
    for head in ["crate", "super", "self"] {
        let needle = format!("{head}::");
        for (i, _) in code.match_indices(&needle) {
            if code[..i].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            let Some(prefix) = base(head) else { continue };
            let rest = &code[i + needle.len()..];
            if code[..i].trim_end().ends_with("use") && rest.contains('{') {
                let stmt = &rest[..rest.find(';').unwrap_or(rest.len())];
                if stmt.contains('{') {
                    expand(stmt, prefix, &mut out);
                    continue;
                }
            }
            let chain: String = rest
                .chars()
                .take_while(|c| is_ident(*c) || *c == ':')
                .collect();
            let mut path = prefix;
            path.extend(
                chain
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            out.push(path);
        }
    }
    out
}

/// Architecture Invariant: source files depend on each other one way. A file that uses
/// another (through a `crate::`, `super::` or `self::` path) is never used back, directly or
/// through others; a parent module declaring and re-exporting its children is not a use.
/// A loop makes neither side readable alone, and is where a layer starts to leak.
fn files_depend_one_way() {
    let files: Vec<(String, String)> = sources()
        .into_iter()
        .filter(|(p, _)| p != "src/main.rs")
        .collect();
    let by_module: std::collections::BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|(p, _)| (module_path(p), p.clone()))
        .collect();
    let mut deps: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        std::collections::BTreeMap::new();
    for (file, text) in &files {
        let me = module_path(file);
        let is_mod_file = file.ends_with("/mod.rs") || file == "src/lib.rs";
        let code: String = code(text)
            .into_iter()
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        assert!(
            !code.contains("use super::*"),
            "{file}: `use super::*` hides what it depends on; name the items"
        );
        let mut used = std::collections::BTreeSet::new();
        for path in named_paths(&code, &me, is_mod_file) {
            // The longest prefix that is a module's file.
            let target = (0..=path.len())
                .rev()
                .find_map(|n| by_module.get(&path[..n]))
                .unwrap();
            let target_module = module_path(target);
            let own_descendant =
                is_mod_file && target_module.len() > me.len() && target_module.starts_with(&me);
            if target != file && !own_descendant {
                used.insert(target.clone());
            }
        }
        deps.insert(file.clone(), used);
    }
    let edges: usize = deps.values().map(|d| d.len()).sum();
    assert!(
        edges > 2 * files.len(),
        "the dependency scan found almost nothing ({edges} uses in {} files)",
        files.len()
    );
    // A depth-first walk; a file met again on the current path closes a loop.
    fn walk(
        f: &str,
        deps: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
        loops: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|p| p == f) {
            let mut cycle = path[at..].to_vec();
            cycle.push(f.to_string());
            loops.push(cycle.join(" -> "));
            return;
        }
        if !done.insert(f.to_string()) {
            return;
        }
        path.push(f.to_string());
        for d in &deps[f] {
            walk(d, deps, path, done, loops);
        }
        path.pop();
    }
    let mut loops = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    for f in deps.keys() {
        walk(f, &deps, &mut Vec::new(), &mut done, &mut loops);
    }
    assert!(
        loops.is_empty(),
        "source files that depend on each other:\n{}",
        loops.join("\n")
    );
}

/// What `src/signals/` defines: each signal's key and alert name, read from its file.
fn signal_names() -> Vec<(String, String)> {
    let field = |text: &str, name: &str| -> Option<String> {
        let prefix = format!("{name}: \"");
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
            .and_then(|v| v.split('"').next())
            .map(str::to_string)
    };
    sources()
        .into_iter()
        .filter(|(p, _)| p.starts_with("src/signals/") && !p.ends_with("/mod.rs"))
        .filter_map(|(_, text)| Some((field(&text, "key")?, field(&text, "alert")?)))
        .collect()
}

/// Architecture Invariant: no code outside `src/signals/` names a particular signal: no
/// variant of a signal enum, no alert name, no signal key as a string (a key that is also a
/// role's name, such as `max_wait`, names the role there; in `src/check/`, `absent` is
/// PromQL's function). Adding a signal is one file
/// there, its templates and a line in `signals::ALL`.
fn no_signal_is_named_outside_signals() {
    let names = signal_names();
    assert!(
        names.len() >= 10 && names.iter().any(|(k, _)| k == "utilization"),
        "the signals were not found: {names:?}"
    );
    let model = std::fs::read_to_string(common::root().join("src/model/mod.rs")).unwrap();
    let mut needles: Vec<String> = vec!["Signal::".to_string()];
    let mut keys: Vec<String> = Vec::new();
    for (key, alert) in &names {
        needles.push(format!("\"{alert}\""));
        if !model.contains(&format!("\"{key}\"")) {
            keys.push(format!("\"{key}\""));
        }
    }
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut found = violations(&["src/signals/"], &needles, false);
    // The checks read PromQL, whose `absent` function shares a signal's key.
    found.extend(violations(&["src/signals/", "src/check/"], &keys, false));
    // `Signal::new` is how a handle is made; a variant would start with a capital.
    found.retain(|f| {
        !f.contains("`Signal::`") || {
            let line = f.split_once(" in ").map_or("", |(_, l)| l);
            line.match_indices("Signal::")
                .any(|(i, _)| line[i + 8..].starts_with(|c: char| c.is_ascii_uppercase()))
        }
    });
    assert!(
        found.is_empty(),
        "a particular signal named outside src/signals/:\n{}",
        found.join("\n")
    );
}

/// Architecture Invariant: `model` is vocabulary: it imports nothing from the layers above
/// it (render, signals, check, review, the pipeline and the app).
fn model_depends_on_nothing_above_it() {
    let above = [
        "crate::render",
        "crate::signals",
        "crate::check",
        "crate::review",
        "crate::pipeline",
        "crate::fleet",
        "crate::app",
        "crate::write",
    ];
    let mut found = Vec::new();
    let mut files = 0;
    for (path, text) in sources() {
        if !path.starts_with("src/model/") {
            continue;
        }
        files += 1;
        for (n, line) in code(&text) {
            if let Some(a) = above.iter().find(|a| line.contains(**a)) {
                found.push(format!("{path}:{n}: `{a}` in {}", line.trim()));
            }
        }
    }
    assert!(files >= 3, "src/model/ was not found");
    assert!(
        found.is_empty(),
        "src/model/ depends on a layer above it:\n{}",
        found.join("\n")
    );
}

/// Architecture Invariant: the model's types are given their methods and trait impls in
/// `src/model/` only; other layers read them, and keep their own behaviour in their own
/// types (what a signal does is in `signals::Def`, not in an `impl Signal` elsewhere).
fn model_types_are_implemented_only_in_model() {
    let mut types = Vec::new();
    for (path, text) in sources() {
        if !path.starts_with("src/model/") {
            continue;
        }
        for (_, line) in code(&text) {
            let t = line.trim_start();
            let t = t
                .strip_prefix("pub(crate) ")
                .or_else(|| t.strip_prefix("pub "))
                .unwrap_or(t);
            if let Some(rest) = t
                .strip_prefix("struct ")
                .or_else(|| t.strip_prefix("enum "))
            {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                types.push(name);
            }
        }
    }
    assert!(
        types.iter().any(|t| t == "Signal") && types.iter().any(|t| t == "Roles"),
        "the model's types were not found: {types:?}"
    );
    let mut found = Vec::new();
    for (path, text) in sources() {
        if path.starts_with("src/model/") {
            continue;
        }
        for (n, line) in code(&text) {
            let t = line.trim_start();
            if !t.starts_with("impl") {
                continue;
            }
            let header = t.split('{').next().unwrap_or(t);
            let target = header.rsplit(" for ").next().unwrap_or(header);
            let target = target.trim_start_matches("impl").trim();
            let target = if target.starts_with('<') {
                target.split_once("> ").map_or(target, |(_, r)| r)
            } else {
                target
            };
            let name: String = target
                .rsplit("::")
                .next()
                .unwrap_or(target)
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if types.contains(&name) {
                found.push(format!("{path}:{n}: {}", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a model type implemented outside src/model/:\n{}",
        found.join("\n")
    );
}

/// Architecture Invariant: parallel loops are one level each, never nested, and only where
/// ARCHITECTURE.md says: the fleet's specs (`src/fleet.rs`), the linted files and rules
/// (`src/check/run.rs`), the files read for linting (`src/app/lint.rs`). A parallel call
/// inside the statement of another (a `par_iter` in a `rayon::join` or in another
/// `par_iter`'s closure) is reported, as is any rayon call elsewhere.
fn parallel_loops_are_one_level() {
    // `par_iter(` also finds `into_par_iter(`: one name per call.
    const PARALLEL: [&str; 7] = [
        "par_iter(",
        "par_iter_mut(",
        "par_bridge(",
        "par_chunks",
        "par_sort",
        "rayon::join",
        "rayon::scope",
    ];
    const PLACES: [&str; 3] = ["src/fleet.rs", "src/check/run.rs", "src/app/lint.rs"];
    let found = violations(&PLACES, &PARALLEL, false);
    assert!(
        found.is_empty(),
        "parallel loops outside {PLACES:?}:\n{}",
        found.join("\n")
    );
    let mut nested = Vec::new();
    for (path, text) in sources()
        .iter()
        .filter(|(p, _)| PLACES.contains(&p.as_str()))
    {
        let code: String = code(text)
            .iter()
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join("\n");
        let calls: Vec<usize> = PARALLEL
            .iter()
            .flat_map(|n| code.match_indices(n).map(|(i, _)| i))
            .collect();
        for &at in &calls {
            let end = statement_end(&code, at);
            if let Some(inner) = calls.iter().find(|&&c| c > at && c < end) {
                let line = |i: usize| code[..i].lines().count();
                nested.push(format!(
                    "{path}: the parallel call at code line {} runs inside the one at code line {}",
                    line(*inner),
                    line(at)
                ));
            }
        }
    }
    assert!(
        nested.is_empty(),
        "nested parallel loops:\n{}",
        nested.join("\n")
    );
}

/// Where the statement holding offset `at` ends: its `;` at the same bracket depth, or the
/// bracket that closes around it.
fn statement_end(code: &str, at: usize) -> usize {
    let mut depth = 0i32;
    for (i, c) in code[at..].char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth < 0 {
                    return at + i;
                }
            }
            ';' if depth == 0 => return at + i,
            _ => {}
        }
    }
    code.len()
}

/// Architecture Invariant: the lint policy (levels, baseline, `--fail-on`, the summary)
/// lives in `src/check/` (`check/policy.rs`); the app reads files and prints. `cli.rs`
/// names the `--fail-on` type for its flag.
fn lint_policy_lives_in_check() {
    let policy = [
        "FailOn::",
        ".severity = ",
        "baseline::apply",
        "in the baseline",
    ];
    let found = violations(&["src/check/", "src/cli.rs"], &policy, false);
    assert!(
        found.is_empty(),
        "lint policy outside src/check/:\n{}",
        found.join("\n")
    );
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        promql_is_built_only_in_render_promql,
        no_signal_is_named_outside_signals,
        model_depends_on_nothing_above_it,
        model_types_are_implemented_only_in_model,
        only_write_writes_and_only_app_reads,
        files_depend_one_way,
        parallel_loops_are_one_level,
        lint_policy_lives_in_check,
    ]
}
