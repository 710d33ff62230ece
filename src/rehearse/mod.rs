//! `rehearse`: the rendered deployment run on the real Redis binaries and put through the
//! failure scenarios of the runbook, with numbers (DESIGN §5).
//!
//! A pod here is what it is to Redis: a process with its own loopback address, a hostname,
//! a private `/etc/hosts` naming every pod, its env, its volumes at their `mountPath`s and the
//! container's own `command`/`args`. Each pod gets mount, UTS and PID namespaces of its own
//! (`unshare`), so container paths such as `/config` or `/data` exist only inside it; the
//! network namespace is shared, which is why every main container is told to bind its own
//! address (`cluster`).
//!
//! - `manifest`: the rendered YAML stream → one plan per pod (pure, no side effects);
//! - `cluster`: a [`Cluster`] that starts, stops (preStop, SIGTERM, grace) and kills those
//!   plans, and always cleans up (DNS, volumes, the launcher, lifecycle, processes);
//! - `resp`, `client`: a RESP connection and the bot-like writing client;
//! - `rig`, `scenario`, `report`: the deployment's health, the scenarios, the verdicts;
//! - `migration`: the migration from a single Redis, phases and `migrate.sh`, with clients
//!   switching over (`rehearse --migration`).

pub mod change;
pub mod client;
pub mod cluster;
pub mod manifest;
pub mod migration;
pub mod report;
pub mod resp;
pub mod rig;
pub mod rollout;
pub mod saving;
pub mod scenario;
pub mod svg;
pub mod watch;

use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub use cluster::Cluster;
pub use manifest::{Manifests, Secrets};
pub use report::Report;

use crate::resolve::Deployment;
use client::ClientEnv;
use report::{Bounds, Row};
use rig::Rig;
use scenario::{Kind, Ledger};

/// The Secret's value in the rehearsal. Awkward on purpose: a space, both quotes and a `$`
/// break any script or config file (or a Sentinel's saved state) that handles the password
/// without quoting it properly.
pub const PASSWORD: &str = "rehearse \"pa ss' $word";
/// First pod address; the pods take consecutive addresses from here.
pub const DEFAULT_FIRST_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 2, 1);
/// From the first start to a deployment that agrees on its master.
const FIRST_START: Duration = Duration::from_secs(90);
/// Tools the emulation runs on the host.
const TOOLS: &[&str] = &[
    "unshare",
    "setpriv",
    "nsenter",
    "busybox",
    "redis-server",
    "redis-sentinel",
];

/// How to rehearse.
#[derive(Debug, Clone)]
pub struct Options {
    pub first_ip: Ipv4Addr,
    /// Runs of the master-kill scenario; their median is held to the bound.
    pub kill_runs: usize,
    /// Run only these scenarios (in the usual order); every one when empty.
    pub only: Vec<Kind>,
}

/// Why the rehearsal cannot run here, if it cannot.
pub fn missing_prerequisites() -> Option<String> {
    if !std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        return Some(
            "the rehearsal needs root (mount, UTS and PID namespaces, bind mounts)".into(),
        );
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "missing on PATH: {} (Debian: apt-get install redis-server redis-sentinel busybox util-linux)",
            missing.join(", ")
        )
    })
}

