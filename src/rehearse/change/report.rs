//! The bounds of a changed deployment and the per-step report of `rehearse --from`.
//!
//! Each step, from the start of `plan`'s first manual step to the deployment agreeing on
//! its master again:
//! - no write the client saw acknowledged is missing on the final master;
//! - the longest stretch without an acknowledged write is at most [`MAX_GAP`];
//! - exactly one master at every sample of the watch;
//! - afterwards every Sentinel reports the new profile's quorum and timings, and counts
//!   exactly the other Sentinels and the replicas there are: no ghost of a removed pod.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use super::terminal::Ran;
use crate::rehearse::report::secs;
use crate::rehearse::rollout::Events;
use crate::resolve::Deployment;

/// The longest stretch without an acknowledged write a step may have.
pub const MAX_GAP: Duration = Duration::from_secs(2);

/// `SENTINEL MASTER` of one Sentinel after a step.
#[derive(Debug, Clone)]
pub struct SentinelView {
    pub pod: String,
    /// Field → value; empty when the Sentinel did not answer.
    pub fields: BTreeMap<String, String>,
}

impl SentinelView {
    /// What this Sentinel reports differently from `dep`, with `sentinels` other Sentinels
    /// and `replicas` replicas running.
    pub fn mismatches(&self, dep: &Deployment, sentinels: usize, replicas: usize) -> Vec<String> {
        if self.fields.is_empty() {
            return vec![format!("{} did not answer SENTINEL MASTER", self.pod)];
        }
        let s = &dep.sentinel;
        let wanted = [
            ("quorum", s.quorum.to_string(), "the new profile's quorum"),
            (
                "down-after-milliseconds",
                s.down_after_milliseconds.to_string(),
                "the new profile's",
            ),
            (
                "failover-timeout",
                s.failover_timeout.to_string(),
                "the new profile's",
            ),
            (
                "parallel-syncs",
                s.parallel_syncs.to_string(),
                "the new profile's",
            ),
            (
                "num-other-sentinels",
                sentinels.to_string(),
                "the new profile means",
            ),
            ("num-slaves", replicas.to_string(), "the new profile means"),
        ];
        wanted
            .into_iter()
            .filter_map(|(field, value, what)| {
                let is = self.fields.get(field).map_or("(none)", String::as_str);
                (is != value).then(|| format!("{}: {field} is {is}, {what} {value}", self.pod))
            })
            .collect()
    }
}

/// (other Sentinels, replicas) each Sentinel of `dep` must count.
pub fn expected_counts(dep: &Deployment) -> (usize, usize) {
    let count = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    (
        count(dep.sentinel.replicas).saturating_sub(1),
        count(dep.redis.replicas),
    )
}

/// One step: OLD → NEW (or the first profile alone).
#[derive(Debug, Clone)]
pub struct StepReport {
    /// `None` for the first profile run alone.
    pub from: Option<String>,
    pub to: String,
    /// The plan's changes (profile fields).
    pub changes: Vec<String>,
    /// The printed command lines run, in order.
    pub commands: Vec<Ran>,
    /// What the controllers and the stand-in did, from the step's start.
    pub events: Events,
    /// From the step's start to the deployment agreeing again.
    pub duration: Duration,
    pub longest_gap: Duration,
    pub acked: usize,
    pub lost: usize,
    /// Samples without exactly one master.
    pub breaches: Vec<String>,
    pub master_changes: usize,
    pub master_after: Option<String>,
    pub sentinels: Vec<SentinelView>,
    /// Bounds missed and steps that failed.
    pub missed: Vec<String>,
}

impl StepReport {
    /// With every bound checked against `dep` (the profile the step ends on).
    pub fn judged(mut self, dep: &Deployment) -> Self {
        if self.lost > 0 {
            self.missed
                .push(format!("{} acknowledged writes lost", self.lost));
        }
        if self.longest_gap > MAX_GAP {
            self.missed.push(format!(
                "{} without an acknowledged write (bound {})",
                secs(self.longest_gap),
                secs(MAX_GAP)
            ));
        }
        if self.acked == 0 {
            self.missed.push("no write acknowledged".into());
        }
        self.missed.extend(self.breaches.iter().cloned());
        let (sentinels, replicas) = expected_counts(dep);
        for view in &self.sentinels {
            self.missed
                .extend(view.mismatches(dep, sentinels, replicas));
        }
        self
    }

    pub fn passed(&self) -> bool {
        self.missed.is_empty()
    }

    pub fn title(&self) -> String {
        match &self.from {
            Some(from) => format!("{from} → {}", self.to),
            None => format!("{} (no change)", self.to),
        }
    }

