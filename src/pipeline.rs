//! The one pipeline every adapter runs (the command line, the KRM function, the kustomize
//! plugin): load → resolve once → validate → render → emit.
//!
//! Resolution comes before validation, and runs once: `resolve` is total on any
//! structurally sound profile, so validation judges the very [`Deployment`] the renderers
//! will write (every default applied) while pointing at the lines the user wrote. A profile
//! with an error finding goes no further: its deployment is dropped unrendered.

use std::path::Path;

use crate::diagnostic::{self, Finding};
use crate::profile::load::{self, Loaded, Source};
use crate::resolve::{self, Deployment};
use crate::{base, validate};

/// A profile taken through load, resolve and validate.
#[derive(Debug)]
pub struct Checked {
    /// The profile with its source map, and the profile resolved; `None` when it did not
    /// load (not YAML, not a profile, or not its shape).
    pub loaded: Option<(Loaded, Deployment)>,
    /// Every finding, in reading order.
    pub findings: Vec<Finding>,
}

impl Checked {
    /// The loaded profile and its deployment, when no finding is an error.
    pub fn valid(self) -> Option<(Loaded, Deployment)> {
        if self.findings.iter().any(Finding::is_error) {
            return None;
        }
        self.loaded
    }
}

/// Load `source`, resolve it once, and validate the result.
pub fn check(source: &Source) -> Checked {
    match load::load(source) {
        Ok(loaded) => {
            let deployment = resolve::resolve(&loaded.profile, &source.name);
            let findings = validate::validate_resolved(&loaded.profile, &loaded.map, &deployment);
            Checked {
                loaded: Some((loaded, deployment)),
                findings,
            }
        }
        Err(findings) => Checked {
            loaded: None,
            findings,
        },
    }
}

/// As [`check`], for a command that writes or checks the tree in `out`: the paths the
/// profile gives relative to that directory (`spec.migration.base`) are checked too.
pub fn check_for_tree(source: &Source, out: &Path) -> Checked {
    let mut checked = check(source);
    if let Some((loaded, _)) = &checked.loaded {
        let findings = &mut checked.findings;
        findings.extend(validate::output_paths(&loaded.profile, &loaded.map, out));
        findings.extend(base::migration_base_findings(
            &loaded.profile,
            &loaded.map,
            out,
        ));
        diagnostic::sort(findings);
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::defaults;

    fn source(edit: impl Fn(&str) -> String) -> Source {
        Source {
            name: "p.yaml".into(),
            text: edit(&Source::embedded_default().text),
        }
    }

    #[test]
    fn a_valid_profile_gives_its_deployment_resolved_under_its_name() {
        let checked = check(&source(str::to_string));
        assert_eq!(checked.findings, vec![]);
        let (_, dep) = checked.valid().expect("the reference profile is valid");
        assert_eq!(dep.source, "p.yaml");
        assert_eq!(
            dep.sentinel.quorum,
            defaults::quorum_for(dep.sentinel.replicas)
        );
    }

    #[test]
    fn an_error_finding_withholds_the_deployment() {
        let text = Source::embedded_default().text;
        assert!(text.contains("quorum: 2"), "the edit below must apply");
        let checked = check(&source(|t| t.replace("quorum: 2", "quorum: 1")));
        let fields: Vec<_> = checked
            .findings
            .iter()
            .filter_map(|f| f.field.as_deref())
            .collect();
        assert_eq!(fields, ["spec.sentinel.quorum"]);
        assert!(checked.loaded.is_some(), "it loaded");
        assert!(checked.valid().is_none());
    }

    #[test]
    fn a_profile_that_does_not_load_has_no_deployment() {
        let checked = check(&source(|_| "kind: [".into()));
        assert!(checked.loaded.is_none());
        assert!(checked.findings.iter().any(Finding::is_error));
    }
}
