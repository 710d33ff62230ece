//! Running emulated pods: per-pod namespaces, root filesystems and volumes, and a [`Cluster`]
//! that always stops what it started and removes what it wrote.
//!
//! Each container runs as `setpriv --pdeathsig KILL unshare --mount --uts --pid --fork
//! --kill-child sh <launcher>`. The generated launcher (PID 1 of the new PID namespace)
//! mounts a tmpfs root, binds the host's `/usr` and `/etc` read-only into it (with the pod's
//! own `/etc/hosts`, `resolv.conf` and `nsswitch.conf` over them), mounts the pod's volumes at
//! their `mountPath`s, sets the hostname and execs `chroot` → `env -i` → `setpriv` → the
//! container command, so the Redis process ends up as the pod's PID 1 exactly as in a
//! container. None of these paths exist on the host, and every mount vanishes with the
//! namespace when the pod's processes end.
//!
//! A pod stops the way the kubelet stops it: its preStop hook runs inside the pod (same
//! namespaces, root, env and user as the container), then SIGTERM goes to PID 1, and SIGKILL
//! when the termination grace period (counted from the start of the hook) is over.
//!
//! If the process dies without cleaning up, the parent-death signals (spawning thread →
//! `unshare` → PID 1) take the pods down with it.
//!
//! - `dns`: every pod's `/etc/hosts` and the cluster DNS table;
//! - `volumes`: ConfigMap files, emptyDirs and claims on the host;
//! - `launcher`: the script that builds a container's root and becomes the container;
//! - `lifecycle`: start, restart, apply, delete, stop, kill and teardown;
//! - `process`: exec, logs, signals and deadlines.

mod dns;
mod launcher;
mod lifecycle;
mod process;
mod volumes;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Child;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::rehearse::manifest::{Manifests, PodPlan, Secrets};
pub use dns::Dns;
pub use lifecycle::Deletion;

/// New pod addresses start this far above the first one.
const NEW_IP_OFFSET: u32 = 128;
/// File name of a pod's log (what `kubectl logs` shows) in its directory.
const LOG: &str = "log";

/// A set of emulated pods from one rendered stream.
pub struct Cluster {
    manifests: Manifests,
    secrets: Secrets,
    pods: Vec<PodPlan>,
    /// Everything the cluster writes on the host lives under here.
    state: PathBuf,
    running: BTreeMap<String, Child>,
    cluster_domain: String,
    /// Names outside the pods that cluster DNS also answers (a Service, an old Redis).
    extra_hosts: Vec<(Ipv4Addr, String)>,
    /// What cluster DNS answers now: every name of every pod (and the extra hosts), shared
    /// with clients outside the pods, which resolve through it as a pod would.
    dns: Dns,
    /// The address the next pod that gets a new one (a deleted pod coming back) takes.
    next_ip: Ipv4Addr,
    /// Held while the cluster exists: another cluster on the same addresses (a second
    /// `cargo test` on this machine) waits instead of colliding on the ports.
    _address_lock: File,
}

impl Cluster {
    /// Plan every pod (consecutive addresses from `first_ip`) and write each pod's `/etc`
    /// files. Nothing runs yet.
    pub fn new(
        manifests: Manifests,
        secrets: Secrets,
        first_ip: Ipv4Addr,
        cluster_domain: &str,
    ) -> Result<Self> {
        let pods = manifests.pods(first_ip, cluster_domain)?;
        let lock_path = std::env::temp_dir().join(format!("redis-pods-{first_ip}.lock"));
        let address_lock = File::create(&lock_path)
            .with_context(|| format!("cannot create {}", lock_path.display()))?;
        if address_lock.try_lock().is_err() {
            eprintln!("waiting for another emulated cluster on {first_ip} and up to finish");
            address_lock.lock()?;
        }
        let state = unique_temp_dir()?;
        let cluster = Cluster {
            manifests,
            secrets,
            pods,
            state,
            running: BTreeMap::new(),
            cluster_domain: cluster_domain.to_string(),
            extra_hosts: Vec::new(),
            dns: Dns::default(),
            // Clear of the addresses the pods start with.
            next_ip: Ipv4Addr::from(u32::from(first_ip) + NEW_IP_OFFSET),
            _address_lock: address_lock,
        };
        for pod in &cluster.pods {
            cluster.write_resolver(&pod.name)?;
        }
        cluster.write_hosts()?;
        Ok(cluster)
    }

    pub fn pods(&self) -> &[PodPlan] {
        &self.pods
    }

    /// The pod named `name`.
    pub fn pod(&self, name: &str) -> Result<&PodPlan> {
        self.pods
            .iter()
            .find(|p| p.name == name)
            .with_context(|| format!("no pod {name} in the rendered StatefulSets"))
    }

    fn pod_dir(&self, pod: &str) -> PathBuf {
        self.state.join("pods").join(pod)
    }
}

fn unique_temp_dir() -> Result<PathBuf> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
    let dir = std::env::temp_dir().join(format!("redis-pods-{}-{nanos}", std::process::id()));
    fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
