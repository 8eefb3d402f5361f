//! Every generated dashboard validated against Grafana's dashboard JSON Schemas, in layers,
//! as `../shared/grafana-schema/README.md` explains: the document, each panel's options and
//! custom field config by type, each Prometheus target, then what no schema says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeSet;

use serde_json::{Value, json};

/// A generated file's contents by path.
fn file<'a>(g: &'a poolwatch::pipeline::Generated, path: &str) -> &'a str {
    &g.files.iter().find(|f| f.path == path).unwrap().contents
}

fn schema_file(name: &str) -> Value {
    let path = common::shared().join("grafana-schema").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft7::new(schema).unwrap()
}

/// Errors of `instance` against `schema`, as readable strings.
fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The dashboard schema with the three loosenings the README prescribes.
fn dashboard_validator() -> jsonschema::Validator {
    let mut s = schema_file("dashboard.jsonschema.json");
    let defs = &mut s["definitions"];
    defs["DynamicConfigValue"]["properties"]["value"] = json!({});
    defs["MatcherConfig"]["properties"]["options"] = json!({});
    defs["VariableModel"]["properties"]["query"]["oneOf"][1]["additionalProperties"] = json!({});
    validator(&s)
}

/// A panel type's definition (`Options` or `FieldConfig`) as a standalone schema; `None`
/// when the type defines none (a gauge has no custom field config).
fn panel_validator(kind: &str, definition: &str) -> Option<jsonschema::Validator> {
    let mut s = schema_file(&format!("{kind}.jsonschema.json"));
    s["definitions"].get(definition)?;
    s["$ref"] = json!(format!("#/definitions/{definition}"));
    Some(validator(&s))
}

fn known_units() -> BTreeSet<String> {
    let units = schema_file("units.jsonschema.json");
    let mut out = BTreeSet::new();
    collect_consts(&units, &mut out);
    out
}

fn collect_consts(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(c)) = map.get("const") {
                out.insert(c.clone());
            }
            if let Some(Value::Array(items)) = map.get("enum") {
                out.extend(items.iter().filter_map(|i| i.as_str().map(String::from)));
            }
            map.values().for_each(|x| collect_consts(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| collect_consts(x, out)),
        _ => {}
    }
}

fn unit_ok(unit: &str, known: &BTreeSet<String>) -> bool {
    known.contains(unit)
        || [
            "suffix:",
            "prefix:",
            "si:",
            "count:",
            "currency:",
            "time:",
            "bool:",
        ]
        .iter()
        .any(|p| unit.starts_with(p))
}

/// Every panel, rows' nested panels included, and the rows themselves excluded.
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        if p["type"] == "row" {
            out.extend(p["panels"].as_array().unwrap().iter());
        } else {
            out.push(p);
        }
    }
    out
}

/// All findings of every layer for one dashboard.
fn validate(d: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    // Layer 1: the whole document.
    problems.extend(errors(&dashboard_validator(), d));
    // Layers 2 and 3: options and custom config by panel type; Prometheus targets.
    let target_v = validator(&schema_file("prometheus.jsonschema.json"));
    let units = known_units();
    let mut ids = BTreeSet::new();
    for item in d["panels"].as_array().unwrap() {
        assert!(
            ids.insert(item["id"].as_u64().unwrap()),
            "panel id {} repeats",
            item["id"]
        );
    }
    for p in panels(d) {
        let kind = p["type"].as_str().unwrap();
        let title = p["title"].as_str().unwrap_or("");
        let at = format!("panel {} ({kind} \"{title}\")", p["id"]);
        let file = common::shared()
            .join("grafana-schema")
            .join(format!("{kind}.jsonschema.json"));
        if !file.is_file() {
            problems.push(format!("{at}: no schema for panel type {kind}"));
            continue;
        }
        match panel_validator(kind, "Options") {
            Some(v) => problems.extend(
                errors(&v, &p["options"])
                    .into_iter()
                    .map(|e| format!("{at} options: {e}")),
            ),
            None => problems.push(format!("{at}: the {kind} schema defines no Options")),
        }
        let custom = &p["fieldConfig"]["defaults"]["custom"];
        match panel_validator(kind, "FieldConfig") {
            Some(v) => problems.extend(
                errors(&v, custom)
                    .into_iter()
                    .map(|e| format!("{at} custom: {e}")),
            ),
            None if custom.is_null() || custom == &json!({}) => {}
            None => problems.push(format!("{at}: {kind} takes no custom field config")),
        }
        let mut ref_ids = BTreeSet::new();
        for t in p["targets"].as_array().unwrap() {
            for e in errors(&target_v, t) {
                problems.push(format!("{at} target: {e}"));
            }
            if !ref_ids.insert(t["refId"].as_str().unwrap().to_string()) {
                problems.push(format!("{at}: refId {} repeats", t["refId"]));
            }
            if t["datasource"]["uid"] != "${datasource}" {
                problems.push(format!("{at}: target not on the datasource variable"));
            }
            let expr = t["expr"].as_str().unwrap();
            if expr.contains("rate(") && !expr.contains("$__rate_interval") {
                problems.push(format!("{at}: rate without $__rate_interval: {expr}"));
            }
        }
        // Layer 4: what no schema says.
        if title.is_empty() {
            problems.push(format!("{at}: no title"));
        }
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().unwrap(), g["w"].as_u64().unwrap());
        if w == 0 || x + w > 24 || g["h"].as_u64().unwrap() == 0 {
            problems.push(format!("{at}: gridPos outside the 24-column grid"));
        }
        let unit = p["fieldConfig"]["defaults"]["unit"].as_str().unwrap_or("");
        if !unit_ok(unit, &units) {
            problems.push(format!("{at}: unknown unit `{unit}`"));
        }
        let steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
            .as_array()
            .unwrap();
        if !steps[0]["value"].is_null() {
            problems.push(format!("{at}: first threshold step is not null"));
        }
        if p["datasource"]["uid"] != "${datasource}" {
            problems.push(format!("{at}: panel not on the datasource variable"));
        }
    }
    let vars = d["templating"]["list"].as_array().unwrap();
    if !vars
        .iter()
        .any(|v| v["type"] == "datasource" && v["name"] == "datasource")
    {
        problems.push("no `datasource` variable".into());
    }
    if d["schemaVersion"] != 42 {
        problems.push("schemaVersion is not 42".into());
    }
    problems
}

