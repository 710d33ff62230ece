//! Validation (DESIGN §3.1): every rule a structurally sound profile must also satisfy, with
//! every finding returned at once. Defaults come from `resolve`, so validation judges the
//! same values the renderers will write.
//!
//! Every string that reaches a config file or a shell script is held to a character class
//! that the target syntax can carry as is; nothing is escaped silently.

mod charset;
mod cron;
mod images;
mod migration;
mod names;
mod operations;
mod output_paths;
mod redis;
mod resources;
pub mod rules;
mod sentinel;
#[cfg(test)]
mod tests;

pub use output_paths::{join_lexically, migration_base_dir, output_paths};

use crate::diagnostic::{self, Finding};
use crate::profile::source_map::SourceMap;
use crate::profile::spec::Profile;
use crate::resolve::{self, Deployment};

/// Every finding about `profile`, sorted by position: resolves it, then
/// [`validate_resolved`]. For a caller that holds only the loaded profile; the pipeline
/// (`crate::pipeline`) resolves once and calls [`validate_resolved`] itself.
pub fn validate(profile: &Profile, map: &SourceMap) -> Vec<Finding> {
    validate_resolved(profile, map, &resolve::resolve(profile, ""))
}

/// Every finding about `profile`, sorted by position. `deployment` is `profile` resolved:
/// the values every default gave, which the rules judge as the renderers will write them;
/// `profile` says what was written (and `map` where).
pub fn validate_resolved(
    profile: &Profile,
    map: &SourceMap,
    deployment: &Deployment,
) -> Vec<Finding> {
    let mut check = Check {
        profile,
        map,
        dep: deployment,
        findings: Vec::new(),
    };
    check.names();
    check.master_name();
    check.image();
    check.auth();
    check.sentinel();
    check.redis();
    check.persistence();
    check.endpoints();
    check.migration();
    check.operations();
    check.maxmemory();
    diagnostic::sort(&mut check.findings);
    check.findings
}

struct Check<'a> {
    profile: &'a Profile,
    map: &'a SourceMap,
    /// The profile resolved: every default applied.
    dep: &'a Deployment,
    findings: Vec<Finding>,
}

impl Check<'_> {
    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Report an error about `path`, positioned by the source map; `details` adds what was
    /// found, what is valid and how to fix it.
    fn error(
        &mut self,
        path: &str,
        message: impl Into<String>,
        details: impl FnOnce(Finding) -> Finding,
    ) {
        let finding = details(self.map.error(path, message));
        self.push(finding);
    }

    /// Report a warning about `path`, like [`Check::error`].
    fn warning(
        &mut self,
        path: &str,
        message: impl Into<String>,
        details: impl FnOnce(Finding) -> Finding,
    ) {
        let finding = details(self.map.warning(path, message));
        self.push(finding);
    }
}
