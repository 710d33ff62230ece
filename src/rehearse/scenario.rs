//! The failure scenarios of the runbook, each run against a healthy, fully synced deployment
//! with the writing client on, and measured: when the Sentinels named a new master, when the
//! client's writes went through again, how many were acknowledged and how many are missing.

use std::collections::{BTreeMap, BTreeSet};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::client::{Ack, ClientEnv, Refusal, Style, Writer};
use super::resp::{Conn, Reply, info_field};
use super::rig::Rig;
use super::rollout;
use super::saving;
use super::watch::{Watch, Watcher};
use crate::render::layout;
use crate::resolve::{REDIS_PORT, SENTINEL_PORT};

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
/// How long a lagging replica's replication is held back (`CLIENT PAUSE … WRITE` on the
/// replica postpones the stream from its master, NOTES), and how long before the hand-over
/// that starts: the writes of that head start are on the master and the other replicas only.
const LAG: Duration = Duration::from_secs(2);
const LAG_HEAD_START: Duration = Duration::from_millis(300);
/// Sentinel publishes a hello on every instance every 2 s and pings it every second.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// `replica-priority` that makes the lagging replica the one Sentinel prefers (lower wins;
/// the rendered default is 100), so the scenario is the bad case, not a coin toss.
const PREFERRED_PRIORITY: &str = "50";
const DEFAULT_PRIORITY: &str = "100";
/// How long every Sentinel may take to see a changed priority (INFO every 10 s).
const PRIORITY_SEEN_TIMEOUT: Duration = Duration::from_secs(25);
/// What the preStop hook of a replica promoted while it stops logs.
const PROMOTED_WHILE_STOPPING: &str = "promoted while stopping";
/// How long writes go straight to the old master's address after `failover-redis.sh`
/// reported success.
const DIRECT_WRITES: Duration = Duration::from_millis(1500);
/// A direct write still waiting this long after the probe ended is given up on.
const DIRECT_WRITE_PATIENCE: Duration = Duration::from_secs(5);
/// How long a whole rollout may take (every pod replaced and Ready).
const ROLLOUT_TIMEOUT: Duration = Duration::from_secs(300);