/// Run every scenario against `rendered` (the `redis-sentinel.yaml` of `dep`), reporting
/// progress as it goes.
pub fn rehearse(
    dep: &Deployment,
    rendered: &str,
    opts: &Options,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    if let Some(why) = missing_prerequisites() {
        bail!("{why}");
    }
    let password = dep.auth.as_ref().map(|_| PASSWORD.to_string());
    let secrets: Secrets = dep
        .auth
        .iter()
        .map(|s| ((s.name.clone(), s.key.clone()), PASSWORD.to_string()))
        .collect();
    let cluster = Cluster::new(
        Manifests::parse(rendered)?,
        secrets,
        opts.first_ip,
        &dep.cluster_domain,
    )?;
    // Counted from here: waiting for another rehearsal on the same addresses is not ours.
    let started = Instant::now();
    let quorum = usize::try_from(dep.sentinel.quorum)?;
    let mut rig = Rig::new(cluster, dep.master_name.clone(), password.clone(), quorum)?;
    rig.changes = rollout::Changes::of(dep)?;
    let env = ClientEnv::of(dep, password.as_deref())?;
    let bounds = Bounds::for_timings(
        dep.sentinel.down_after_milliseconds,
        dep.redis.min_replicas_max_lag,
    );
    let pods: Vec<String> = rig.cluster.pods().iter().map(|p| p.name.clone()).collect();
    let mut not_emulated: Vec<String> = rig
        .cluster
        .pods()
        .iter()
        .flat_map(|p| p.sidecars())
        .collect();
    not_emulated.sort();
    not_emulated.dedup();
    progress(&format!(
        "starting {} pods from {} ({} and up)",
        pods.len(),
        dep.instance,
        opts.first_ip
    ));
    for pod in &pods {
        rig.cluster.start(pod)?;
    }
    let master = rig.wait_agreement(FIRST_START).with_context(|| {
        format!(
            "the deployment did not come up:\n{}",
            rig.cluster.log_tails(20)
        )
    })?;
    progress(&format!(
        "up: {master} is master ({:.1} s)",
        started.elapsed().as_secs_f64()
    ));

    let plan: Vec<Kind> = Kind::ALL
        .iter()
        .copied()
        .filter(|k| opts.only.is_empty() || opts.only.contains(k))
        .flat_map(|k| {
            let runs = if k == Kind::MasterKilled {
                opts.kill_runs
            } else {
                1
            };
            std::iter::repeat_n(k, runs)
        })
        .collect();
    let mut rows = Vec::new();
    let mut ledger = Ledger::new();
    for (round, kind) in plan.into_iter().enumerate() {
        progress(&format!("{} …", kind.title()));
        let measured = match scenario::run(&mut rig, &env, kind, round, &mut ledger) {
            Ok(m) => m,
            Err(e) => {
                progress(&format!(
                    "{}: {e:#}; stopping the rehearsal\n{}",
                    kind.title(),
                    rig.cluster.log_tails(30)
                ));
                return Err(e.context(format!("scenario {}", kind.title())));
            }
        };
        let missed = report::judge(&measured, &bounds);
        if (kind.rollout()
            || kind == Kind::MasterStoppedSaving
            || kind == Kind::StoppingReplicaPromoted)
            && let Some(timeline) = &measured.timeline
        {
            for (t, what) in timeline.story() {
                progress(&format!("  {} {what}", report::secs(t)));
            }
        }
        progress(&format!(
            "{}: new master {}, writes back {}, longest gap {} (bot {}), {} acknowledged, \
             {} lost{}{}{}",
            kind.title(),
            measured.new_master_after.map_or("-".into(), report::secs),
            measured.writes_back_after.map_or("-".into(), report::secs),
            report::secs(measured.longest_gap),
            report::secs(measured.bot_gap),
            measured.acked,
            measured.lost,
            measured
                .loss_window
                .map_or(String::new(), |w| format!(" over {}", report::secs(w))),
            measured.direct_acked.map_or(String::new(), |n| format!(
                ", {n} direct writes acknowledged"
            )),
            if missed.is_empty() {
                String::new()
            } else {
                format!(
                    " — FAILED: {}\n{}",
                    missed.join("; "),
                    rig.cluster.log_tails(30)
                )
            }
        ));
        rows.push(Row { measured, missed });
    }
    let (kill_median, mut missed) = report::kill_median(&rows, &bounds);
    if !opts.only.is_empty() && kill_median.is_none() {
        // No kill scenario was asked for, so there is no median to hold to its bound.
        missed.clear();
    }
    Ok(Report {
        profile: format!("profile `{}`", dep.instance),
        pods: pods.len(),
        not_emulated,
        down_after_ms: dep.sentinel.down_after_milliseconds,
        bounds,
        rows,
        kill_median,
        missed,
        elapsed: started.elapsed(),
    })
}
