//! `rehearse --from OLD [NEW] [--then NEW2]…`: a running deployment changed the way it
//! will be changed in the cluster (issue 10). OLD runs on emulated pods; each next profile is
//! then applied as Kubernetes applies it (changed ConfigMaps, StatefulSets scaled and their
//! outdated pods rolled by their controllers) with `plan`'s manual steps around the apply,
//! run exactly as `plan` prints them, in one shell session, through a `kubectl` stand-in
//! ([`kubectl`], [`terminal`]). A default-configured client writes all along; each step is
//! held to the bounds of [`report`].
//!
//! Here: the sequence and the state it keeps between steps. One step runs in `step`, the
//! stand-in's calls are answered in `serve`, and what a step measures is in `measure`.

pub mod kubectl;
mod measure;
pub mod report;
mod serve;
mod step;
pub mod terminal;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::client::{Ack, ClientEnv, Writer};
use super::cluster::Cluster;
use super::manifest::Manifests;
use super::rig::Rig;
use super::rollout::Events;
use super::watch::{Passwords, Watcher};
use crate::plan::{self, Plan, Verdict};
use crate::resolve::Deployment;
use report::Report;

/// From the first start to a deployment that agrees on its master.
const FIRST_START: Duration = Duration::from_secs(90);
/// Writes before a step begins, so the client is known to work.
const BASELINE: Duration = Duration::from_secs(1);
/// Writes after the deployment agrees again, so a late loss would show.
const TAIL: Duration = Duration::from_secs(1);
/// How long the first profile runs untouched when there is no change to rehearse.
const IDLE: Duration = Duration::from_secs(3);
/// From the last manual step to a deployment that agrees on its master.
const SETTLE: Duration = Duration::from_secs(120);
/// How long one printed command line may run (a reset step waits for Sentinel discovery).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the StatefulSet controllers may take for one apply.
const ROLLOUT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long every Sentinel may take to report the new settings and counts (hellos every
/// 2 s, INFO every 10 s).
const SETTINGS_WAIT: Duration = Duration::from_secs(30);
/// How long a restarted client may take to acknowledge its first write.
const CLIENT_START: Duration = Duration::from_secs(10);

/// One profile of the sequence, validated and rendered.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The profile as named on the command line.
    pub name: String,
    pub dep: Deployment,
    /// Its `redis-sentinel.yaml`.
    pub rendered: String,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub first_ip: Ipv4Addr,
}

/// Run `stages[0]`, then change it into each following stage in turn.
pub fn rehearse(
    stages: &[Stage],
    opts: &Options,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    if let Some(why) = super::missing_prerequisites() {
        bail!("{why}");
    }
    let first = stages.first().context("no profile to rehearse")?;
    // Every plan first: a change that cannot be rehearsed is refused before anything runs.
    let mut plans = Vec::new();
    for pair in stages.windows(2) {
        let plan = plan::plan(&pair[0].rendered, &pair[1].rendered)?;
        rehearsable(&plan, &pair[0].name, &pair[1].name)?;
        plans.push(plan);
    }
    let secrets = first
        .dep
        .auth
        .iter()
        .map(|s| ((s.name.clone(), s.key.clone()), super::PASSWORD.to_string()))
        .collect();
    let cluster = Cluster::new(
        Manifests::parse(&first.rendered)?,
        secrets,
        opts.first_ip,
        &first.dep.cluster_domain,
    )?;
    let started = Instant::now();
    let password = first.dep.auth.as_ref().map(|_| super::PASSWORD.to_string());
    let mut rig = Rig::new(
        cluster,
        first.dep.master_name.clone(),
        password.clone(),
        usize::try_from(first.dep.sentinel.quorum)?,
    )?;
    let pods = rig.cluster.pods().len();
    progress(&format!(
        "starting {pods} pods from {} ({} and up)",
        first.name, opts.first_ip
    ));
    for pod in rig
        .cluster
        .pods()
        .iter()
        .map(|p| p.name.clone())
        .collect::<Vec<_>>()
    {
        rig.cluster.start(&pod)?;
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
    let work = unique_dir()?;
    let mut run = Run {
        rig,
        client_env: ClientEnv::of(&first.dep, password.as_deref())?,
        work: work.clone(),
    };
    let mut steps = Vec::new();
    let result = (|| -> Result<()> {
        if stages.len() == 1 {
            steps.push(run.idle(first, progress)?);
        }
        for (i, (pair, plan)) in stages.windows(2).zip(&plans).enumerate() {
            let step = run.step(i + 1, &pair[0], &pair[1], plan, progress)?;
            let failed = !step.missed.is_empty();
            steps.push(step);
            if failed {
                progress(&format!(
                    "a step missed its bounds; the later steps are not rehearsed. The pods' logs \
                     end:\n{}",
                    run.rig.cluster.log_tails(80)
                ));
                break;
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    if let Err(e) = result {
        progress(&format!(
            "stopping the rehearsal: {e:#}\n{}",
            run.rig.cluster.log_tails(30)
        ));
        return Err(e);
    }
    Ok(Report {
        profiles: stages.iter().map(|s| s.name.clone()).collect(),
        steps,
        elapsed: started.elapsed(),
    })
}

/// Refuse a change the emulation cannot stand for.
fn rehearsable(plan: &Plan, old: &str, new: &str) -> Result<()> {
    for change in &plan.changes {
        if change.verdict == Verdict::NewDeployment {
            bail!(
                "{old} → {new}: {} is not possible in place (plan: a new deployment and the \
                 migration path); rehearse that with `rehearse --migration`",
                change.field
            );
        }
        if change.field.contains("storage.size") {
            bail!(
                "{old} → {new}: {} changes volume sizes, which the emulation does not have \
                 (its volumes are directories); only a cluster can rehearse a PVC expansion",
                change.field
            );
        }
    }
    Ok(())
}

/// The running rehearsal between steps.
struct Run {
    rig: Rig,
    /// What the clients run with now (the Secret their Component names).
    client_env: ClientEnv,
    work: PathBuf,
}

/// What one step measures while it runs.
struct Measure {
    watcher: Watcher,
    passwords: Passwords,
    /// The writing client now, and the ones it replaced (a client restarted onto a new
    /// Secret): (key, writer).
    writer: (String, Writer),
    replaced: Vec<(String, Vec<Ack>)>,
    key: String,
    events: Events,
    t0: Instant,
}

fn unique_dir() -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!("rehearse-change-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
