//! Pods starting and stopping as the kubelet and the StatefulSet controller run them:
//! init containers, restarts, new addresses, rolling updates (`apply`), deletes with their
//! preStop hooks and grace periods, kills, and the teardown.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, ExitStatus};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::Cluster;
use super::process::{exec_in, note, pid1, reap, signal, wait_until};
use crate::rehearse::manifest::{Manifests, PodPlan, Process};

/// How long an init container may run.
const INIT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a new pod waits for its ports to be free: a pod that was just stopped on the
/// same address may still be closing them.
const PORT_WAIT: Duration = Duration::from_secs(5);
/// Upper bound of the SIGTERM grace when the cluster is torn down (the pods' own grace
/// periods are sized for a preStop failover, which a teardown does not run).
const TEARDOWN_GRACE: Duration = Duration::from_secs(10);
/// What the kubelet adds once when a preStop hook used up the whole grace period, so that
/// SIGTERM still gets a moment before SIGKILL.
const HOOK_OVERRUN_GRACE: Duration = Duration::from_secs(2);

impl Cluster {
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
                self.write_resolver(&pod.name)?;
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

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_all();
        if let Err(e) = fs::remove_dir_all(&self.state) {
            eprintln!("cannot remove {}: {e}", self.state.display());
        }
    }
}
