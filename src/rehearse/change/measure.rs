//! What a step measures: the writing client and the watch from its start, and at its end
//! the agreement, the writes lost, the longest gap and what every Sentinel reports.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::report::{self, SentinelView, StepReport};
use super::terminal::Ran;
use super::{BASELINE, Measure, Run, SETTINGS_WAIT, SETTLE, Stage, TAIL};
use crate::profile::defaults::REDIS_PORT;
use crate::rehearse::client::{Style, Writer};
use crate::rehearse::rollout::Events;
use crate::rehearse::watch::{Passwords, Watcher};
use crate::resolve::Deployment;

impl Run {
    pub(super) fn start_measure(&mut self, step: usize, extra_redis: &[String]) -> Result<Measure> {
        let passwords: Passwords =
            Arc::new(RwLock::new(self.rig.password.clone().into_iter().collect()));
        let mut watched: Vec<String> = self.rig.redis.clone();
        watched.extend(extra_redis.iter().cloned());
        watched.sort();
        watched.dedup();
        let watcher = Watcher::start_with(&watched, self.rig.cluster.dns(), passwords.clone());
        let key = format!("rehearse:change:{step}");
        let first_key = format!("{key}:0");
        let writer = Writer::start(
            self.client_env.clone(),
            self.rig.cluster.dns(),
            first_key.clone(),
            Style::Library,
        );
        sleep(BASELINE);
        if writer.acks().is_empty() {
            bail!("the client acknowledged no write against a healthy deployment");
        }
        Ok(Measure {
            watcher,
            passwords,
            writer: (first_key, writer),
            replaced: Vec::new(),
            key,
            events: Events::new(),
            t0: Instant::now(),
        })
    }

    /// End a step: agreement, the tail of writes, and every bound.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish(
        &mut self,
        m: Measure,
        old: Option<&Stage>,
        new: &Stage,
        ran: Vec<Ran>,
        changes: Vec<String>,
        // What already went wrong (a printed line that failed).
        mut missed: Vec<String>,
        progress: &mut dyn FnMut(&str),
    ) -> StepReport {
        let master = match self.rig.wait_agreement(SETTLE) {
            Ok(master) => Some(master),
            Err(e) => {
                missed.push(format!("{e:#}"));
                None
            }
        };
        let duration = m.t0.elapsed();
        sleep(TAIL);
        let (key, writer) = m.writer;
        let mut writes = m.replaced;
        writes.push((key, writer.stop()));
        let watch = m.watcher.stop();
        let end = Instant::now();
        let mut acks: Vec<Instant> = writes
            .iter()
            .flat_map(|(_, a)| a.iter().map(|a| a.at))
            .collect();
        acks.sort();
        let longest_gap = longest_gap(&acks, m.t0, end);
        let mut lost = 0;
        if let Some(master) = &master {
            for (key, acked) in &writes {
                match self.members(master, key) {
                    Ok(present) => {
                        lost += acked.iter().filter(|a| !present.contains(&a.seq)).count()
                    }
                    Err(e) => missed.push(format!("cannot read {key} on {master}: {e:#}")),
                }
            }
        }
        let breaches = watch.master_breaches(m.t0, end);
        let master_changes = watch.master_changes(m.t0, end);
        let sentinels = self.sentinel_views(&new.dep);
        let report = StepReport {
            from: old.map(|s| s.name.clone()),
            to: new.name.clone(),
            changes,
            commands: ran,
            events: m.events,
            duration,
            longest_gap,
            acked: acks.len(),
            lost,
            breaches,
            master_changes,
            master_after: master,
            sentinels,
            missed,
        };
        let report = report.judged(&new.dep);
        progress(&report.summary());
        report
    }

    /// `SENTINEL MASTER` of every Sentinel, polled until each reports what `dep` says (or
    /// [`SETTINGS_WAIT`] is over): the last answers.
    pub(super) fn sentinel_views(&mut self, dep: &Deployment) -> Vec<SentinelView> {
        let deadline = Instant::now() + SETTINGS_WAIT;
        let (sentinels, replicas) = report::expected_counts(dep);
        loop {
            let views: Vec<SentinelView> = self
                .rig
                .sentinels
                .clone()
                .iter()
                .map(|s| SentinelView {
                    pod: s.clone(),
                    fields: self.rig.sentinel_master_record(s).unwrap_or_default(),
                })
                .collect();
            let done = views
                .iter()
                .all(|v| v.mismatches(dep, sentinels, replicas).is_empty());
            if done || Instant::now() > deadline {
                return views;
            }
            sleep(Duration::from_millis(500));
        }
    }

    pub(super) fn members(&self, pod: &str, key: &str) -> Result<BTreeSet<u64>> {
        let reply = self.rig.call(pod, REDIS_PORT, &["SMEMBERS", key])?;
        reply
            .strings()?
            .iter()
            .map(|s| s.parse().with_context(|| format!("{key} holds {s:?}")))
            .collect()
    }
}

/// The longest stretch without an acknowledged write between `from` and `to`.
fn longest_gap(acks: &[Instant], from: Instant, to: Instant) -> Duration {
    let mut prev = from;
    let mut longest = Duration::ZERO;
    for at in acks.iter().filter(|a| **a > from && **a <= to) {
        longest = longest.max(*at - prev);
        prev = *at;
    }
    longest.max(to.saturating_duration_since(prev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_gap_counts_from_the_start_to_the_end_of_the_step() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(
            longest_gap(&[at(100), at(150), at(1400), at(1410)], t0, at(1500)),
            Duration::from_millis(1250)
        );
        assert_eq!(
            longest_gap(&[at(900)], t0, at(950)),
            Duration::from_millis(900)
        );
        // A client that stopped getting acknowledgements is a gap up to the end.
        assert_eq!(
            longest_gap(&[at(100)], t0, at(5000)),
            Duration::from_millis(4900)
        );
    }
}
