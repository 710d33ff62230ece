//! The `--out` tree: every file `render --out` writes and `check` compares, rendered from
//! the deployment.

use std::path::Path;

use crate::kustomization::old_redis;
use crate::render::{self, clients, migration, runbook};
use crate::resolve::Deployment;
use crate::validate;

/// The file [`render::redis_sentinel_yaml`] is written to: `render --out` writes it at the
/// top of the output tree, and the KRM function names its generated items after it, beside
/// the profile.
pub const GENERATED_FILE: &str = "redis-sentinel.yaml";
/// The tree's top-level kustomization, so an overlay can include the deployment as a
/// directory (`resources: [../redis]`).
pub const KUSTOMIZATION: &str = "kustomization.yaml";

/// What makes one deployment's tree another's, as the tree's record names it: what
/// cannot change in place (namespace, names, master name; see `plan`). A profile changed in
/// place renders over its own tree; another deployment's tree is never rendered over.
pub fn deployment_identity(dep: &Deployment) -> String {
    format!(
        "namespace {}, StatefulSet {}, Sentinel master {}",
        dep.namespace, dep.names.redis_master, dep.master_name
    )
}

/// Every file of the `--out` tree, relative to it. `render --out` writes exactly these (plus
/// its record of them, `emit::MANIFEST`) and `check` compares exactly these, so the two can
/// never disagree about the tree. In this order: `redis-sentinel.yaml`, `kustomization.yaml`,
/// the `clients/` Component, the `migration/` README, script, deployment copy and phases,
/// `RUNBOOK.md`.
pub fn output_tree(dep: &Deployment, out: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let deployment = render::redis_sentinel_yaml(dep)?;
    let mut files = clients::files(dep)?;
    // The old Redis as the base shows it, when it can be read (validation has said when not).
    let old = dep.migration.as_ref().and_then(|m| {
        old_redis::find(
            &validate::join_lexically(out, &m.base),
            &m.from.host,
            m.from.port,
        )
        .ok()
    });
    files.extend(migration::files(dep, &deployment, old.as_ref())?);
    files.insert(
        0,
        (
            KUSTOMIZATION.to_string(),
            migration::deployment_kustomization(dep)?,
        ),
    );
    files.insert(0, (GENERATED_FILE.to_string(), deployment));
    files.push((runbook::RUNBOOK.to_string(), runbook::runbook(dep)?));
    Ok(files)
}
