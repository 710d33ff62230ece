//! A changed profile applied to the running deployment, rolled out the way the StatefulSet
//! controllers do it (`updateStrategy: RollingUpdate`, the default): every StatefulSet whose
//! pod template changed is rolled by its own controller, all of them at the same time; each
//! controller deletes its pods from the highest ordinal down, one at a time, recreates each
//! one from the new template once the old one is gone, and moves on only when the new pod
//! is Ready (its rendered readiness probe, run in the pod, succeeds).
//!
//! What the controllers do not know, and neither does this emulation, is which pod is the
//! Redis master: keeping the rollout safe is the pods' own job (their preStop hooks and
//! readiness probes).

use std::collections::VecDeque;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::cluster::{Cluster, Deletion};
use super::manifest::Manifests;
use crate::profile::spec::SavePoint;
use crate::resolve::Deployment;

/// How often a controller's pod is probed for readiness. The rendered `periodSeconds` is
/// longer; probing more often lets the controllers move on sooner than in a cluster, which
/// leaves the pods less time between two deletions, never more.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// How long one readiness probe may run.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the controllers look at their pods.
const TICK: Duration = Duration::from_millis(50);

/// The two profile changes rolled out by the rehearsal, each as the rendered stream of the
/// changed deployment. The second includes the first: they are applied in turn.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// A config change: one more RDB save point, which changes `redis.conf` and with it
    /// the Redis pods' `checksum/config`.
    pub config: String,
    /// Then an image change: the next patch release of the image tag, which changes every
    /// pod template, Sentinels included.
    pub image: String,
}

impl Changes {
    /// Render the changed deployments of `dep`.
    pub fn of(dep: &Deployment) -> Result<Self> {
        let mut changed = dep.clone();
        changed.persistence.rdb.push(SavePoint {
            seconds: 3600,
            changes: 1,
        });
        let config = crate::render::redis_sentinel_yaml(&changed)?;
        changed.image = next_patch(&changed.image);
        let image = crate::render::redis_sentinel_yaml(&changed)?;
        Ok(Changes { config, image })
    }
}

/// `redis:7.2.5-alpine` → `redis:7.2.6-alpine`: the tag's first version number after its
/// last dot goes up by one. An image without such a tag (a digest) gets a `-next` tag.
fn next_patch(image: &str) -> String {
    let name_end = image.rfind('/').map_or(0, |i| i + 1);
    if let Some(colon) = image[name_end..].find(':').map(|i| i + name_end)
        && !image.contains('@')
    {
        let tag = &image[colon + 1..];
        let version_end = tag.find(|c: char| !c.is_ascii_digit() && c != '.');
        let (version, rest) = tag.split_at(version_end.unwrap_or(tag.len()));
        if let Some((head, last)) = version.rsplit_once('.')
            && let Ok(n) = last.parse::<u64>()
        {
            return format!("{}:{head}.{}{rest}", &image[..colon], n + 1);
        }
    }
    let repo = image.split(['@']).next().unwrap_or(image);
    let repo = match repo[name_end.min(repo.len())..].find(':') {
        Some(i) => &repo[..name_end + i],
        None => repo,
    };
    format!("{repo}:next")
}

/// One StatefulSet controller.
struct Controller {
    /// Its pods still to replace, next first.
    queue: VecDeque<String>,
    phase: Phase,
}

enum Phase {
    Idle,
    /// The pod is being deleted (preStop, SIGTERM, grace).
    Deleting(String, Deletion),
    /// The replacement runs; the controller waits for it to be Ready.
    Starting {
        pod: String,
        next_probe: Instant,
    },
}

/// What happened, for the report: (time since the rollout began, event).
pub type Events = Vec<(Duration, String)>;

/// Apply `rendered` and roll every StatefulSet whose pod template changed, all at once,
/// until every pod runs the new template and is Ready, or `timeout` is over.
pub fn roll(cluster: &mut Cluster, rendered: &str, timeout: Duration) -> Result<Events> {
    cluster.apply(Manifests::parse(rendered)?)?;
    let outdated = cluster.outdated()?;
    if outdated.is_empty() {
        bail!("the changed profile changes no pod template");
    }
    roll_pods(cluster, &outdated, timeout)
}

