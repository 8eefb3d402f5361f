//! Docs that cannot drift: the spec reference names every field the spec accepts, and
//! every diagnostic code the binary can print is documented and `check --explain`-able.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use crate::common;

/// The YAML names of a struct's fields, or of an enum's values, as serde reads them.
fn serde_names(
    attrs: &[syn::Attribute],
    ident: &syn::Ident,
    rename_all: Option<&str>,
) -> Option<String> {
    let mut name = ident.to_string().trim_end_matches('_').to_string();
    if rename_all == Some("lowercase") {
        name = name.to_lowercase();
    }
    if rename_all == Some("snake_case") {
        name = snake(&name);
    }
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let mut skip = false;
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                name = lit.value();
            } else if meta.path.is_ident("skip") || meta.path.is_ident("flatten") {
                skip = true;
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
        if skip {
            return None;
        }
    }
    Some(name)
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn container_rename_all(attrs: &[syn::Attribute]) -> Option<String> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                found = Some(lit.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    found
}

fn derives_deserialize(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .any(|a| {
            let mut yes = false;
            let _ = a.parse_nested_meta(|meta| {
                yes |= meta
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Deserialize");
                Ok(())
            });
            yes
        })
}

/// Every type of `src/spec/` that serde reads, with the YAML names it accepts.
fn spec_model() -> BTreeMap<String, BTreeSet<String>> {
    let mut model = BTreeMap::new();
    let dir = common::root().join("src/spec");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    for path in files {
        let file = syn::parse_file(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for item in file.items {
            let (attrs, ident, names): (_, _, BTreeSet<String>) = match &item {
                syn::Item::Struct(s) if derives_deserialize(&s.attrs) => {
                    let all = container_rename_all(&s.attrs);
                    let names = s
                        .fields
                        .iter()
                        .filter_map(|f| serde_names(&f.attrs, f.ident.as_ref()?, all.as_deref()))
                        .collect();
                    (&s.attrs, &s.ident, names)
                }
                syn::Item::Enum(e) if derives_deserialize(&e.attrs) => {
                    let all = container_rename_all(&e.attrs);
                    let names = e
                        .variants
                        .iter()
                        .filter_map(|v| serde_names(&v.attrs, &v.ident, all.as_deref()))
                        .collect();
                    (&e.attrs, &e.ident, names)
                }
                _ => continue,
            };
            let _ = attrs;
            if !names.is_empty() {
                model.insert(ident.to_string(), names);
            }
        }
    }
    model
}

/// The reference's sections: `<!-- spec: Type -->` then a table whose first column holds
/// each `name` in backticks.
fn reference(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut sections = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("<!-- spec: ") {
            let name = rest.trim_end_matches("-->").trim().to_string();
            sections.entry(name.clone()).or_insert_with(BTreeSet::new);
            current = Some(name);
        } else if line.trim().starts_with("<!-- ") {
            // Another kind of table (the signals' policies): not a spec type's fields.
            current = None;
        } else if let (Some(cur), Some(row)) = (&current, line.trim().strip_prefix("| `")) {
            let name = row.split('`').next().unwrap_or_default().to_string();
            sections.get_mut(cur).unwrap().insert(name);
        }
    }
    sections
}

fn spec_reference_documents_every_field() {
    let model = spec_model();
    assert!(
        model.contains_key("RawSpec") && model["RawSpec"].contains("pools"),
        "the spec model was not found: {model:?}"
    );
    let doc = std::fs::read_to_string(common::root().join("docs/spec.md")).unwrap();
    let documented = reference(&doc);
    let mut problems = Vec::new();
    for (ty, names) in &model {
        let Some(doc_names) = documented.get(ty) else {
            problems.push(format!("docs/spec.md has no `<!-- spec: {ty} -->` section"));
            continue;
        };
        for n in names.difference(doc_names) {
            problems.push(format!("{ty}: `{n}` is accepted but not documented"));
        }
        for n in doc_names.difference(names) {
            problems.push(format!("{ty}: `{n}` is documented but not accepted"));
        }
    }
    for ty in documented.keys().filter(|t| !model.contains_key(*t)) {
        problems.push(format!(
            "docs/spec.md documents `{ty}`, which the spec model lacks"
        ));
    }
    assert!(
        problems.is_empty(),
        "spec reference drift:\n{}",
        problems.join("\n")
    );
}

/// Every `PWnnn` code defined in the source.
fn codes_in_source(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            codes_in_source(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices("code: \"PW") {
                out.insert(text[i + 7..i + 12].to_string());
            }
        }
    }
}

