//! The rule groups' own options as written: `rule_groups: {limit, query_offset}`.

use serde::Deserialize;

use super::S;

/// Options put on every generated rule group (the alerts' and the recording rules').
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuleGroups {
    /// The most alerts (or recorded series) one rule of the group may produce; past it the
    /// rule fails whole. 0 is no limit.
    #[serde(default)]
    pub(crate) limit: Option<S<u64>>,
    /// How far into the past each rule of the group queries (rules on remote-written data).
    #[serde(default)]
    pub(crate) query_offset: Option<S<String>>,
}
