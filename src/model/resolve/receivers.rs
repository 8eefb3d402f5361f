//! Resolves `deploy.alertmanager`: the receivers a spec's alerts are meant for, each
//! severity one of the spec's own.

use super::{INVALID_VALUE, Resolver, SEVERITY, did_you_mean};
use crate::diag::Diagnostic;
use crate::model::Receivers;
use crate::spec::RawAlertmanager;

impl Resolver<'_> {
    pub(super) fn receivers(
        &mut self,
        raw: Option<&RawAlertmanager>,
        severities: &[String],
    ) -> Receivers {
        let Some(raw) = raw else {
            return Receivers::default();
        };
        let named = |this: &mut Self, r: &crate::spec::S<String>| {
            if r.value.trim().is_empty() {
                let d = Diagnostic::error(INVALID_VALUE, "a receiver name cannot be empty")
                    .at(this.span(r))
                    .label("the name of a receiver in your alertmanager.yml");
                this.push(d);
            }
            r.value.clone()
        };
        let default = raw.receiver.as_ref().map(|r| named(self, r));
        for (severity, r) in &raw.receivers {
            if !severities.contains(severity) {
                let mut d = Diagnostic::error(
                    SEVERITY,
                    format!("`{severity}` is not one of the spec's severities"),
                )
                .at(self.span(r))
                .label("receiver of an unknown severity")
                .help(format!("known severities: {}", severities.join(", ")));
                if let Some(m) = did_you_mean(severity, severities.iter().map(String::as_str)) {
                    d = d.help(format!("did you mean `{m}`?"));
                }
                self.push(d);
            }
        }
        let by_severity = severities
            .iter()
            .filter_map(|s| raw.receivers.get(s).map(|r| (s.clone(), named(self, r))))
            .collect();
        Receivers {
            default,
            by_severity,
        }
    }
}