fn every_diagnostic_code_is_documented_and_explainable() {
    let mut codes = BTreeSet::new();
    codes_in_source(&common::root().join("src"), &mut codes);
    assert!(codes.len() > 30, "too few codes found: {codes:?}");
    let docs = ["docs/errors.md", "docs/checks.md"]
        .map(|p| std::fs::read_to_string(common::root().join(p)).unwrap())
        .join("\n");
    let mut problems = Vec::new();
    for code in &codes {
        let cell = format!("| {code} |");
        let heading = format!("## {code}");
        if !docs.contains(&cell) && !docs.contains(&heading) {
            problems.push(format!(
                "{code} is in no table or heading of docs/errors.md or docs/checks.md"
            ));
        }
        let out = Command::new(common::process::bin())
            .args(["check", "--explain", code])
            .output()
            .unwrap();
        if !out.status.success() || out.stdout.is_empty() {
            problems.push(format!(
                "`poolwatch check --explain {code}` fails: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The spec reference says what the `exhausted` policy compares as the rule computes it:
/// free connections (size minus active) at or below the level, gated on waiting clients only
/// where the pool binds `waiting` (K2 binds none; the pgbouncer preset does).
fn exhausted_is_documented_as_the_rule_computes_it() {
    let doc = std::fs::read_to_string(common::root().join("docs/spec.md")).unwrap();
    let row = doc
        .lines()
        .find(|l| l.starts_with("| `exhausted` |"))
        .expect("an `exhausted` row in docs/spec.md");
    assert!(row.contains("Free connections (size − active)"), "{row}");
    assert!(
        row.contains("at or below") && row.contains("`waiting`"),
        "{row}"
    );
    let rule = |source: &poolwatch::spec::SpecSource, kind: &str, name: &str| -> String {
        let g = common::generate(source);
        let rules = &g
            .files
            .iter()
            .find(|f| f.path.ends_with("connection_pool.yml"))
            .unwrap()
            .contents;
        let v: serde_norway::Value = serde_norway::from_str(rules).unwrap();
        v["groups"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_sequence().unwrap())
            .find(|r| r[kind].as_str() == Some(name))
            .map(|r| r["expr"].as_str().unwrap().to_string())
            .unwrap()
    };
    let exhausted = |source| rule(source, "alert", "ConnectionPoolExhausted");
    let recorded = |source, name| rule(source, "record", name);
    let builtin = poolwatch::spec::SpecSource::builtin();
    let k2 = exhausted(&builtin);
    assert!(
        k2.contains("free_connections:size_minus_active{pool=\"k2\"}\n<= 0"),
        "K2's Exhausted does not compare its free connections <= 0:\n{k2}"
    );
    let free = recorded(
        &builtin,
        "pool_job_instance:k2_connection_pool_free_connections:size_minus_active",
    );
    assert!(
        free.contains("(sum by (job, instance) (k2_connection_pool_size) > 0)\n-\nsum by (job, instance) (k2_connection_pool_active_connections))"),
        "K2's free connections are not size - active:\n{free}"
    );
    let (_, pgbouncer) = common::all_specs()
        .into_iter()
        .find(|(n, _)| n == "preset-pgbouncer")
        .unwrap();
    let pgb = exhausted(&pgbouncer);
    assert!(
        pgb.trim_end().ends_with(
            "free_connections:size_minus_active_while_waiting{pool=\"pgbouncer\"}\n<= 0"
        ),
        "pgbouncer's Exhausted does not compare free connections while someone waits:\n{pgb}"
    );
    let free = recorded(
        &pgbouncer,
        "pool_job_instance_database_user:pgbouncer_free_connections:size_minus_active_while_waiting",
    );
    assert!(
        free.contains("\nand on(")
            && free.contains("pgbouncer_pools_client_waiting_connections")
            && free.trim_end().ends_with("> 0"),
        "pgbouncer's free connections are not recorded only while someone waits:\n{free}"
    );
}

/// The keys `policies` accepts, as the signals' files define them: each file's `key` whose
/// policy is set under `policies` (not under `capacity`).
fn policy_keys_in_source() -> BTreeSet<String> {
    let dir = common::root().join("src/signals");
    let mut keys = BTreeSet::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let key = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("key: \""))
            .and_then(|k| k.split('"').next());
        if let Some(key) = key
            && !text.contains("policy: PolicyShape::Capacity")
        {
            keys.insert(key.to_string());
        }
    }
    keys
}

/// docs/spec.md's table of policies lists exactly the keys the signals define.
fn policies_documented_are_the_signals() {
    let in_source = policy_keys_in_source();
    assert!(
        in_source.len() >= 10 && in_source.contains("utilization"),
        "the signals' keys were not found: {in_source:?}"
    );
    let doc = std::fs::read_to_string(common::root().join("docs/spec.md")).unwrap();
    let table = doc
        .split("<!-- signals: policies -->")
        .nth(1)
        .expect("docs/spec.md has a `<!-- signals: policies -->` table");
    let documented: BTreeSet<String> = table
        .lines()
        .skip(1)
        .take_while(|l| l.trim_start().starts_with('|'))
        .filter_map(|l| l.trim().strip_prefix("| `"))
        .map(|r| r.split('`').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        documented, in_source,
        "docs/spec.md's policies (left) differ from the signals' keys (right)"
    );
}

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        spec_reference_documents_every_field,
        policies_documented_are_the_signals,
        every_diagnostic_code_is_documented_and_explainable,
        exhausted_is_documented_as_the_rule_computes_it,
    ]
}
