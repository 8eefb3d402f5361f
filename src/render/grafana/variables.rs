//! The dashboard's template variables: the data source, then one per identity label,
//! each listing only the values of the pools' own series.

use super::{DataSourceRef, Variable};
use crate::conventions;
use crate::model::{Model, Role};
use crate::render::promql::{escape_label_value, label_name, selector_of};

/// The data source variable, then one multi-select variable per identity label (in the
/// pools' order), its values read from the size metric of the first pool that has it.
pub(super) fn variables(model: &Model) -> Vec<Variable> {
    let mut out = vec![Variable {
        kind: "datasource".into(),
        name: conventions::DATASOURCE_VAR.into(),
        label: "Data source".into(),
        datasource: None,
        query: "prometheus".into(),
        definition: None,
        multi: None,
        include_all: None,
        sort: None,
        hide: 0,
        refresh: 1,
        regex: String::new(),
        skip_url_sync: false,
    }];
    // The pools' selectors, so a variable lists only the pools' own series (not every
    // service exporting the same metric names); a variable serves every pool, so only the
    // matchers all pools share.
    let selector: Vec<String> = model.pools.first().map_or_else(Vec::new, |first| {
        first
            .selector
            .iter()
            .filter(|kv| model.pools.iter().all(|p| p.selector.contains(kv)))
            .map(|(k, v)| format!("{}=\"{}\"", label_name(k), escape_label_value(v)))
            .collect()
    });
    for pool in &model.pools {
        let matches = pool.roles.matches(Role::Size);
        // Each variable offers the values left by the ones before it (the instances of the
        // chosen jobs).
        let mut chosen: Vec<String> = Vec::new();
        for l in &pool.identity {
            if out.iter().any(|v| &v.name == l) {
                continue;
            }
            // The size metric may hold the label under its own name (`match`); a label it
            // lacks is read from the active connections.
            let (metric, on) = match matches.iter().find(|(i, _)| i == l) {
                Some((_, m)) => (pool.roles.size.as_str(), m.as_str()),
                None if pool.covered(Role::Size).contains(&l.as_str()) => {
                    (pool.roles.size.as_str(), l.as_str())
                }
                None => (pool.roles.active.as_str(), l.as_str()),
            };
            let filter: Vec<&str> = selector.iter().chain(&chosen).map(String::as_str).collect();
            let query = format!(
                "label_values({}, {})",
                selector_of(metric, &filter),
                label_name(on)
            );
            out.push(Variable {
                kind: "query".into(),
                name: l.clone(),
                label: l.clone(),
                datasource: Some(DataSourceRef::variable()),
                query: query.clone(),
                definition: Some(query),
                multi: Some(true),
                include_all: Some(true),
                sort: Some(1),
                hide: 0,
                refresh: 2,
                regex: String::new(),
                skip_url_sync: false,
            });
            if pool.covered(Role::Size).contains(&l.as_str()) && matches.is_empty() {
                chosen.push(format!("{l}=~\"${l}\""));
            }
        }
    }
    out
}
