//! Changes to a running deployment, on the real Redis binaries (issue 10, DESIGN §4.2): the
//! rendered manifests run as emulated pods (the library's `rehearse` emulation), a changed
//! profile is re-rendered and applied the way `kubectl apply` and the StatefulSet
//! controllers would, and what Redis and Sentinel then report is checked.
//!
//! Needs root (namespaces, mounts), `unshare`, `setpriv`, `nsenter`, `busybox` and Debian's
//! `redis-server`, `redis-sentinel` and `redis-cli`. Pods listen on 127.0.4.1 and up.
//!
//! Here: the deployment they start from. The Sentinel changes are in `sentinels`, the memory
//! limit in `memory`, the password rotation in `password`.

mod memory;
mod password;
mod sentinels;

use crate::support;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use redis_sentinel_gen::rehearse::rig::Rig;
use redis_sentinel_gen::rehearse::{Cluster, Manifests, Secrets};

const FIRST_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 4, 1);
const CLUSTER_DOMAIN: &str = "cluster.local";
pub(super) const MASTER_NAME: &str = "welcomebot-master";
pub(super) const SECRET: (&str, &str) = ("redis-auth", "password");
/// Awkward on purpose (space, both quotes, `$`): the saved Sentinel state must carry it.
pub(super) const PASSWORD: &str = "l1ve \"cha nge' $s";
pub(super) const CONVERGE: Duration = Duration::from_secs(90);

pub(super) fn reference_profile() -> String {
    let path = support::repo_root()
        .join("profiles")
        .join("welcomebot.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `render` of profile text, through the built binary as a user runs it.
pub(super) fn render_text(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    support::render_profile(&path)
}

/// A fresh directory for this test's profiles (the rendered header names them).
pub(super) fn scratch_dir(name: &str) -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("rsg-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

pub(super) fn start_rig(rendered: &str) -> Result<Rig> {
    let secrets = Secrets::from([((SECRET.0.into(), SECRET.1.into()), PASSWORD.into())]);
    let cluster = Cluster::new(
        Manifests::parse(rendered)?,
        secrets,
        FIRST_IP,
        CLUSTER_DOMAIN,
    )?;
    let mut rig = Rig::new(cluster, MASTER_NAME.into(), Some(PASSWORD.into()), 2)?;
    let pods: Vec<String> = rig.cluster.pods().iter().map(|p| p.name.clone()).collect();
    for pod in &pods {
        rig.cluster.start(pod)?;
    }
    rig.wait_agreement(CONVERGE)
        .with_context(|| format!("not up:\n{}", rig.cluster.log_tails(20)))?;
    Ok(rig)
}

/// `SENTINEL MASTER <name>` of `sentinel` as field → value.
pub(super) fn sentinel_master(rig: &Rig, sentinel: &str) -> Result<BTreeMap<String, String>> {
    rig.sentinel_master_record(sentinel)
        .with_context(|| format!("{sentinel}: SENTINEL MASTER"))
}
