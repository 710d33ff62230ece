//! Rendering: the resolved deployment becomes Kubernetes objects and config-file text.

pub mod config_files;
pub mod layout;

use anyhow::Result;

use crate::resolve::Deployment;

/// `redis-sentinel.yaml`: every Kubernetes object of the deployment as one YAML stream,
/// headed by the "generated — do not edit" comment, in the documented order.
pub fn redis_sentinel_yaml(dep: &Deployment) -> Result<String> {
    let _ = config_files::redis_files(dep)?;
    anyhow::bail!("not yet rendered: {}", dep.instance)
}
