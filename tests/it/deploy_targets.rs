//! The deploy targets: a prometheus-operator `PrometheusRule` validated against the CRD's
//! OpenAPI schema, a Mimir ruler namespace file whose groups promtool accepts, and Grafana's
//! provisioning file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use poolwatch::conventions;
use poolwatch::pipeline::{self, Failure};
use poolwatch::render::Target;
use poolwatch::source::Sources;
use poolwatch::spec::SpecSource;
use serde_json::Value;

fn fixture() -> SpecSource {
    common::all_specs()
        .into_iter()
        .find(|(n, _)| n == "two_pools")
        .unwrap()
        .1
}

fn generate(source: &SpecSource, target: Target) -> pipeline::Generated {
    let mut sources = Sources::default();
    pipeline::generate_spec(&mut sources, source, target).unwrap()
}

fn file<'a>(g: &'a pipeline::Generated, path: &str) -> &'a str {
    &g.files.iter().find(|f| f.path == path).unwrap().contents
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

fn crd_validator() -> jsonschema::Validator {
    let path =
        common::shared().join("prometheus-operator/monitoring.coreos.com_prometheusrules.yaml");
    let crd = yaml(&std::fs::read_to_string(path).unwrap());
    let mut schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
    // The CRD's patterns are Go regexps (Kubernetes validates with Go); JSON Schema's are
    // ECMA-262, which has no inline `(?i)`. The one such pattern, spelled out case by case:
    let strategy = &mut schema["properties"]["spec"]["properties"]["groups"]["items"]["properties"]
        ["partial_response_strategy"]["pattern"];
    assert_eq!(strategy, "^(?i)(abort|warn)?$");
    *strategy = Value::String("^([Aa][Bb][Oo][Rr][Tt]|[Ww][Aa][Rr][Nn])?$".into());
    jsonschema::draft7::new(&schema).unwrap()
}

fn prometheus_rule_manifest_passes_the_crd_schema_and_carries_selector_labels() {
    let g = generate(&fixture(), Target::Operator);
    let text = file(&g, &conventions::operator_file_path());
    insta::assert_snapshot!("two_pools__prometheusrule", text);
    let manifest = yaml(text);
    let v = crd_validator();
    let errors: Vec<String> = v.iter_errors(&manifest).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(manifest["kind"], "PrometheusRule");
    assert_eq!(manifest["metadata"]["namespace"], "billing");
    assert_eq!(manifest["metadata"]["name"], "billing-connection-pool");
    assert_eq!(
        manifest["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
    assert_eq!(
        manifest["spec"]["groups"][0]["name"],
        poolwatch::conventions::rule_group(&g.model.pools[0].name).as_str()
    );
    // No plain rule file for this target.
    assert!(
        g.files
            .iter()
            .all(|f| f.path != "rules/connection_pool.yml")
    );

    // The schema check can fail: a group without a name is refused.
    let mut broken = manifest.clone();
    broken["spec"]["groups"][0]["name"] = Value::String(String::new());
    assert!(!v.is_valid(&broken));
}

fn operator_target_without_selector_labels_is_refused() {
    let mut sources = Sources::default();
    match pipeline::generate_spec(&mut sources, &SpecSource::builtin(), Target::Operator) {
        Err(Failure::Input(d)) => {
            assert_eq!(d[0].code.code, "PW011");
            assert!(d[0].message.contains("ruleSelector"), "{}", d[0].message);
        }
        other => panic!("expected an input failure, got {other:?}"),
    }
    let text = SpecSource {
        name: "ops.yaml".into(),
        text: poolwatch::spec::BUILTIN_K2.to_string()
            + "deploy:\n  operator:\n    namespace: monitoring\n",
    };
    let mut sources = Sources::default();
    let err = pipeline::generate_spec(&mut sources, &text, Target::Operator).unwrap_err();
    let rendered =
        poolwatch::diag::render(err.diagnostics(), &sources, poolwatch::diag::Format::Human);
    assert!(rendered.contains("ruleSelector"), "{rendered}");
    assert!(rendered.contains("ops.yaml:"), "{rendered}");
}

fn mimir_namespace_file_holds_the_same_groups() {
    let g = generate(&fixture(), Target::Mimir);
    let text = file(&g, &conventions::mimir_file_path());
    insta::assert_snapshot!("two_pools__mimir", text);
    let doc = yaml(text);
    assert_eq!(doc["namespace"], "billing");
    let plain = generate(&fixture(), Target::Prometheus);
    let plain_doc = yaml(file(&plain, &conventions::rule_file_path()));
    assert_eq!(doc["groups"], plain_doc["groups"]);
    // mimirtool's namespace file is a rule file plus `namespace:`; promtool checks the rest.
    let promtool = common::promtool();
    let dir = tempfile::tempdir().unwrap();
    let groups_only = dir.path().join("groups.yml");
    let mut obj = doc.clone();
    obj.as_object_mut().unwrap().remove("namespace");
    std::fs::write(&groups_only, serde_json::to_string(&obj).unwrap()).unwrap();
    let (ok, out) = common::promtool_check_rules(&promtool, &groups_only);
    assert!(ok, "{out}");
}

fn grafana_provisioning_file_points_at_a_folder() {
    let g = generate(&fixture(), Target::Prometheus);
    let doc = yaml(file(&g, "dashboards/poolwatch-billing.yaml"));
    assert_eq!(doc["apiVersion"], 1);
    let p = &doc["providers"][0];
    assert_eq!(p["type"], "file");
    assert_eq!(p["folder"], "Billing");
    assert_eq!(p["name"], "poolwatch-billing");
    let path = p["options"]["path"].as_str().unwrap();
    assert!(
        path.starts_with('/') && path.ends_with("/billing"),
        "{path}"
    );
    assert_eq!(p["allowUiUpdates"], false);
}

use crate::harness::{CRD, PROMTOOL};

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [CRD] prometheus_rule_manifest_passes_the_crd_schema_and_carries_selector_labels,
        operator_target_without_selector_labels_is_refused,
        [PROMTOOL] mimir_namespace_file_holds_the_same_groups,
        grafana_provisioning_file_points_at_a_folder,
    ]
}
