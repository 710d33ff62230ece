//! Processes of running pods: `kubectl exec` and its command line, logs, signals to PID 1,
//! and waiting for a process with a deadline.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use super::launcher::in_container;
use super::{Cluster, LOG};
use crate::rehearse::manifest::Process;

/// How long a killed pod's processes may take to go.
const REAP_TIMEOUT: Duration = Duration::from_secs(10);

impl Cluster {
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
    pub(super) fn note(&self, name: &str, what: &str) {
        note(&self.pod_dir(name), name, what);
    }

    /// Everything pod `name`'s containers wrote to stdout and stderr, like `kubectl logs`.
    pub fn log(&self, name: &str) -> String {
        fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    /// What the hooks and execs running in pod `name` have printed so far: their output
    /// joins the pod's log only when they end.
    pub fn exec_output(&self, name: &str) -> String {
        let Ok(entries) = fs::read_dir(self.pod_dir(name)) else {
            return String::new();
        };
        let mut outputs: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("exec-") && n.ends_with(".out"))
            })
            .collect();
        outputs.sort();
        outputs
            .iter()
            .map(|p| fs::read_to_string(p).unwrap_or_default())
            .collect()
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

    pub(super) fn log_path(&self, pod: &str) -> PathBuf {
        self.pod_dir(pod).join(LOG)
    }
}

/// Run `argv` in the container of `process` whose PID 1 is `pid` until `deadline`; `dir` is
/// the pod's directory (its log and scratch files).
pub(super) fn exec_in(
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
pub(super) fn note(dir: &Path, name: &str, what: &str) {
    if let Ok(mut log) = OpenOptions::new().append(true).open(dir.join(LOG)) {
        let _ = writeln!(log, "===== {name}: {what} =====");
    }
}

/// Host PID of the pod's PID 1: the only child of its `unshare`.
pub(super) fn pid1(unshare: &Child) -> Option<u32> {
    let pid = unshare.id();
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub(super) fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Wait for `unshare` to exit after its PID 1 got SIGKILL: it exits once PID 1 is gone,
/// and only then are the pod's sockets closed (killing `unshare` first would return while
/// Redis still holds its port). Killed itself if it does not follow.
pub(super) fn reap(unshare: &mut Child) {
    if !matches!(
        wait_until(unshare, Instant::now() + REAP_TIMEOUT),
        Ok(Some(_))
    ) {
        let _ = unshare.kill();
        let _ = unshare.wait();
    }
}

/// Wait for `child` until `deadline`: its status, or `None` if it is still running.
pub(super) fn wait_until(child: &mut Child, deadline: Instant) -> Result<Option<ExitStatus>> {
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
