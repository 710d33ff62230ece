//! The user's kustomize base as read from disk without running kustomize: one place for what
//! a kustomization directory is (its file names, which `resources` are remote), and the views
//! the tool takes of a base.
//!
//! - `workloads`: the client-capable workloads, named as the kustomizations name them, and
//!   whether anything unevaluated could add to them (the checks of `spec.clients`, KRM too);
//! - `old_redis`: the old single Redis behind `migration.from` (the migration phases).
//!
//! Both walk the local `resources` of a kustomization recursively, but they do not read a
//! gap the same way: the workload view goes on and calls itself incomplete (its findings are
//! then warnings), the old-Redis view stops at the first one and says why. This layer sits
//! under render and the adapters: it imports the ordered YAML value and the profile's object
//! reference, nothing else of the crate.

pub mod old_redis;
pub mod workloads;

use std::path::Path;

/// The names kustomize looks for in a kustomization directory, in its order.
pub const FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether a `resources` entry is remote (a URL or a `github.com/...` reference), which
/// nothing here fetches.
pub fn is_remote(entry: &str) -> bool {
    entry.contains("://") || entry.starts_with("github.com/")
}

/// The kustomization file of `dir`: the first of [`FILES`] that is a file.
pub fn file_in(dir: &Path) -> Option<std::path::PathBuf> {
    FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}
