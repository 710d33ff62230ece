//! The failure scenarios of the runbook, each run against a healthy, fully synced deployment
//! with the writing client on, and measured: when the Sentinels named a new master, when the
//! client's writes went through again, how many were acknowledged and how many are missing.

use std::collections::{BTreeMap, BTreeSet};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::client::{Ack, ClientEnv, Refusal, Writer};
use super::resp::info_field;
use super::rig::Rig;
use super::rollout;
use super::watch::{Watch, Watcher};
use crate::render::layout;

/// Writes before the fault, so the client is known to work when it strikes.
const BASELINE: Duration = Duration::from_secs(1);
/// Writes after the deployment agrees again, so a late loss would show.
const TAIL: Duration = Duration::from_secs(1);
/// From a fault to a deployment that agrees again (a restarted pod loads and syncs).
const SETTLE: Duration = Duration::from_secs(90);
/// How long a Sentinel may take to name a new master before the scenario gives up.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a killed Sentinel or replica stays down.
const DOWNTIME: Duration = Duration::from_secs(3);
/// A pause in acknowledged writes shorter than this is the client's own rhythm (a write
/// every 5 ms, a reconnect), not an outage.
const OUTAGE: Duration = Duration::from_millis(100);
/// How long the killed master stays down after the new master was named, in the scenario
/// where it comes back: clients write to the new master in the meantime.
const OLD_MASTER_AWAY: Duration = Duration::from_secs(5);
/// How long a whole rollout may take (every pod replaced and Ready).
const ROLLOUT_TIMEOUT: Duration = Duration::from_secs(300);

/// Every scenario's slug, in the order the rehearsal runs them.
pub const SLUGS: &[&str] = &[
    "manual-failover",
    "master-killed",
    "master-stopped",
    "old-master-returns",
    "sentinel-killed",
    "replica-killed",
    "sentinels-restarted-master-killed",
    "sentinel-restarted-in-place",
    "rollout-config",
    "rollout-image",
    "full-restart-after-failover",
];

/// What is done to the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The runbook's manual failover: the rendered `failover-redis.sh` in the master pod.
    ManualFailover,
    /// SIGKILL to the master, kept down until the Sentinels name a new one, then restarted.
    MasterKilled,
    /// The master pod deleted: preStop hook, SIGTERM, grace period; then started again.
    MasterStopped,
    /// The killed master restarted after the failover: it must come back as a replica.
    OldMasterReturns,
    SentinelKilled,
    ReplicaKilled,
    /// Every Sentinel restarted in turn, three rounds, then the master killed.
    SentinelsRestartedThenMasterKilled,
    /// A Sentinel container restarted in place: it loads the sentinel.conf it saved, with a
    /// password that holds a space and quotes.
    SentinelRestartedInPlace,
    /// After a failover, every pod deleted at once (`kubectl delete pod`), each recreated by
    /// its StatefulSet as soon as it is gone.
    FullRestartAfterFailover,
    /// A changed `redis.conf` applied: every Redis StatefulSet rolled by its controller,
    /// all at once ([`rollout`]).
    RolloutConfig,
    /// A changed image tag applied: every StatefulSet rolled, Sentinels included.
    RolloutImage,
}

