//! The failure scenarios of the runbook, each run against a healthy, fully synced deployment
//! with the writing client on, and measured: when the Sentinels named a new master, when the
//! client's writes went through again, how many were acknowledged and how many are missing.

//!
//! - `kind`: what each scenario does to the deployment, and which bounds hold it;
//! - `act`: doing it (a fault, a hand-over, a rollout) while the clients write;
//! - `faults`: the harder cases' set-up: a lagging replica, a preferred replica, a raw
//!   `SENTINEL FAILOVER`, writes straight to the old master.

mod act;
mod faults;
mod frozen;
mod kind;

use std::collections::{BTreeMap, BTreeSet};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::client::{Ack, ClientEnv, Refusal, Style, Writer};
use super::rig::Rig;
use super::rollout;
use super::watch::{Watch, Watcher};
use crate::profile::defaults::REDIS_PORT;

pub use kind::Kind;

/// Writes before the fault, so the client is known to work when it strikes.
const BASELINE: Duration = Duration::from_secs(1);
/// Writes after the deployment agrees again, so a late loss would show.
const TAIL: Duration = Duration::from_secs(1);
/// From a fault to a deployment that agrees again (a restarted pod loads and syncs).
pub(super) const SETTLE: Duration = Duration::from_secs(90);
/// A pause in acknowledged writes shorter than this is the client's own rhythm (a write
/// every 5 ms, a reconnect), not an outage.
const OUTAGE: Duration = Duration::from_millis(100);

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
    let fault = match act::act(rig, kind, &master, &mut m, &mut events) {
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
    let reply = rig.call(pod, REDIS_PORT, &["SMEMBERS", key])?;
    reply
        .strings()?
        .iter()
        .map(|s| s.parse().with_context(|| format!("{key} holds {s:?}")))
        .collect()
}
