//! poolwatch: typed connection-pool monitoring. A spec of pool metrics and threshold
//! policies goes in; Prometheus rules and Grafana dashboards come out, checked.
//!
//! The pipeline, one module per stage: [`spec`] (raw YAML with spans) → [`model`] (resolved,
//! typed) → [`render`] (Prometheus and Grafana objects) → [`check`] (diagnostics) →
//! [`write`](mod@write) (the file system). [`pipeline`] chains the pure stages; [`app`] is the edge.

#![warn(unreachable_pub)]

pub mod alertmanager;
pub mod app;
pub mod check;
pub mod cli;
pub mod conventions;
pub mod diag;
pub mod fleet;
pub mod model;
pub mod pipeline;
pub mod render;
pub(crate) mod review;
pub(crate) mod signals;
pub mod source;
pub mod spec;
pub mod write;
