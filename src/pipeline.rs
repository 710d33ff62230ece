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
