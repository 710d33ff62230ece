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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, RwLock};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::rehearse::manifest::{IMAGE_DATA_OWNER, Manifests, PodPlan, Process, Secrets, Source};

/// Host directories the container root shares read-only: the Redis binaries and every
/// tool the scripts call live under `/usr`; `/etc` supplies passwd, ld.so and the like.
const HOST_DIRS: &[&str] = &["usr", "etc"];
/// Top-level names that are symlinks into `/usr` on a merged-/usr host (or directories
/// on an older one).
const HOST_LINKS: &[&str] = &["bin", "lib", "lib64", "sbin"];
/// Device nodes a container runtime provides.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];
/// Files of the pod's own that cover the host's `/etc`.
const POD_ETC: &[&str] = &["hosts", "resolv.conf", "nsswitch.conf"];

/// A resolver that answers nothing: pods resolve only the harness's names (`/etc/hosts`).
/// The machine's resolver is outside what tests may talk to; a port on loopback where no
/// server listens fails every lookup at once instead of timing out.
const RESOLV_CONF: &str = "nameserver 127.0.0.255\noptions timeout:1 attempts:1\n";
const NSSWITCH_CONF: &str = "passwd: files\ngroup: files\nshadow: files\nhosts: files\n";
/// How long an init container may run.
const INIT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a killed pod's processes may take to go.
const REAP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a new pod waits for its ports to be free: a pod that was just stopped on the
/// same address may still be closing them.
const PORT_WAIT: Duration = Duration::from_secs(5);
/// New pod addresses start this far above the first one.
const NEW_IP_OFFSET: u32 = 128;

/// Cluster DNS as a table: name → current address.
pub type Dns = Arc<RwLock<BTreeMap<String, Ipv4Addr>>>;

