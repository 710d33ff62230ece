//! Doing what a scenario does: the fault, the hand-over or the rollout, timed.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::super::resp::info_field;
use super::super::rig::Rig;
use super::super::rollout;
use super::super::saving;
use super::faults::{
    DEFAULT_PRIORITY, hold_back, prefer_a_replica, raw_failover, wait_roles_seen, write_directly,
};
use super::{Kind, Measured, SETTLE, frozen};
use crate::profile::defaults::REDIS_PORT;
use crate::render::layout;

/// How long a Sentinel may take to name a new master before the scenario gives up.
pub(super) const FAILOVER_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a killed Sentinel or replica stays down.
const DOWNTIME: Duration = Duration::from_secs(3);
/// How long the killed master stays down after the new master was named, in the scenario
/// where it comes back: clients write to the new master in the meantime.
const OLD_MASTER_AWAY: Duration = Duration::from_secs(5);
/// What the preStop hook of a replica promoted while it stops logs.
const PROMOTED_WHILE_STOPPING: &str = "promoted while stopping";
/// How long a whole rollout may take (every pod replaced and Ready).
const ROLLOUT_TIMEOUT: Duration = Duration::from_secs(300);

/// Do what `kind` does; the moment the fault struck.
pub(super) fn act(
    rig: &mut Rig,
    kind: Kind,
    master: &str,
    m: &mut Measured,
    events: &mut rollout::Events,
) -> Result<Instant> {
    match kind {
        Kind::RolloutConfig | Kind::RolloutImage => {
            let rendered = if kind == Kind::RolloutConfig {
                rig.changes.config.clone()
            } else {
                rig.changes.image.clone()
            };
            let t0 = Instant::now();
            *events = rollout::roll(&mut rig.cluster, &rendered, ROLLOUT_TIMEOUT)?;
            Ok(t0)
        }
        Kind::ManualFailover => {
            let t0 = Instant::now();
            manual_failover(rig, master)?;
            m.new_master_after = Some(rig.wait_new_master(master, t0, FAILOVER_TIMEOUT)?.1);
            m.direct_acked = Some(write_directly(rig, master)?);
            Ok(t0)
        }
        Kind::ManualFailoverLagging | Kind::MasterStoppedLagging => {
            let laggard = prefer_a_replica(rig, master)?;
            hold_back(rig, &laggard)?;
            let t0 = Instant::now();
            let handed_over = if kind == Kind::ManualFailoverLagging {
                manual_failover(rig, master)
            } else {
                rig.cluster.stop(master)
            };
            let named = rig.wait_new_master(master, t0, FAILOVER_TIMEOUT);
            if kind == Kind::MasterStoppedLagging {
                rig.cluster.start_on_new_ip(master)?;
            }
            // The rendered default again (a restarted pod has it from its fresh config).
            rig.call(
                &laggard,
                REDIS_PORT,
                &["CONFIG", "SET", "replica-priority", DEFAULT_PRIORITY],
            )?;
            handed_over?;
            m.new_master_after = Some(named?.1);
            Ok(t0)
        }
        Kind::RawSentinelFailover => {
            wait_roles_seen(rig)?;
            let t0 = Instant::now();
            raw_failover(rig)?;
            m.new_master_after = Some(rig.wait_new_master(master, t0, FAILOVER_TIMEOUT)?.1);
            Ok(t0)
        }
        Kind::StoppingReplicaPromoted => {
            let replica = prefer_a_replica(rig, master)?;
            wait_roles_seen(rig)?;
            let (t0, staged) = frozen::stop_promoted(rig, &replica, events)?;
            // Kept down until the others agree on a master (as after a kill): a pod
            // recreated at once would hide a failover that waits for down-after. The master
            // they agree on may be the one from before: the promoted replica's hand-over may
            // pick it, so there is no "new master" time to report.
            let settled = rig.wait_agreement(SETTLE);
            rig.cluster.start_on_new_ip(&replica)?;
            staged?;
            settled?;
            // The product's part: the hook found itself promoted and handed over.
            if !rig.cluster.log(&replica).contains(PROMOTED_WHILE_STOPPING) {
                bail!("{replica}'s preStop hook never saw it promoted");
            }
            Ok(t0)
        }
        Kind::MasterKilled => kill_master(rig, master, m),
        Kind::OldMasterReturns => {
            let t0 = Instant::now();
            rig.cluster.kill(master)?;
            rig.wait_new_master(master, t0, FAILOVER_TIMEOUT)?;
            sleep(OLD_MASTER_AWAY);
            // The fault of this scenario is the return, not the kill before it.
            let back = Instant::now();
            rejoin(rig, master)?;
            Ok(back)
        }
        Kind::MasterStopped => {
            let t0 = Instant::now();
            rig.cluster.stop(master)?;
            m.new_master_after = rig
                .wait_new_master(master, t0, FAILOVER_TIMEOUT)
                .ok()
                .map(|(_, d)| d);
            // The StatefulSet recreates the deleted pod, with a new address.
            rig.cluster.start_on_new_ip(master)?;
            Ok(t0)
        }
        Kind::MasterStoppedSaving => {
            saving::fill(rig, master)?;
            events.push((
                Duration::ZERO,
                format!(
                    "{} MiB written on {master} and every replica",
                    saving::DATA_SET_BYTES >> 20
                ),
            ));
            let t0 = Instant::now();
            let stop = saving::stop_watched(rig, master, t0, events)?;
            m.new_master_after = stop.new_master;
            m.old_exit_after = stop.exited;
            rig.cluster.start_on_new_ip(master)?;
            events.push((t0.elapsed(), format!("{master} recreated")));
            let new_master = rig.wait_agreement(SETTLE)?;
            saving::clear(rig, &new_master)?;
            Ok(t0)
        }
        Kind::SentinelKilled | Kind::ReplicaKilled => {
            let pool = if kind == Kind::SentinelKilled {
                rig.sentinels.clone()
            } else {
                rig.redis.iter().filter(|p| *p != master).cloned().collect()
            };
            let victim = pool.first().context("nothing to kill")?.clone();
            let t0 = Instant::now();
            rig.cluster.kill(&victim)?;
            sleep(DOWNTIME);
            rig.cluster.start(&victim)?;
            Ok(t0)
        }
        Kind::SentinelsRestartedThenMasterKilled => {
            for _round in 0..3 {
                for sentinel in rig.sentinels.clone() {
                    // Deleted and recreated: same identity (name, volume), new address.
                    rig.cluster.stop(&sentinel)?;
                    rig.cluster.start_on_new_ip(&sentinel)?;
                    wait_sentinel_names(rig, &sentinel, master)?;
                }
            }
            kill_master(rig, master, m)
        }
        Kind::SentinelRestartedInPlace => {
            let sentinel = rig.sentinels.last().context("no Sentinel")?.clone();
            let t0 = Instant::now();
            rig.cluster.kill(&sentinel)?;
            rig.cluster.restart_container(&sentinel)?;
            wait_sentinel_names(rig, &sentinel, master)?;
            let log = rig.cluster.log(&sentinel);
            if !log.contains("keeping the state") {
                bail!("{sentinel} did not start from its saved sentinel.conf");
            }
            Ok(t0)
        }
        Kind::FullRestartAfterFailover => {
            if master == rig.redis[0] {
                manual_failover(rig, master)?;
                rig.wait_agreement(SETTLE)?;
            }
            let t0 = Instant::now();
            let all: Vec<String> = rig.sentinels.iter().chain(&rig.redis).cloned().collect();
            restart_all(rig, &all, events)?;
            Ok(t0)
        }
    }
}

