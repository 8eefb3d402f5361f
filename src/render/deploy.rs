//! Deploy targets: the same rule groups wrapped for prometheus-operator (a `PrometheusRule`
//! manifest) or a Mimir/Cortex ruler (a namespace file as `mimirtool rules load` reads it),
//! and Grafana's dashboard provisioning file.

use std::collections::BTreeMap;

use serde::Serialize;

use super::prometheus::RuleGroup;
use crate::conventions;
use crate::model::Model;

/// Where the rules are deployed, which decides the rule file's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Target {
    /// A plain Prometheus rule file (`rule_files:` in prometheus.yml).
    #[default]
    Prometheus,
    /// A prometheus-operator `PrometheusRule` manifest.
    Operator,
    /// A Mimir/Cortex ruler namespace file (`mimirtool rules load`).
    Mimir,
}

impl Target {
    /// The name `--target` takes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Prometheus => "prometheus",
            Target::Operator => "operator",
            Target::Mimir => "mimir",
        }
    }
}

/// A prometheus-operator `PrometheusRule` (monitoring.coreos.com/v1).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PrometheusRule<'a> {
    pub(crate) api_version: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) metadata: Metadata,
    pub(crate) spec: RuleSpec<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Metadata {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RuleSpec<'a> {
    pub(crate) groups: &'a [RuleGroup],
}

/// Builds the manifest, or `None` when the spec has no `deploy.operator` settings.
pub(crate) fn prometheus_rule<'a>(
    model: &Model,
    groups: &'a [RuleGroup],
) -> Option<PrometheusRule<'a>> {
    let op = model.deploy.operator.as_ref()?;
    let mut labels: BTreeMap<String, String> = op.labels.iter().cloned().collect();
    labels
        .entry("app.kubernetes.io/managed-by".into())
        .or_insert_with(|| "poolwatch".into());
    Some(PrometheusRule {
        api_version: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: Metadata {
            name: op.name.clone(),
            namespace: op.namespace.clone(),
            labels,
        },
        spec: RuleSpec { groups },
    })
}

/// A Mimir/Cortex ruler namespace file.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MimirNamespace<'a> {
    pub(crate) namespace: &'a str,
    pub(crate) groups: &'a [RuleGroup],
}

pub(crate) fn mimir_namespace<'a>(model: &'a Model, groups: &'a [RuleGroup]) -> MimirNamespace<'a> {
    MimirNamespace {
        namespace: &model.deploy.mimir_namespace,
        groups,
    }
}

/// Grafana's dashboard provisioning file (`provisioning/dashboards/*.yaml`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Provisioning {
    pub(crate) api_version: u32,
    pub(crate) providers: Vec<Provider>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Provider {
    pub(crate) name: String,
    pub(crate) org_id: u32,
    pub(crate) folder: String,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) disable_deletion: bool,
    pub(crate) allow_ui_updates: bool,
    pub(crate) update_interval_seconds: u32,
    pub(crate) options: ProviderOptions,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProviderOptions {
    pub(crate) path: String,
    pub(crate) folders_from_files_structure: bool,
}

/// The provisioning file of one variant: its own provider, reading its own folder.
pub(crate) fn provisioning(model: &Model) -> Provisioning {
    let env = model.environment.as_deref();
    Provisioning {
        api_version: 1,
        providers: vec![Provider {
            name: conventions::grafana_provider_name(&model.name, env),
            org_id: 1,
            folder: model.deploy.grafana_folder.clone(),
            kind: "file",
            // Generated dashboards are changed through the spec, not the UI.
            disable_deletion: true,
            allow_ui_updates: false,
            update_interval_seconds: 60,
            options: ProviderOptions {
                path: conventions::grafana_provider_path(
                    &model.deploy.grafana_path,
                    &model.name,
                    env,
                ),
                folders_from_files_structure: false,
            },
        }],
    }
}