impl Kind {
    pub fn title(self) -> &'static str {
        match self {
            Kind::ManualFailover => "manual failover (failover-redis.sh)",
            Kind::MasterKilled => "master killed (SIGKILL)",
            Kind::MasterStopped => "master stopped (preStop + SIGTERM)",
            Kind::OldMasterReturns => "old master comes back",
            Kind::SentinelKilled => "a Sentinel killed",
            Kind::ReplicaKilled => "a replica killed",
            Kind::SentinelsRestartedThenMasterKilled => "Sentinels restarted 3x, master killed",
            Kind::SentinelRestartedInPlace => "Sentinel restarted in place",
            Kind::FullRestartAfterFailover => "every pod restarted after a failover",
            Kind::RolloutConfig => "rollout of a config change",
            Kind::RolloutImage => "rollout of an image change",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Kind::ManualFailover => "manual-failover",
            Kind::MasterKilled => "master-killed",
            Kind::MasterStopped => "master-stopped",
            Kind::OldMasterReturns => "old-master-returns",
            Kind::SentinelKilled => "sentinel-killed",
            Kind::ReplicaKilled => "replica-killed",
            Kind::SentinelsRestartedThenMasterKilled => "sentinels-restarted-master-killed",
            Kind::SentinelRestartedInPlace => "sentinel-restarted-in-place",
            Kind::FullRestartAfterFailover => "full-restart-after-failover",
            Kind::RolloutConfig => "rollout-config",
            Kind::RolloutImage => "rollout-image",
        }
    }

    /// Whether acknowledged writes may be lost: only when the master dies without a
    /// hand-over, and only what asynchronous replication had not shipped yet.
    pub fn may_lose_writes(self) -> bool {
        matches!(
            self,
            Kind::MasterKilled | Kind::SentinelsRestartedThenMasterKilled
        )
    }

    /// Whether the client's write outage is bounded (a planned hand-over).
    pub fn planned(self) -> bool {
        matches!(self, Kind::ManualFailover | Kind::MasterStopped) || self.rollout()
    }

    /// Whether a changed profile is rolled out: exactly one master and at most one Redis
    /// pod down at every sample, and one hand-over.
    pub fn rollout(self) -> bool {
        matches!(self, Kind::RolloutConfig | Kind::RolloutImage)
    }
}

/// The measurements of one scenario run.
#[derive(Debug, Clone)]
pub struct Measured {
    pub kind: Kind,
    pub master_before: String,
    pub master_after: Option<String>,
    /// From the fault to a quorum of Sentinels naming another master.
    pub new_master_after: Option<Duration>,
    /// From the fault to the first acknowledged write after the longest gap.
    pub writes_back_after: Option<Duration>,
    /// The longest time without an acknowledged write, from the fault on.
    pub longest_gap: Duration,
    pub acked: usize,
    pub lost: usize,
    /// Lost writes acknowledged longer than this before the fault (should be none).
    pub oldest_lost_before_fault: Option<Duration>,
    /// Something that went wrong (no agreement, a second master, a failed script…).
    pub failures: Vec<String>,
    /// Writes refused or failed from the fault on, by kind (`NOREPLICAS`, `READONLY`, …).
    pub refused: BTreeMap<String, usize>,
    /// From the fault on: samples with more than one writable master or none, or with more
    /// than one Redis pod down (see [`Watch::breaches`]).
    pub breaches: Vec<String>,
    /// How often the master changed from the fault on.
    pub master_changes: usize,
    /// Everything observed, for the picture of the scenario.
    pub timeline: Option<Timeline>,
}

impl Timeline {
    /// What happened after the fault, in order: the harness's (or controllers') actions
    /// and each change of master, with the time since the fault.
    pub fn story(&self) -> Vec<(Duration, String)> {
        let mut story = self.events.clone();
        let mut last: Option<String> = None;
        for t in Watch::grid(self.fault, self.end) {
            let master = self.watch.master_at(t);
            if master.is_some() && master != last {
                story.push((
                    t - self.fault,
                    format!("master: {}", master.clone().unwrap_or_default()),
                ));
                last = master;
            }
        }
        story.sort_by_key(|(t, _)| *t);
        story
    }
}

/// What a scenario looked like from start to end: the client's writes, the pods' roles and
/// what the harness did.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// When the client started writing.
    pub start: Instant,
    pub fault: Instant,
    pub end: Instant,
    pub acks: Vec<Instant>,
    pub refusals: Vec<Refusal>,
    pub watch: Watch,
    /// What the harness (or a StatefulSet controller) did to the pods, after the fault.
    pub events: rollout::Events,
}

/// Writes of earlier scenarios that must still be there (checked after a full restart).
pub type Ledger = Vec<(String, BTreeSet<u64>)>;