/// Upper bound of the SIGTERM grace when the cluster is torn down (the pods' own grace
/// periods are sized for a preStop failover, which a teardown does not run).
const TEARDOWN_GRACE: Duration = Duration::from_secs(10);
/// What the kubelet adds once when a preStop hook used up the whole grace period, so that
/// SIGTERM still gets a moment before SIGKILL.
const HOOK_OVERRUN_GRACE: Duration = Duration::from_secs(2);
/// The Redis image's shell is busybox ash; the emulated pods run the scripts with it too, so
/// a dash- or bash-only construct fails here as it would in the cluster.
const BUSYBOX: &str = "/usr/bin/busybox";

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
            let etc = cluster.pod_dir(&pod.name).join("etc");
            fs::create_dir_all(&etc)?;
            fs::write(etc.join("resolv.conf"), RESOLV_CONF)?;
            fs::write(etc.join("nsswitch.conf"), NSSWITCH_CONF)?;
        }
        cluster.write_hosts()?;
        Ok(cluster)
    }

    /// Make `name` resolve to `ip` in every pod, running or not (a Service in front of
    /// something outside the emulation, say).
    pub fn add_host(&mut self, ip: Ipv4Addr, name: &str) -> Result<()> {
        self.extra_hosts.push((ip, name.to_string()));
        self.write_hosts()
    }

    /// Cluster DNS: what every name resolves to now.
    pub fn dns(&self) -> Dns {
        self.dns.clone()
    }

    /// Start `name` as a new pod on a new address, as a deleted pod comes back in
    /// Kubernetes: every pod's `/etc/hosts` (cluster DNS) follows at once, and peers must
    /// find it again by name.
    pub fn start_on_new_ip(&mut self, name: &str) -> Result<()> {
        if self.running.contains_key(name) {
            bail!("{name} is still running");
        }
        let ip = self.next_ip;
        self.next_ip = Ipv4Addr::from(u32::from(ip) + 1);
        // Made from its StatefulSet's template as it is now (after an `apply`, the new one).
        let mut fresh = self
            .manifests
            .pods(ip, &self.cluster_domain)?
            .into_iter()
            .find(|p| p.name == name)
            .with_context(|| format!("no pod {name} in the applied StatefulSets"))?;
        fresh.ip = ip;
        let pod = self
            .pods
            .iter_mut()
            .find(|p| p.name == name)
            .with_context(|| format!("no pod {name}"))?;
        *pod = fresh;
        self.write_hosts()?;
        self.start(name)
    }

    /// Pods whose template differs from their StatefulSet's current one (after an
    /// [`Cluster::apply`]): what a rolling update replaces.
    pub fn outdated(&self) -> Result<Vec<String>> {
        let current = self
            .manifests
            .pods(Ipv4Addr::UNSPECIFIED, &self.cluster_domain)?;
        Ok(self
            .pods
            .iter()
            .filter(|p| {
                current
                    .iter()
                    .any(|c| c.name == p.name && c.revision != p.revision)
            })
            .map(|p| p.name.clone())
            .collect())
    }

    /// Delete `name` as [`Cluster::stop`] does, but in the background, as the API server
    /// answers a delete at once: the returned [`Deletion`] tells when the pod is gone.
    pub fn delete(&mut self, name: &str) -> Result<Deletion> {
        let stopping = self.stopping(name)?;
        Ok(Deletion {
            thread: std::thread::spawn(move || stopping.stop()),
        })
    }

    /// Every pod's `/etc/hosts`. Running pods see the file through a bind mount, which pins
    /// the inode: it is rewritten in place, never replaced by a new file.
    fn write_hosts(&self) -> Result<()> {
        let mut hosts = self.hosts_lines();
        for (ip, name) in &self.extra_hosts {
            let _ = writeln!(hosts, "{ip}\t{name}");
        }
        let mut table = BTreeMap::new();
        for pod in &self.pods {
            for name in pod.short_names.iter().chain([&pod.fqdn, &pod.name]) {
                table.insert(name.clone(), pod.ip);
            }
        }
        for (ip, name) in &self.extra_hosts {
            table.insert(name.clone(), *ip);
        }
        if let Ok(mut dns) = self.dns.write() {
            *dns = table;
        }
        for pod in &self.pods {
            let own = format!("{}\t{} {}\n", pod.ip, pod.fqdn, pod.name);
            let path = self.pod_dir(&pod.name).join("etc").join("hosts");
            let mut file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            file.write_all(format!("{hosts}{own}").as_bytes())?;
        }
        Ok(())
    }

    /// `kubectl apply` of a re-rendered stream: ConfigMaps and pod templates are replaced,
    /// so every pod started from now on uses the new ones, while running pods keep what they
    /// started with until they are restarted (as the StatefulSet controller rolls them).
    /// Pods keep their addresses and volumes; a pod the new stream adds (a StatefulSet
    /// scaled up) gets a new address. A pod the new stream drops must be stopped first.
    pub fn apply(&mut self, manifests: Manifests) -> Result<()> {
        let mut pods = manifests.pods(Ipv4Addr::UNSPECIFIED, &self.cluster_domain)?;
        for name in self.running.keys() {
            if !pods.iter().any(|p| &p.name == name) {
                bail!("{name} is still running but the new stream drops it");
            }
        }
        for pod in &mut pods {
            if let Some(old) = self.pods.iter().find(|p| p.name == pod.name) {
                pod.ip = old.ip;
                // What the pod runs until it starts again: a rolling update replaces exactly
                // the pods whose running revision differs from the template's
                // ([`Cluster::outdated`]).
                pod.revision = old.revision.clone();
            } else {
                pod.ip = self.next_ip;
                self.next_ip = Ipv4Addr::from(u32::from(self.next_ip) + 1);
                let etc = self.pod_dir(&pod.name).join("etc");
                fs::create_dir_all(&etc)?;
                fs::write(etc.join("resolv.conf"), RESOLV_CONF)?;
                fs::write(etc.join("nsswitch.conf"), NSSWITCH_CONF)?;
            }
        }
        self.manifests = manifests;
        self.pods = pods;
        self.write_hosts()
    }

    /// A Secret's value changed: containers started from now on get the new value, running
    /// ones keep the one they started with, as env vars from a Secret do.
    pub fn set_secret(&mut self, name: &str, key: &str, value: &str) {
        self.secrets
            .insert((name.to_string(), key.to_string()), value.to_string());
    }

    /// A Secret's value as pods started now get it.
    pub fn secret(&self, name: &str, key: &str) -> Option<&str> {
        self.secrets
            .get(&(name.to_string(), key.to_string()))
            .map(String::as_str)
    }

    /// Whether Secret `name` exists (has any key).
    pub fn has_secret(&self, name: &str) -> bool {
        self.secrets.keys().any(|(secret, _)| secret == name)
    }

    /// `kubectl delete pvc`: the claim's volume is gone, and a pod that mounts it later starts
    /// with an empty one. Whether it existed; a claim a running pod mounts is refused.
    pub fn delete_claim(&mut self, pvc: &str) -> Result<bool> {
        for pod in &self.pods {
            let mounted = pod
                .claims
                .iter()
                .any(|c| format!("{c}-{}", pod.name) == pvc);
            if mounted && self.running.contains_key(&pod.name) {
                bail!(
                    "persistentvolumeclaim {pvc} is in use by running pod {}",
                    pod.name
                );
            }
        }
        let dir = self.state.join("claims").join(pvc);
        if !relative(pvc).is_ok_and(|p| p.components().count() == 1) || !dir.exists() {
            return Ok(false);
        }
        fs::remove_dir_all(&dir)?;
        Ok(true)
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

    /// What cluster DNS would answer, as `/etc/hosts` lines: every pod's FQDN and the
    /// shorter forms the pod's DNS search path would complete, then every Service's names
    /// with the addresses of the pods it selects.
    fn hosts_lines(&self) -> String {
        let mut lines = String::from(
            "# emulated pod: Kubernetes-managed hosts file plus the cluster's DNS names\n\
             127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
        );
        for pod in &self.pods {
            let _ = writeln!(
                lines,
                "{}\t{} {}",
                pod.ip,
                pod.fqdn,
                pod.short_names.join(" ")
            );
        }
        for (name, ip) in self.service_records() {
            let _ = writeln!(lines, "{ip}\t{name}");
        }
        lines
    }

    /// (name, address) of every Service name for every pod it selects; the short forms
    /// `<svc>.<ns>.svc`, `<svc>.<ns>` and `<svc>` as the search path completes them.
    fn service_records(&self) -> Vec<(String, Ipv4Addr)> {
        let mut records = Vec::new();
        for svc in self.manifests.services() {
            let names = format!(
                "{0}.{1}.svc.{2} {0}.{1}.svc {0}.{1} {0}",
                svc.name, svc.namespace, self.cluster_domain
            );
            for pod in &self.pods {
                let selected = svc
                    .selector
                    .iter()
                    .all(|(k, v)| pod.labels.get(k) == Some(v));
                if selected && pod.namespace == svc.namespace {
                    records.push((names.clone(), pod.ip));
                }
            }
        }
        records
    }

    fn pod_dir(&self, pod: &str) -> PathBuf {
        self.state.join("pods").join(pod)
    }

    fn log_path(&self, pod: &str) -> PathBuf {
        self.pod_dir(pod).join(LOG)
    }

    /// Start `name` as a new pod: fresh emptyDirs and ConfigMap files, its PVC as the last
    /// run left it, its init containers to completion, then its container in the background.
    pub fn start(&mut self, name: &str) -> Result<()> {
        self.start_with(name, true)
    }

    /// Start `name`'s container again in the same pod, as the kubelet restarts a container
    /// that exited: emptyDirs keep their content.
    pub fn restart_container(&mut self, name: &str) -> Result<()> {
        self.start_with(name, false)
    }

    fn start_with(&mut self, name: &str, new_pod: bool) -> Result<()> {
        if self.running.contains_key(name) {
            bail!("{name} is already running");
        }
        // It starts from its StatefulSet's template as applied now: that is its revision.
        let applied = self
            .manifests
            .pods(Ipv4Addr::UNSPECIFIED, &self.cluster_domain)?
            .into_iter()
            .find(|p| p.name == name)
            .map(|p| p.revision);
        if let (Some(revision), Some(pod)) =
            (applied, self.pods.iter_mut().find(|p| p.name == name))
        {
            pod.revision = revision;
        }
        let pod = self.pod(name)?.clone();
        for port in pod.ports() {
            // A listener left over from an earlier run would answer in this pod's place.
            let deadline = Instant::now() + PORT_WAIT;
            while let Err(e) = TcpListener::bind((pod.ip, port)) {
                if Instant::now() >= deadline {
                    bail!("{name}: {}:{port} is already in use: {e}", pod.ip);
                }
                sleep(Duration::from_millis(50));
            }
        }
        let (init, main) = pod.containers()?;
        let init = init
            .into_iter()
            .map(|c| pod.process(c, &self.manifests, &self.secrets))
            .collect::<Result<Vec<_>>>()?;
        let main = pod.process(main, &self.manifests, &self.secrets)?;
        for process in init.iter().chain([&main]) {
            self.prepare_volumes(&pod, process, new_pod)?;
        }
        for process in &init {
            let mut child = self.launch(&pod, process, &[])?;
            let status = wait_until(&mut child, Instant::now() + INIT_TIMEOUT)?;
            if !status.is_some_and(|s| s.success()) {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "{name}: init container {} failed ({status:?}):\n{}",
                    process.container,
                    self.log(name)
                );
            }
        }
        // Pods share the host's network namespace here, so each must listen on, and
        // connect from, its own address; the start scripts pass extra args on to Redis.
        let ip = pod.ip.to_string();
        let extra = ["--bind", &ip, "--bind-source-addr", &ip].map(String::from);
        let child = self.launch(&pod, &main, &extra)?;
        self.running.insert(name.to_string(), child);
        Ok(())
    }

    /// Pods whose container has exited (Kubernetes would restart them; here that is a
    /// failure to report), with their exit status.
    pub fn exited(&mut self) -> Vec<(String, ExitStatus)> {
        self.running
            .iter_mut()
            .filter_map(|(name, child)| Some((name.clone(), child.try_wait().ok()??)))
            .collect()
    }

    /// Everything pod `name`'s containers wrote to stdout and stderr, like `kubectl logs`.
    pub fn log(&self, name: &str) -> String {
        fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    /// The last `lines` lines of every pod's log, for a failure report.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        for pod in &self.pods {
            let log = self.log(&pod.name);
            let all: Vec<&str> = log.lines().collect();
            let _ = writeln!(out, "----- {} ({}) -----", pod.name, pod.ip);
            for line in &all[all.len().saturating_sub(lines)..] {
                let _ = writeln!(out, "{line}");
            }
        }
        out
    }

    /// Host directory behind a volume of `pod`.
    fn volume_dir(&self, pod: &PodPlan, source: &Source) -> PathBuf {
        let dir = self.pod_dir(&pod.name);
        match source {
            Source::ConfigMap { volume, .. } => dir.join("configmaps").join(volume),
            Source::EmptyDir { volume } => dir.join("emptydirs").join(volume),
            Source::Claim { claim } => self
                .state
                .join("claims")
                .join(format!("{claim}-{}", pod.name)),
        }
    }

    /// Prepare the volumes `process` mounts as the kubelet does at pod start: ConfigMap
    /// files fresh, emptyDirs fresh for a new pod (kept across a container restart), the
    /// PVC as the pod's last run left it.
    fn prepare_volumes(&self, pod: &PodPlan, process: &Process, new_pod: bool) -> Result<()> {
        let fs_group = pod.spec.security_context.as_ref().and_then(|s| s.fs_group);
        let fs_group = fs_group.map(u32::try_from).transpose().context("fsGroup")?;
        for mount in &process.mounts {
            let dir = self.volume_dir(pod, &mount.source);
            match &mount.source {
                Source::ConfigMap { files, .. } => {
                    recreate_dir(&dir, 0o755, None)?;
                    for (path, content, mode) in files {
                        let file = dir.join(relative(path)?);
                        if let Some(parent) = file.parent() {
                            fs::create_dir_all(parent)?;
                        }
                        fs::write(&file, content)?;
                        fs::set_permissions(&file, fs::Permissions::from_mode(*mode))?;
                        std::os::unix::fs::chown(&file, None, fs_group)?;
                    }
                }
                Source::EmptyDir { .. } if new_pod || !dir.exists() => {
                    recreate_dir(&dir, 0o777, fs_group)?;
                }
                Source::EmptyDir { .. } => {}
                Source::Claim { .. } if dir.exists() => {}
                Source::Claim { .. } => recreate_dir(&dir, 0o755, fs_group)?,
            }
        }
        Ok(())
    }

    /// Write `process`'s launcher and start it; its volumes are already prepared.
    fn launch(&self, pod: &PodPlan, process: &Process, extra_args: &[String]) -> Result<Child> {
        let dir = self.pod_dir(&pod.name);
        let mut binds: Vec<(String, PathBuf, bool)> = process
            .mounts
            .iter()
            .map(|m| {
                // The kubelet always mounts ConfigMap volumes read-only.
                let forced = matches!(m.source, Source::ConfigMap { .. });
                (
                    m.path.clone(),
                    self.volume_dir(pod, &m.source),
                    m.read_only || forced,
                )
            })
            .collect();
        // Parents before children, as the kubelet orders nested mounts.
        binds.sort_by(|a, b| a.0.cmp(&b.0));

        let root = dir.join("root");
        fs::create_dir_all(&root)?;
        let script = dir.join(format!("{}.sh", process.container));
        fs::write(
            &script,
            launcher(pod, process, &root, &dir.join("etc"), &binds)?,
        )?;

        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(&pod.name))?;
        writeln!(
            log,
            "===== {} container {} starting =====",
            pod.name, process.container
        )?;
        let mut tail = in_container(process, &process.argv);
        tail.extend(extra_args.iter().cloned());

        Command::new("setpriv")
            .args([
                "--pdeathsig=KILL",
                "--",
                "unshare",
                "--mount",
                "--uts",
                "--pid",
                "--fork",
            ])
            .args(["--kill-child", "--", "/bin/sh"])
            .arg(&script)
            .args(&tail)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("{}: cannot start setpriv/unshare", pod.name))
    }

    /// Whether `name`'s container is running (started and not stopped or exited).
    pub fn is_running(&mut self, name: &str) -> bool {
        self.running
            .get_mut(name)
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// SIGKILL to `name`'s PID 1, as a crashed node or an OOM kill ends a container: no
    /// preStop, no grace. Returns once the pod's processes are gone.
    pub fn kill(&mut self, name: &str) -> Result<()> {
        let mut child = self
            .running
            .remove(name)
            .with_context(|| format!("{name} is not running"))?;
        if let Some(pid) = pid1(&child) {
            signal(pid, "KILL");
        }
        reap(&mut child);
        self.note(name, "killed (SIGKILL)");
        Ok(())
    }

    /// Stop `name` as `kubectl delete pod` does: its preStop hook, then SIGTERM, then
    /// SIGKILL when the termination grace period (counted from the start of the hook) ends.
    pub fn stop(&mut self, name: &str) -> Result<()> {
        self.stop_many(&[name.to_string()])
    }

    /// Stop every pod of `names` at once, each as [`Cluster::stop`] does (a namespace
    /// deleted, a node drained): the hooks run side by side, and each pod gets its SIGTERM
    /// when its own hook is done.
    pub fn stop_many(&mut self, names: &[String]) -> Result<()> {
        let stopping = names
            .iter()
            .map(|name| self.stopping(name))
            .collect::<Result<Vec<_>>>()?;
        std::thread::scope(|scope| {
            for pod in stopping {
                scope.spawn(move || pod.stop());
            }
        });
        Ok(())
    }

    /// Take `name` out of the running pods, with everything its stop needs.
    fn stopping(&mut self, name: &str) -> Result<Stopping> {
        let pod = self.pod(name)?.clone();
        let hook = self.pre_stop(&pod)?;
        let (_, main) = pod.containers()?;
        let process = pod.process(main, &self.manifests, &self.secrets)?;
        let child = self
            .running
            .remove(name)
            .with_context(|| format!("{name} is not running"))?;
        Ok(Stopping {
            dir: self.pod_dir(name),
            pod,
            process,
            hook,
            child,
        })
    }

    /// The container's `lifecycle.preStop.exec` command, if it has one.
    fn pre_stop(&self, pod: &PodPlan) -> Result<Option<Vec<String>>> {
        let (_, main) = pod.containers()?;
        let Some(handler) = main.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) else {
            return Ok(None);
        };
        if handler.http_get.is_some() || handler.tcp_socket.is_some() || handler.sleep.is_some() {
            bail!("{}: only exec preStop hooks are emulated", pod.name);
        }
        Ok(handler.exec.as_ref().and_then(|e| e.command.clone()))
    }

    /// PID 1 and the main container's process of running pod `name`: what an exec enters.
    fn running_main(&self, name: &str) -> Result<(u32, Process)> {
        let pod = self.pod(name)?;
        let child = self
            .running
            .get(name)
            .with_context(|| format!("{name} is not running"))?;
        let pid = pid1(child).with_context(|| format!("{name} has no PID 1"))?;
        let (_, main) = pod.containers()?;
        Ok((pid, pod.process(main, &self.manifests, &self.secrets)?))
    }

    /// Run `argv` inside running pod `name` as `kubectl exec` does: the container's
    /// namespaces, root, env, user and working directory. Its success and combined output.
    pub fn exec(&self, name: &str, argv: &[String], timeout: Duration) -> Result<(bool, String)> {
        let (pid, process) = self.running_main(name)?;
        exec_in(
            &self.pod_dir(name),
            &process,
            pid,
            argv,
            Instant::now() + timeout,
        )
    }

    /// The command line that `kubectl exec <name> -- argv` stands for here (the container's
    /// namespaces, root, env, user and working directory), for a script to run itself: the
    /// hooks of `migrate.sh`. Valid while the pod's current container runs.
    pub fn exec_command(&self, name: &str, argv: &[String]) -> Result<Vec<String>> {
        let (pid, process) = self.running_main(name)?;
        let mut command: Vec<String> = [
            "nsenter",
            "-t",
            &pid.to_string(),
            "-m",
            "-u",
            "-p",
            "-r",
            "-w",
            "--",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        command.extend(in_container(&process, argv));
        Ok(command)
    }

    /// A line in `name`'s log marking what the harness did to it.
    fn note(&self, name: &str, what: &str) {
        note(&self.pod_dir(name), name, what);
    }

    /// SIGTERM to every pod's PID 1, a grace period, then SIGKILL for what remains.
    fn stop_all(&mut self) {
        let grace = self
            .pods
            .iter()
            .map(|p| p.grace().min(TEARDOWN_GRACE))
            .max()
            .unwrap_or_default();
        for child in self.running.values() {
            if let Some(pid) = pid1(child) {
                signal(pid, "TERM");
            }
        }
        let deadline = Instant::now() + grace;
        for (name, child) in &mut self.running {
            if !matches!(wait_until(child, deadline), Ok(Some(_))) {
                eprintln!("{name} ignored SIGTERM for {grace:?}; killing it");
                if let Some(pid) = pid1(child) {
                    signal(pid, "KILL");
                }
                // `--kill-child` takes PID 1 down with `unshare` if it is still there.
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        self.running.clear();
    }
}

/// A pod being deleted in the background ([`Cluster::delete`]).
pub struct Deletion {
    thread: std::thread::JoinHandle<()>,
}

impl Deletion {
    /// Whether the pod's processes are gone.
    pub fn is_done(&self) -> bool {
        self.thread.is_finished()
    }

    /// Wait until the pod's processes are gone.
    pub fn wait(self) {
        let _ = self.thread.join();
    }
}

/// A pod on its way out, owning everything its stop needs, so that the stop can run on a
/// thread of its own while the rest of the cluster goes on.
struct Stopping {
    dir: PathBuf,
    pod: PodPlan,
    process: Process,
    hook: Option<Vec<String>>,
    child: Child,
}

impl Stopping {
    /// The kubelet's stop: the preStop hook, SIGTERM, and SIGKILL when the grace period
    /// (counted from the start of the hook) is over.
    fn stop(mut self) {
        let name = &self.pod.name;
        let deadline = Instant::now() + self.pod.grace();
        let pid = pid1(&self.child);
        if let (Some(argv), Some(pid)) = (&self.hook, pid) {
            note(&self.dir, name, &format!("preStop {}", argv.join(" ")));
            match exec_in(&self.dir, &self.process, pid, argv, deadline) {
                Ok((true, _)) => {}
                Ok((false, out)) => note(&self.dir, name, &format!("preStop failed: {out}")),
                Err(e) => note(&self.dir, name, &format!("preStop: {e:#}")),
            }
        }
        note(&self.dir, name, "SIGTERM");
        if let Some(pid) = pid {
            signal(pid, "TERM");
        }
        let deadline = deadline.max(Instant::now() + HOOK_OVERRUN_GRACE);
        if !matches!(wait_until(&mut self.child, deadline), Ok(Some(_))) {
            note(&self.dir, name, "grace period over; SIGKILL");
            if let Some(pid) = pid1(&self.child) {
                signal(pid, "KILL");
            }
            reap(&mut self.child);
        }
    }
}

/// Run `argv` in the container of `process` whose PID 1 is `pid` until `deadline`; `dir` is
/// the pod's directory (its log and scratch files).
fn exec_in(
    dir: &Path,
    process: &Process,
    pid: u32,
    argv: &[String],
    deadline: Instant,
) -> Result<(bool, String)> {
    let out_path = dir.join(format!(
        "exec-{}.out",
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos()
    ));
    let out = File::create(&out_path)?;
    let mut exec = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-m", "-u", "-p", "-r", "-w", "--"])
        .args(in_container(process, argv))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .context("cannot run nsenter")?;
    let status = wait_until(&mut exec, deadline)?;
    if status.is_none() {
        let _ = exec.kill();
        let _ = exec.wait();
    }
    let output = fs::read_to_string(&out_path).unwrap_or_default();
    let _ = fs::remove_file(&out_path);
    // The hook's output belongs in the pod's log too (the kubelet reports it as an event).
    if let Ok(mut log) = OpenOptions::new().append(true).open(dir.join(LOG)) {
        let _ = log.write_all(output.as_bytes());
    }
    Ok((status.is_some_and(|s| s.success()), output))
}

/// A line in the log of pod `name` (directory `dir`) marking what the harness did to it.
fn note(dir: &Path, name: &str, what: &str) {
    if let Ok(mut log) = OpenOptions::new().append(true).open(dir.join(LOG)) {
        let _ = writeln!(log, "===== {name}: {what} =====");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_all();
        if let Err(e) = fs::remove_dir_all(&self.state) {
            eprintln!("cannot remove {}: {e}", self.state.display());
        }
    }
}

/// The launcher: builds the container root in the new mount namespace and execs the
/// container (its remaining arguments) chrooted into it.
fn launcher(
    pod: &PodPlan,
    process: &Process,
    root: &Path,
    pod_etc: &Path,
    binds: &[(String, PathBuf, bool)],
) -> Result<String> {
    let r = |p: &str| q(&root.join(p.trim_start_matches('/')));
    let mut s = format!(
        "#!/bin/sh\n\
         # Emulated pod {pod} container {c}: assemble the container's filesystem in this\n\
         # mount namespace, then become the container (PID 1 of the pod's PID namespace).\n\
         set -eu\n\
         mount -t tmpfs -o mode=0755 rootfs {root}\n",
        pod = pod.name,
        c = process.container,
        root = q(root),
    );
    for dir in HOST_DIRS {
        let _ = writeln!(s, "mkdir {0}\nmount -o bind,ro /{dir} {0}", r(dir));
    }
    // busybox decides what to be from argv[0]: mounted over `sh`, it is the image's ash.
    let _ = writeln!(s, "mount -o bind,ro {BUSYBOX} {}", r("usr/bin/sh"));
    for name in HOST_LINKS {
        let host = Path::new("/").join(name);
        match fs::read_link(&host) {
            Ok(target) => {
                let _ = writeln!(s, "ln -s {} {}", q(&target), r(name));
            }
            Err(_) if host.is_dir() => {
                let _ = writeln!(s, "mkdir {0}\nmount -o bind,ro {1} {0}", r(name), q(&host));
            }
            Err(_) => {}
        }
    }
    for file in POD_ETC {
        let _ = writeln!(
            s,
            "mount -o bind,ro {} {}",
            q(&pod_etc.join(file)),
            r(&format!("etc/{file}"))
        );
    }
    let _ = writeln!(
        s,
        "mkdir {0}\nmount -t tmpfs -o mode=0755 dev {0}",
        r("dev")
    );
    for dev in DEVICES {
        let _ = writeln!(
            s,
            "touch {0}\nmount -o bind /dev/{dev} {0}",
            r(&format!("dev/{dev}"))
        );
    }
    let _ = writeln!(s, "mkdir {0}\nmount -t proc proc {0}", r("proc"));
    // The image's own directories.
    let (data_uid, data_gid) = IMAGE_DATA_OWNER;
    let _ = writeln!(s, "mkdir -m 1777 {}", r("tmp"));
    let _ = writeln!(s, "mkdir {0}\nchown {data_uid}:{data_gid} {0}", r("data"));
    for (path, source, read_only) in binds {
        let inside = Path::new(path);
        let first = inside.components().nth(1);
        let host_backed = matches!(first, Some(Component::Normal(c)) if ["usr", "etc", "dev", "proc"].map(std::ffi::OsStr::new).contains(&c));
        if !inside.is_absolute()
            || host_backed
            || inside.components().any(|c| c == Component::ParentDir)
        {
            bail!("{}: mountPath {path} cannot be emulated", pod.name);
        }
        let opts = if *read_only { "bind,ro" } else { "bind" };
        let _ = writeln!(
            s,
            "mkdir -p {0}\nmount -o {opts} {1} {0}",
            r(path),
            q(source)
        );
    }
    if process.read_only_root {
        let _ = writeln!(s, "mount -o remount,ro {}", q(root));
    }
    let _ = writeln!(s, "hostname {}", q(Path::new(&pod.name)));
    let _ = writeln!(s, "exec chroot {} \"$@\"", q(root));
    Ok(s)
}

/// `argv` as the container runs it, from inside the pod's root: a clean env, the working
/// directory, then the container's user and groups.
fn in_container(process: &Process, argv: &[String]) -> Vec<String> {
    let mut tail: Vec<String> = vec!["/usr/bin/env".into(), "-i".into(), "-C".into()];
    tail.push(process.workdir.clone());
    tail.extend(process.env.iter().map(|(k, v)| format!("{k}={v}")));
    tail.extend([
        "/usr/bin/setpriv".to_string(),
        format!("--reuid={}", process.uid),
        format!("--regid={}", process.gid),
    ]);
    tail.push(if process.groups.is_empty() {
        "--clear-groups".into()
    } else {
        let list: Vec<String> = process.groups.iter().map(u32::to_string).collect();
        format!("--groups={}", list.join(","))
    });
    // Changing uid clears the parent-death signal; keep it so PID 1 still dies with
    // `unshare`.
    tail.extend(["--pdeathsig=keep".into(), "--".into()]);
    tail.extend(argv.iter().cloned());
    tail
}

/// `path` quoted for `sh`.
fn q(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// A ConfigMap item path must stay inside its volume.
fn relative(path: &str) -> Result<&Path> {
    let p = Path::new(path);
    if p.components().all(|c| matches!(c, Component::Normal(_))) {
        Ok(p)
    } else {
        bail!("ConfigMap item path {path} leaves its volume")
    }
}

/// Remove and recreate `dir` with `mode`, group-owned by `fs_group` (setgid) when set, as the
/// kubelet prepares volumes for a pod with an `fsGroup`.
fn recreate_dir(dir: &Path, mode: u32, fs_group: Option<u32>) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    let mode = if fs_group.is_some() {
        mode | 0o2070
    } else {
        mode
    };
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))?;
    std::os::unix::fs::chown(dir, None, fs_group)?;
    Ok(())
}

fn unique_temp_dir() -> Result<PathBuf> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
    let dir = std::env::temp_dir().join(format!("redis-pods-{}-{nanos}", std::process::id()));
    fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Host PID of the pod's PID 1: the only child of its `unshare`.
fn pid1(unshare: &Child) -> Option<u32> {
    let pid = unshare.id();
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Wait for `unshare` to exit after its PID 1 got SIGKILL: it exits once PID 1 is gone,
/// and only then are the pod's sockets closed (killing `unshare` first would return while
/// Redis still holds its port). Killed itself if it does not follow.
fn reap(unshare: &mut Child) {
    if !matches!(
        wait_until(unshare, Instant::now() + REAP_TIMEOUT),
        Ok(Some(_))
    ) {
        let _ = unshare.kill();
        let _ = unshare.wait();
    }
}

/// Wait for `child` until `deadline`: its status, or `None` if it is still running.
fn wait_until(child: &mut Child, deadline: Instant) -> Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        sleep(Duration::from_millis(50));
    }
}