    /// One line (and the misses under it).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} in {}, longest gap {}, {} acknowledged, {} lost, {} master change(s), {} command line(s) run",
            self.title(),
            if self.passed() { "passed" } else { "FAILED" },
            secs(self.duration),
            secs(self.longest_gap),
            self.acked,
            self.lost,
            self.master_changes,
            self.commands.len()
        );
        for miss in &self.missed {
            let _ = write!(s, "\n  - {miss}");
        }
        s
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "from": self.from,
            "to": self.to,
            "changes": self.changes,
            "passed": self.passed(),
            "duration_s": self.duration.as_secs_f64(),
            "longest_gap_s": self.longest_gap.as_secs_f64(),
            "acknowledged": self.acked,
            "lost": self.lost,
            "master_changes": self.master_changes,
            "master_after": self.master_after,
            "commands": self.commands.iter().map(|r| json!({
                "command": r.command,
                "status": r.status,
                "seconds": r.took.as_secs_f64(),
            })).collect::<Vec<_>>(),
            "events": self.events.iter().map(|(t, what)| json!({
                "at_s": t.as_secs_f64(),
                "what": what,
            })).collect::<Vec<_>>(),
            "sentinels": self.sentinels.iter().map(|v| json!({
                "pod": v.pod,
                "quorum": v.fields.get("quorum"),
                "down_after_milliseconds": v.fields.get("down-after-milliseconds"),
                "failover_timeout": v.fields.get("failover-timeout"),
                "parallel_syncs": v.fields.get("parallel-syncs"),
                "num_other_sentinels": v.fields.get("num-other-sentinels"),
                "num_slaves": v.fields.get("num-slaves"),
            })).collect::<Vec<_>>(),
            "missed": self.missed,
        })
    }
}

/// The whole `rehearse --from`.
#[derive(Debug, Clone)]
pub struct Report {
    pub profiles: Vec<String>,
    pub steps: Vec<StepReport>,
    pub elapsed: Duration,
}

impl Report {
    /// Every step ran and held its bounds.
    pub fn passed(&self) -> bool {
        self.steps.len() == self.profiles.len().saturating_sub(1).max(1)
            && self.steps.iter().all(StepReport::passed)
    }

    pub fn table(&self) -> String {
        let mut s = format!(
            "rehearse --from: {} ({} in all)\n\n",
            self.profiles.join(" → "),
            secs(self.elapsed)
        );
        let _ = writeln!(
            s,
            "{:<48} {:>9} {:>9} {:>8} {:>5} {:>9}  verdict",
            "step", "duration", "max gap", "acked", "lost", "commands"
        );
        for step in &self.steps {
            let _ = writeln!(
                s,
                "{:<48} {:>9} {:>9} {:>8} {:>5} {:>9}  {}",
                step.title(),
                secs(step.duration),
                secs(step.longest_gap),
                step.acked,
                step.lost,
                step.commands.len(),
                if step.passed() { "ok" } else { "FAILED" }
            );
            for miss in &step.missed {
                let _ = writeln!(s, "    - {miss}");
            }
        }
        let _ = writeln!(
            s,
            "\nbounds per step: no acknowledged write lost; at most {} without an acknowledged \
             write; exactly one master at every sample; every Sentinel reports the new quorum \
             and timings and counts no removed pod",
            secs(MAX_GAP)
        );
        if !self.passed() && self.steps.iter().all(StepReport::passed) {
            s.push_str("not every step ran\n");
        }
        s
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "profiles": self.profiles,
            "passed": self.passed(),
            "elapsed_s": self.elapsed.as_secs_f64(),
            "max_gap_s": MAX_GAP.as_secs_f64(),
            "steps": self.steps.iter().map(StepReport::json).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::load::{Source, load};

    fn reference() -> Deployment {
        let loaded = load(&Source::embedded_default()).expect("the reference profile loads");
        crate::resolve::resolve(&loaded.profile, "")
    }

    fn view(fields: &[(&str, &str)]) -> SentinelView {
        SentinelView {
            pod: "redis-sentinel-0".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_sentinel_with_old_settings_or_a_ghost_is_named() {
        let dep = reference();
        let (sentinels, replicas) = expected_counts(&dep);
        assert_eq!((sentinels, replicas), (2, 2));
        let good = [
            ("quorum", "2"),
            ("down-after-milliseconds", "5000"),
            ("failover-timeout", "10000"),
            ("parallel-syncs", "1"),
            ("num-other-sentinels", "2"),
            ("num-slaves", "2"),
        ];
        assert!(view(&good).mismatches(&dep, sentinels, replicas).is_empty());
        // What a Sentinel reports after 5 → 3 Sentinels without the reset steps.
        let mut ghost = good;
        ghost[4] = ("num-other-sentinels", "4");
        ghost[0] = ("quorum", "3");
        assert_eq!(
            view(&ghost).mismatches(&dep, sentinels, replicas),
            [
                "redis-sentinel-0: quorum is 3, the new profile's quorum 2",
                "redis-sentinel-0: num-other-sentinels is 4, the new profile means 2",
            ]
        );
        assert_eq!(
            view(&[]).mismatches(&dep, sentinels, replicas),
            ["redis-sentinel-0 did not answer SENTINEL MASTER"]
        );
    }
}
