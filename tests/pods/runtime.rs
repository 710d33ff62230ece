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
//! If the test process dies without cleaning up, the parent-death signals (test thread →
//! `unshare` → PID 1) take the pods down with it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use super::manifest::{IMAGE_DATA_OWNER, Manifests, PodPlan, Process, Secrets, Source};

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
/// Upper bound of the SIGTERM grace when the cluster is torn down (the pods' own grace
/// periods are sized for a preStop failover, which a teardown does not run).
const TEARDOWN_GRACE: Duration = Duration::from_secs(10);

/// A set of emulated pods from one rendered stream.
pub struct Cluster {
    manifests: Manifests,
    secrets: Secrets,
    pods: Vec<PodPlan>,
    /// Everything the cluster writes on the host lives under here.
    state: PathBuf,
    running: BTreeMap<String, Child>,
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
            _address_lock: address_lock,
        };
        let hosts = cluster.hosts_lines();
        for pod in &cluster.pods {
            let etc = cluster.pod_dir(&pod.name).join("etc");
            fs::create_dir_all(&etc)?;
            let own = format!("{}\t{} {}\n", pod.ip, pod.fqdn, pod.name);
            fs::write(etc.join("hosts"), format!("{hosts}{own}"))?;
            fs::write(etc.join("resolv.conf"), RESOLV_CONF)?;
            fs::write(etc.join("nsswitch.conf"), NSSWITCH_CONF)?;
        }
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

    /// What cluster DNS would answer, as `/etc/hosts` lines: every pod's FQDN and the
    /// shorter forms the pod's DNS search path would complete.
    fn hosts_lines(&self) -> String {
        let mut lines = String::from(
            "# emulated pod: Kubernetes-managed hosts file plus the cluster's pod DNS names\n\
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
        lines
    }

    fn pod_dir(&self, pod: &str) -> PathBuf {
        self.state.join("pods").join(pod)
    }

    fn log_path(&self, pod: &str) -> PathBuf {
        self.pod_dir(pod).join("log")
    }

    /// Start `name`: fresh emptyDirs and ConfigMap files, its PVC as the last run left it,
    /// its init containers to completion, then its container in the background.
    pub fn start(&mut self, name: &str) -> Result<()> {
        if self.running.contains_key(name) {
            bail!("{name} is already running");
        }
        let pod = self.pod(name)?.clone();
        for port in pod.ports() {
            // A listener left over from an earlier run would answer in this pod's place.
            TcpListener::bind((pod.ip, port))
                .with_context(|| format!("{name}: {}:{port} is already in use", pod.ip))?;
        }
        let (init, main) = pod.containers()?;
        let [main] = main.as_slice() else {
            bail!("{name}: only single-container pods are emulated");
        };
        let init = init
            .into_iter()
            .map(|c| pod.process(c, &self.manifests, &self.secrets))
            .collect::<Result<Vec<_>>>()?;
        let main = pod.process(main, &self.manifests, &self.secrets)?;
        for process in init.iter().chain([&main]) {
            self.prepare_volumes(&pod, process)?;
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
    /// files and emptyDirs fresh, the PVC as the pod's last run left it.
    fn prepare_volumes(&self, pod: &PodPlan, process: &Process) -> Result<()> {
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
                Source::EmptyDir { .. } => recreate_dir(&dir, 0o777, fs_group)?,
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
        tail.extend(process.argv.iter().cloned());
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