/// Replace `outdated` (running pods) the way their StatefulSet controllers do, all
/// StatefulSets at once, each highest ordinal first and one pod at a time, until every one
/// runs the applied template and is Ready, or `timeout` is over.
pub fn roll_pods(cluster: &mut Cluster, outdated: &[String], timeout: Duration) -> Result<Events> {
    let started = Instant::now();
    let mut controllers: Vec<Controller> = Vec::new();
    let mut sets: Vec<String> = cluster
        .pods()
        .iter()
        .filter(|p| outdated.contains(&p.name))
        .map(|p| p.stateful_set.clone())
        .collect();
    sets.dedup();
    for set in sets {
        let mut pods: Vec<(usize, String)> = cluster
            .pods()
            .iter()
            .filter(|p| p.stateful_set == set && outdated.contains(&p.name))
            .map(|p| Ok((ordinal(&p.name)?, p.name.clone())))
            .collect::<Result<_>>()?;
        // Highest ordinal first, as the controller replaces them.
        pods.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
        controllers.push(Controller {
            queue: pods.into_iter().map(|(_, name)| name).collect(),
            phase: Phase::Idle,
        });
    }
    let mut events = Events::new();
    let deadline = started + timeout;
    loop {
        let mut busy = false;
        for controller in &mut controllers {
            busy |= step(cluster, controller, started, &mut events)?;
        }
        if !busy {
            return Ok(events);
        }
        if Instant::now() > deadline {
            let left: Vec<String> = controllers
                .iter()
                .flat_map(|c| {
                    let current = match &c.phase {
                        Phase::Idle => None,
                        Phase::Deleting(pod, _) => Some(format!("{pod} (being deleted)")),
                        Phase::Starting { pod, .. } => Some(format!("{pod} (not Ready)")),
                    };
                    current.into_iter().chain(c.queue.iter().cloned())
                })
                .collect();
            bail!(
                "the rollout did not finish within {timeout:?}; left: {}",
                left.join(", ")
            );
        }
        sleep(TICK);
    }
}

/// Move `c` on if it can; whether it still has work.
fn step(
    cluster: &mut Cluster,
    c: &mut Controller,
    started: Instant,
    events: &mut Events,
) -> Result<bool> {
    let now = Instant::now();
    c.phase = match std::mem::replace(&mut c.phase, Phase::Idle) {
        Phase::Idle => match c.queue.pop_front() {
            Some(pod) => {
                events.push((started.elapsed(), format!("{pod} deleted")));
                let deletion = cluster.delete(&pod)?;
                Phase::Deleting(pod, deletion)
            }
            None => return Ok(false),
        },
        Phase::Deleting(pod, deletion) if deletion.is_done() => {
            deletion.wait();
            events.push((started.elapsed(), format!("{pod} gone; recreated")));
            cluster.start_on_new_ip(&pod)?;
            Phase::Starting {
                pod,
                next_probe: now,
            }
        }
        Phase::Starting { pod, next_probe } if now >= next_probe => {
            if !cluster.is_running(&pod) {
                bail!(
                    "{pod} exited after it was recreated:\n{}",
                    cluster.log(&pod)
                );
            }
            if ready(cluster, &pod)? {
                events.push((started.elapsed(), format!("{pod} Ready")));
                Phase::Idle
            } else {
                Phase::Starting {
                    pod,
                    next_probe: now + PROBE_INTERVAL,
                }
            }
        }
        other => other,
    };
    Ok(true)
}

/// The pod's rendered readiness probe, run in the pod; a pod without one is Ready when
/// its container runs.
pub fn ready(cluster: &Cluster, pod: &str) -> Result<bool> {
    let plan = cluster.pod(pod)?;
    let (_, main) = plan.containers()?;
    let Some(probe) = &main.readiness_probe else {
        return Ok(true);
    };
    let argv = probe
        .exec
        .as_ref()
        .and_then(|e| e.command.clone())
        .with_context(|| format!("{pod}: only exec readiness probes are emulated"))?;
    Ok(cluster.exec(pod, &argv, PROBE_TIMEOUT)?.0)
}

/// `redis-replica-2` → 2.
pub fn ordinal(pod: &str) -> Result<usize> {
    pod.rsplit_once('-')
        .and_then(|(_, n)| n.parse().ok())
        .with_context(|| format!("{pod}: no ordinal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_patch_release_keeps_the_variant() {
        assert_eq!(next_patch("redis:7.2.5-alpine"), "redis:7.2.6-alpine");
        assert_eq!(next_patch("redis:7.2.5"), "redis:7.2.6");
        assert_eq!(
            next_patch("registry:5000/library/redis:7.0.15"),
            "registry:5000/library/redis:7.0.16"
        );
        assert_eq!(next_patch("redis@sha256:0123"), "redis:next");
        assert_eq!(next_patch("redis:latest"), "redis:next");
    }
}