/// What is done to the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The runbook's manual failover: the rendered `failover-redis.sh` in the master pod;
    /// then writes straight to the old master's address, none of which may be acknowledged.
    ManualFailover,
    /// `failover-redis.sh` while the replica Sentinel prefers lags about 2 s behind.
    ManualFailoverLagging,
    /// SIGKILL to the master, kept down until the Sentinels name a new one, then restarted.
    MasterKilled,
    /// The master pod deleted: preStop hook, SIGTERM, grace period; then started again.
    MasterStopped,
    /// The master pod deleted while the replica Sentinel prefers lags about 2 s behind.
    MasterStoppedLagging,
    /// The master pod deleted while it holds a data set whose final save on SIGTERM keeps
    /// the old process running after the Sentinels named the new master ([`saving`]).
    MasterStoppedSaving,
    /// The command every tutorial gives: `SENTINEL FAILOVER <master>`, no pause first. It
    /// may lose what the deposed master acknowledges until it is fenced; that loss is bounded.
    RawSentinelFailover,
    /// A replica is stopped, and while its preStop hook runs Sentinel promotes it anyway (a
    /// raw `SENTINEL FAILOVER` with the replica preferred by the priority Sentinel last
    /// read): its hook must hand over as a master does, not leave the deployment waiting for
    /// down-after-milliseconds.
    StoppingReplicaPromoted,
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
    /// Every scenario, in the order a full rehearsal runs them (the kill scenario repeats).
    pub const ALL: &'static [Kind] = &[
        Kind::ManualFailover,
        Kind::ManualFailoverLagging,
        Kind::MasterKilled,
        Kind::MasterStopped,
        Kind::MasterStoppedLagging,
        Kind::MasterStoppedSaving,
        Kind::RawSentinelFailover,
        Kind::StoppingReplicaPromoted,
        Kind::OldMasterReturns,
        Kind::SentinelKilled,
        Kind::ReplicaKilled,
        Kind::SentinelsRestartedThenMasterKilled,
        Kind::SentinelRestartedInPlace,
        Kind::RolloutConfig,
        Kind::RolloutImage,
        Kind::FullRestartAfterFailover,
    ];

    pub fn from_slug(slug: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.slug() == slug)
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::ManualFailover => "manual failover (failover-redis.sh)",
            Kind::ManualFailoverLagging => "manual failover, a replica lagging",
            Kind::MasterStoppedLagging => "master stopped, a replica lagging",
            Kind::MasterStoppedSaving => "master stopped, 64 MiB to save",
            Kind::RawSentinelFailover => "raw SENTINEL FAILOVER",
            Kind::StoppingReplicaPromoted => "a stopping replica promoted",
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
            Kind::ManualFailoverLagging => "manual-failover-lagging",
            Kind::MasterStoppedLagging => "master-stopped-lagging",
            Kind::MasterStoppedSaving => "master-stopped-saving",
            Kind::RawSentinelFailover => "raw-sentinel-failover",
            Kind::StoppingReplicaPromoted => "stopping-replica-promoted",
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
        ) || self.raw_failover()
    }

    /// Whether the scenario runs a raw `SENTINEL FAILOVER` (its loss window is bounded).
    pub fn raw_failover(self) -> bool {
        matches!(
            self,
            Kind::RawSentinelFailover | Kind::StoppingReplicaPromoted
        )
    }

    /// Whether the client's write outage is bounded (a planned hand-over).
    pub fn planned(self) -> bool {
        matches!(
            self,
            Kind::ManualFailover
                | Kind::ManualFailoverLagging
                | Kind::MasterStopped
                | Kind::MasterStoppedLagging
                | Kind::MasterStoppedSaving
        ) || self.rollout()
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
    /// The longest time without an acknowledged write, from the fault on, for the
    /// default-configured library client (the outage that is held to the bounds).
    pub longest_gap: Duration,
    /// The same for the bot-style client, which gives up on a write after a second.
    pub bot_gap: Duration,
    /// Writes of the library client acknowledged.
    pub acked: usize,
    /// Acknowledged writes (of either client) missing on the final master.
    pub lost: usize,
    /// From the first to the last acknowledgement of a lost write: how long the deployment
    /// acknowledged writes it then lost.
    pub loss_window: Option<Duration>,
    /// Writes sent straight to the old master's address after `failover-redis.sh` reported
    /// success, and acknowledged there (should be none).
    pub direct_acked: Option<usize>,
    /// From the fault to the old master's process being gone, when the scenario watched it
    /// ([`Kind::MasterStoppedSaving`]).
    pub old_exit_after: Option<Duration>,
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
    let bot_key = format!("{key}:bot");
    let start = Instant::now();
    let watcher = Watcher::start(&rig.redis, rig.cluster.dns(), rig.password.clone());
    let writer = Writer::start(env.clone(), rig.cluster.dns(), key.clone(), Style::Library);
    let bot = Writer::start(env.clone(), rig.cluster.dns(), bot_key.clone(), Style::BOT);
    sleep(BASELINE);
    if writer.acks().is_empty() || bot.acks().is_empty() {
        bail!("a client acknowledged no write against a healthy deployment");
    }
    let mut m = Measured {
        kind,
        master_before: master.clone(),
        master_after: None,
        new_master_after: None,
        writes_back_after: None,
        longest_gap: Duration::ZERO,
        bot_gap: Duration::ZERO,
        acked: 0,
        lost: 0,
        loss_window: None,
        direct_acked: None,
        old_exit_after: None,
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
    let bot_acks = bot.stop();
    let watch = watcher.stop();
    let end = Instant::now();
    (m.longest_gap, m.writes_back_after) = gaps(&acks, fault);
    (m.bot_gap, _) = gaps(&bot_acks, fault);
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
    let bot_present = members(rig, &final_master, &bot_key)?;
    let lost: Vec<&Ack> = acks
        .iter()
        .filter(|a| !present.contains(&a.seq))
        .chain(bot_acks.iter().filter(|a| !bot_present.contains(&a.seq)))
        .collect();
    m.lost = lost.len();
    m.oldest_lost_before_fault = lost
        .iter()
        .filter_map(|a| fault.checked_duration_since(a.at))
        .max();
    if let (Some(first), Some(last)) = (
        lost.iter().map(|a| a.at).min(),
        lost.iter().map(|a| a.at).max(),
    ) {
        m.loss_window = Some(last - first);
    }
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
    ledger.push((bot_key, bot_present));
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
            let sentinel = rig.sentinels.first().context("no Sentinel")?.clone();
            let sentinel_addr =
                std::net::SocketAddr::from((rig.cluster.pod(&sentinel)?.ip, SENTINEL_PORT));
            let password = rig.password.clone();
            let master_name = rig.master_name.clone();
            let t0 = Instant::now();
            // The failover strikes while the replica's hook runs (it lowers its priority at
            // once, then waits a second): Sentinel still goes by the priority it last read.
            let failover = std::thread::spawn(move || -> Result<Reply> {
                sleep(Duration::from_millis(200));
                Conn::open(sentinel_addr, password.as_deref(), Duration::from_secs(1))?.call(&[
                    "SENTINEL",
                    "FAILOVER",
                    &master_name,
                ])
            });
            let stopped = rig.cluster.stop(&replica);
            let reply = failover
                .join()
                .map_err(|_| anyhow::anyhow!("the failover thread panicked"))??;
            stopped?;
            if reply != Reply::Status("OK".into()) {
                bail!("{sentinel} answered SENTINEL FAILOVER with {reply:?}");
            }
            // Kept down until the others agree on a master (as after a kill): a pod
            // recreated at once would hide a failover that waits for down-after. The master
            // they agree on may be the one from before: the promoted replica's hand-over may
            // pick it, so there is no "new master" time to report.
            let settled = rig.wait_agreement(SETTLE);
            rig.cluster.start_on_new_ip(&replica)?;
            settled?;
            // Otherwise Sentinel picked another replica and the race was not rehearsed.
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

/// Wait until every running Sentinel has read every replica's role since it last changed
/// (`role-reported` is `slave`). A Sentinel that still holds an older `INFO` in which a
/// replica was master takes that replica's promotion for a stray master and converts it
/// back (`+convert-to-slave`), and the failover aborts: a real race, but one of scenarios
/// run seconds apart, which a raw failover has no hand-over to absorb.
fn wait_roles_seen(rig: &mut Rig) -> Result<()> {
    let deadline = Instant::now() + PRIORITY_SEEN_TIMEOUT;
    for sentinel in rig.running(&rig.sentinels.clone()) {
        loop {
            let view = rig.sentinel_view(&sentinel, "replicas").unwrap_or_default();
            if !view.is_empty()
                && view
                    .values()
                    .all(|f| f.get("role-reported").map(String::as_str) == Some("slave"))
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("{sentinel} still sees a replica as master: {view:?}");
            }
            sleep(Duration::from_millis(200));
        }
    }
    Ok(())
}

/// `SENTINEL FAILOVER` sent to the first Sentinel, as the tutorials say.
fn raw_failover(rig: &Rig) -> Result<()> {
    let sentinel = rig.sentinels.first().context("no Sentinel")?;
    let reply = rig.call(
        sentinel,
        SENTINEL_PORT,
        &["SENTINEL", "FAILOVER", &rig.master_name],
    )?;
    if reply != Reply::Status("OK".into()) {
        bail!("{sentinel} answered SENTINEL FAILOVER with {reply:?}");
    }
    Ok(())
}

/// Make one replica of `master` the one Sentinel prefers (a lower `replica-priority`) and
/// wait until every running Sentinel sees that; the replica.
fn prefer_a_replica(rig: &mut Rig, master: &str) -> Result<String> {
    let replica = rig
        .redis
        .iter()
        .find(|p| *p != master)
        .context("no replica")?
        .clone();
    rig.call(
        &replica,
        REDIS_PORT,
        &["CONFIG", "SET", "replica-priority", PREFERRED_PRIORITY],
    )?;
    let deadline = Instant::now() + PRIORITY_SEEN_TIMEOUT;
    for sentinel in rig.running(&rig.sentinels.clone()) {
        loop {
            let seen = rig
                .sentinel_view(&sentinel, "replicas")
                .ok()
                .and_then(|mut v| v.remove(&replica)?.remove("slave-priority"));
            if seen.as_deref() == Some(PREFERRED_PRIORITY) {
                break;
            }
            if Instant::now() > deadline {
                bail!("{sentinel} does not see replica-priority {PREFERRED_PRIORITY} on {replica}");
            }
            sleep(Duration::from_millis(200));
        }
    }
    Ok(replica)
}

/// Hold back `replica`'s replication for [`LAG`] and let the master run ahead of it for
/// [`LAG_HEAD_START`]; it still looks online to its master all along.
///
/// The pause also holds the next hello a Sentinel PUBLISHes on the replica, and with it
/// every later command on that Sentinel's link (`INFO`, `REPLICAOF NO ONE`): a promotion
/// would wait for the replica to catch up, which is the lucky case. A replica that lags
/// because its stream is stuck on the way still answers Sentinel at once, so the pause starts
/// right after the Sentinel the hand-over asks (the first) published its hello on this
/// replica; its next one comes 2 s later. (Watching the hello channel would not do: hellos
/// published on the master reach the replica's subscribers too, through replication.)
fn hold_back(rig: &Rig, replica: &str) -> Result<()> {
    let leader = rig.sentinels.first().context("no Sentinel")?;
    let leader_addr = format!(" addr={}:", rig.cluster.pod(leader)?.ip);
    let deadline = Instant::now() + HELLO_TIMEOUT;
    let mut last_command: Option<String> = None;
    loop {
        let clients = rig
            .call(replica, REDIS_PORT, &["CLIENT", "LIST", "TYPE", "normal"])?
            .text()?;
        // The last command the leader sent on its command link to this replica.
        let command = clients
            .lines()
            .find(|l| l.contains(&leader_addr) && l.contains("-cmd "))
            .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("cmd=")))
            .map(str::to_string);
        if command.as_deref() == Some("publish")
            && last_command.as_deref().is_some_and(|c| c != "publish")
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("{leader} published no hello on {replica} within {HELLO_TIMEOUT:?}");
        }
        last_command = command.or(last_command);
        sleep(Duration::from_millis(10));
    }
    let ms = LAG.as_millis().to_string();
    rig.call(replica, REDIS_PORT, &["CLIENT", "PAUSE", &ms, "WRITE"])?
        .text()
        .with_context(|| format!("CLIENT PAUSE on {replica}"))?;
    sleep(LAG_HEAD_START);
    Ok(())
}