/// Run `kind` once; `round` tells runs of the same kind apart.
pub fn run(
    rig: &mut Rig,
    env: &ClientEnv,
    kind: Kind,
    round: usize,
    ledger: &mut Ledger,
) -> Result<Measured> {
    let master = rig
        .wait_agreement(SETTLE)
        .context("the deployment is not healthy before the scenario")?;
    let key = format!("rehearse:{}:{round}", kind.slug());
    let start = Instant::now();
    let watcher = Watcher::start(&rig.redis, rig.cluster.dns(), rig.password.clone());
    let writer = Writer::start(env.clone(), rig.cluster.dns(), key.clone());
    sleep(BASELINE);
    if writer.acks().is_empty() {
        bail!("the client acknowledged no write against a healthy deployment");
    }
    let mut m = Measured {
        kind,
        master_before: master.clone(),
        master_after: None,
        new_master_after: None,
        writes_back_after: None,
        longest_gap: Duration::ZERO,
        acked: 0,
        lost: 0,
        oldest_lost_before_fault: None,
        failures: Vec::new(),
        refused: BTreeMap::new(),
        breaches: Vec::new(),
        master_changes: 0,
        timeline: None,
    };
    let mut events = rollout::Events::new();
    let fault = match act(rig, kind, &master, &mut m, &mut events) {
        Ok(t0) => t0,
        Err(e) => {
            m.failures.push(format!("{e:#}"));
            Instant::now()
        }
    };
    match rig.wait_agreement(SETTLE) {
        Ok(after) => m.master_after = Some(after),
        Err(e) => m.failures.push(format!("{e:#}")),
    }
    sleep(TAIL);
    let refusals = writer.refusals();
    let acks = writer.stop();
    let watch = watcher.stop();
    let end = Instant::now();
    gaps(&acks, fault, &mut m);
    m.acked = acks.len();
    for r in refusals.iter().filter(|r| r.at >= fault) {
        *m.refused.entry(r.kind.clone()).or_default() += 1;
    }
    m.breaches = watch.breaches(fault, end);
    m.master_changes = watch.master_changes(fault, end);
    if kind.rollout() {
        m.new_master_after = Watch::grid(fault, end)
            .find(|t| watch.master_at(*t).is_some_and(|p| p != master))
            .map(|t| t - fault);
    }
    m.timeline = Some(Timeline {
        start,
        fault,
        end,
        acks: acks.iter().map(|a| a.at).collect(),
        refusals,
        watch,
        events,
    });
    let Some(final_master) = m.master_after.clone() else {
        return Ok(m);
    };
    let present = members(rig, &final_master, &key)?;
    let lost: Vec<&Ack> = acks.iter().filter(|a| !present.contains(&a.seq)).collect();
    m.lost = lost.len();
    m.oldest_lost_before_fault = lost
        .iter()
        .filter_map(|a| fault.checked_duration_since(a.at))
        .max();
    if kind == Kind::FullRestartAfterFailover {
        for (key, expected) in ledger.iter() {
            let present = members(rig, &final_master, key)?;
            let missing = expected.difference(&present).count();
            if missing > 0 {
                m.failures.push(format!(
                    "{missing} writes of {key} missing after the restart"
                ));
            }
        }
    }
    ledger.push((key, present));
    Ok(m)
}

/// Do what `kind` does; the moment the fault struck.
fn act(
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

/// The longest stretch without an acknowledged write from `fault` on, and (when it was an
/// outage) when writes went through again.
fn gaps(acks: &[Ack], fault: Instant, m: &mut Measured) {
    let mut prev = fault;
    for ack in acks.iter().filter(|a| a.at > fault) {
        let gap = ack.at - prev;
        if gap > m.longest_gap {
            m.longest_gap = gap;
            m.writes_back_after = (gap >= OUTAGE).then(|| ack.at - fault);
        }
        prev = ack.at;
    }
}

/// The sequence numbers stored under `key` on `pod`.
fn members(rig: &Rig, pod: &str, key: &str) -> Result<BTreeSet<u64>> {
    let reply = rig.call(pod, crate::resolve::REDIS_PORT, &["SMEMBERS", key])?;
    reply
        .strings()?
        .iter()
        .map(|s| s.parse().with_context(|| format!("{key} holds {s:?}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_has_its_slug_listed_once() {
        let kinds = [
            Kind::ManualFailover,
            Kind::MasterKilled,
            Kind::MasterStopped,
            Kind::OldMasterReturns,
            Kind::SentinelKilled,
            Kind::ReplicaKilled,
            Kind::SentinelsRestartedThenMasterKilled,
            Kind::SentinelRestartedInPlace,
            Kind::RolloutConfig,
            Kind::RolloutImage,
            Kind::FullRestartAfterFailover,
        ];
        let slugs: Vec<&str> = kinds.iter().map(|k| k.slug()).collect();
        assert_eq!(slugs, SLUGS);
    }
}
