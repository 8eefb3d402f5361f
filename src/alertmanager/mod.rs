//! Alertmanager: its label matchers, shared by the generated route and inhibit rules
//! (`render::alertmanager`) and by `check --alertmanager`, which reads a real configuration
//! and routes every generated alert through it as Alertmanager would.

pub mod config;
pub mod matcher;
pub(crate) mod node;
pub(crate) mod routing;