/// Writes straight to `old_master`'s address for [`DIRECT_WRITES`], as a client with the
/// address configured (or one that asked a Sentinel that has not caught up) sends them; how
/// many were acknowledged. Each waits for its reply like a client library without a socket
/// timeout, so a write parked in a pause and executed later is counted too.
fn write_directly(rig: &Rig, old_master: &str) -> Result<usize> {
    let addr = std::net::SocketAddr::from((rig.cluster.pod(old_master)?.ip, REDIS_PORT));
    let start = Instant::now();
    let give_up = || start.elapsed() > DIRECT_WRITES + DIRECT_WRITE_PATIENCE;
    let mut acked = 0;
    let mut conn: Option<Conn> = None;
    let mut seq = 0u64;
    while start.elapsed() < DIRECT_WRITES {
        let Some(c) = conn.as_mut() else {
            conn = Conn::open(addr, rig.password.as_deref(), Duration::from_millis(300)).ok();
            sleep(Duration::from_millis(5));
            continue;
        };
        seq += 1;
        let write = ["SADD", "rehearse:direct", &seq.to_string()];
        match c.call_patiently(&write, Duration::from_millis(100), &give_up) {
            Ok(Reply::Int(_)) => acked += 1,
            Ok(_) => {}
            Err(_) => conn = None,
        }
        sleep(Duration::from_millis(5));
    }
    Ok(acked)
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
fn gaps(acks: &[Ack], fault: Instant) -> (Duration, Option<Duration>) {
    let mut prev = fault;
    let (mut longest, mut back) = (Duration::ZERO, None);
    for ack in acks.iter().filter(|a| a.at > fault) {
        let gap = ack.at - prev;
        if gap > longest {
            longest = gap;
            back = (gap >= OUTAGE).then(|| ack.at - fault);
        }
        prev = ack.at;
    }
    (longest, back)
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
    fn every_scenario_has_its_own_slug() {
        let mut slugs: Vec<&str> = Kind::ALL.iter().map(|k| k.slug()).collect();
        for kind in Kind::ALL {
            assert_eq!(Kind::from_slug(kind.slug()), Some(*kind));
        }
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), Kind::ALL.len(), "two scenarios share a slug");
        assert!(
            Kind::ALL.contains(&Kind::RolloutConfig) && Kind::ALL.contains(&Kind::RolloutImage)
        );
    }
}