/// `kubectl delete pod` of every pod in `pods` at once: the hooks run side by side, and
/// each StatefulSet recreates a pod (on a new address) as soon as it is gone. A Redis pod's
/// hook waits while another Redis pod is away, so they go one after another.
fn restart_all(rig: &mut Rig, pods: &[String], events: &mut rollout::Events) -> Result<()> {
    let t0 = Instant::now();
    let mut deleting = Vec::new();
    for pod in pods {
        deleting.push((pod.clone(), rig.cluster.delete(pod)?));
    }
    while !deleting.is_empty() {
        let (gone, left): (Vec<_>, Vec<_>) = deleting.into_iter().partition(|(_, d)| d.is_done());
        deleting = left;
        for (pod, deletion) in gone {
            deletion.wait();
            events.push((t0.elapsed(), format!("{pod} gone; recreated")));
            rig.cluster.start_on_new_ip(&pod)?;
        }
        sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// `failover-redis.sh` in the master pod, as the runbook says (`kubectl exec`).
fn manual_failover(rig: &mut Rig, master: &str) -> Result<()> {
    let argv: Vec<String> = [
        "sh".into(),
        format!("{}/{}", layout::CONFIG_DIR, layout::FAILOVER_REDIS),
    ]
    .into();
    let (ok, out) = rig.cluster.exec(master, &argv, FAILOVER_TIMEOUT)?;
    if !ok {
        bail!("failover-redis.sh failed:\n{out}");
    }
    Ok(())
}

/// SIGKILL the master and keep it down until the Sentinels name a new master (a pod
/// restarted at once usually beats the failover), then bring it back.
fn kill_master(rig: &mut Rig, master: &str, m: &mut Measured) -> Result<Instant> {
    let t0 = Instant::now();
    rig.cluster.kill(master)?;
    let (_, after) = rig.wait_new_master(master, t0, FAILOVER_TIMEOUT)?;
    m.new_master_after = Some(after);
    rejoin(rig, master)?;
    Ok(t0)
}

/// Start the old master `pod` again and watch it until it is a replica with its link up: it
/// must never report role:master on the way.
fn rejoin(rig: &mut Rig, old_master: &str) -> Result<()> {
    rig.cluster.start(old_master)?;
    let deadline = Instant::now() + SETTLE;
    while Instant::now() < deadline {
        if let Ok(info) = rig.replication(old_master) {
            match info_field(&info, "role") {
                Some("master") => bail!("{old_master} came back as a second master"),
                Some("slave") if info_field(&info, "master_link_status") == Some("up") => {
                    return Ok(());
                }
                _ => {}
            }
        }
        sleep(Duration::from_millis(50));
    }
    bail!("{old_master} did not rejoin as a replica within {SETTLE:?}")
}

/// Poll until `sentinel` answers and names `master`.
fn wait_sentinel_names(rig: &mut Rig, sentinel: &str, master: &str) -> Result<()> {
    let deadline = Instant::now() + SETTLE;
    loop {
        match rig.sentinel_master(sentinel) {
            Ok(named) if named == master => return Ok(()),
            _ if Instant::now() > deadline => {
                bail!("{sentinel} does not name {master} after a restart")
            }
            _ => sleep(Duration::from_millis(100)),
        }
        if !rig.cluster.is_running(sentinel) {
            bail!(
                "{sentinel} exited after a restart:\n{}",
                rig.cluster.log(sentinel)
            );
        }
    }
}