fn every_generated_dashboard_passes_grafanas_schemas() {
    for (name, source) in common::all_specs() {
        for (variant, generated) in common::generate_all(&source) {
            let file = generated
                .files
                .iter()
                .find(|f| f.path.ends_with(".json"))
                .unwrap();
            let d: Value = serde_json::from_str(&file.contents).unwrap();
            let problems = validate(&d);
            assert!(
                problems.is_empty(),
                "{name} ({variant}):\n{}",
                problems.join("\n")
            );
        }
    }
}

fn the_layers_catch_what_they_are_meant_to() {
    // The validation must be able to fail: break a valid dashboard in one place per layer.
    let generated = common::generate(&poolwatch::spec::SpecSource::builtin());
    let good: Value =
        serde_json::from_str(file(&generated, "dashboards/connection_pool.json")).unwrap();
    assert!(validate(&good).is_empty());

    type Breakage = (&'static str, fn(&mut Value));
    let breakages: [Breakage; 6] = [
        ("thresholds at panel top level", |d| {
            d["panels"][0]["thresholds"] = json!({});
        }),
        ("graph panel type has no schema", |d| {
            d["panels"][1]["type"] = json!("graph");
        }),
        ("bad gauge option", |d| {
            d["panels"][0]["options"]["sizing"] = json!("huge");
        }),
        ("unknown target property", |d| {
            d["panels"][0]["targets"][0]["query"] = json!("x");
        }),
        ("base step not null", |d| {
            d["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"][0]["value"] = json!(0);
        }),
        ("unknown unit", |d| {
            d["panels"][0]["fieldConfig"]["defaults"]["unit"] = json!("furlongs");
        }),
    ];
    for (what, brk) in breakages {
        let mut d = good.clone();
        brk(&mut d);
        assert!(!validate(&d).is_empty(), "not caught: {what}");
    }
}

fn utilization_gauge_thresholds_come_from_the_policy() {
    let generated = common::generate(&poolwatch::spec::SpecSource::builtin());
    let d: Value =
        serde_json::from_str(file(&generated, "dashboards/connection_pool.json")).unwrap();
    let gauge = panels(&d)
        .into_iter()
        .find(|p| p["title"] == "Connection Pool Utilization")
        .unwrap();
    assert_eq!(gauge["type"], "gauge");
    assert_eq!(gauge["fieldConfig"]["defaults"]["unit"], "percent");
    assert_eq!(
        gauge["fieldConfig"]["defaults"]["thresholds"]["steps"],
        json!([
            {"color": "green", "value": null},
            {"color": "yellow", "value": 70},
            {"color": "red", "value": 90}
        ])
    );
    // And the alert compares the series the gauge draws with the same 0.9.
    let recorded = "pool_job_instance:k2_connection_pool_utilization:ratio";
    let expr = gauge["targets"][0]["expr"].as_str().unwrap();
    assert!(
        expr.starts_with(&format!("100 * ({recorded}{{pool=\"k2\", ")),
        "{expr}"
    );
    let rules = file(&generated, "rules/connection_pool.yml");
    assert!(rules.contains(&format!("expr: {recorded}{{pool=\"k2\"}} > 0.9\n")));
}

use crate::harness::GRAFANA_SCHEMA;

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [GRAFANA_SCHEMA] every_generated_dashboard_passes_grafanas_schemas,
        [GRAFANA_SCHEMA] the_layers_catch_what_they_are_meant_to,
        utilization_gauge_thresholds_come_from_the_policy,
    ]
}
