//! The rehearsal's verdicts and its report: a table for people, JSON for machines.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use super::scenario::{Kind, Measured};

/// The bounds a rehearsal holds the deployment to (the issue's, for down-after 5000 ms).
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Median time from a master kill to a new master named by a quorum of Sentinels:
    /// down-after plus the Sentinels' agreement and promotion.
    pub kill_to_new_master: Duration,
    /// Longest client write outage in a planned hand-over (manual failover, graceful stop).
    pub planned_outage: Duration,
    /// A lost write after a master kill was acknowledged at most this long before the kill:
    /// `min-replicas-max-lag`, past which the master refuses writes no replica confirmed.
    pub kill_loss_window: Duration,
    /// A raw `SENTINEL FAILOVER` (no pause first): how long the deployment may acknowledge
    /// writes it then loses, from the promoted replica leaving its master until the deposed
    /// master is fenced (README, "The deposed master's window").
    pub raw_failover_loss_window: Duration,
    /// Longest write outage when Sentinel promotes a replica that is stopping: less than
    /// down-after-milliseconds, i.e. its hook hands over instead of leaving the Sentinels to
    /// notice a dead master.
    pub stopping_promoted_outage: Duration,
    /// The master stopped with a data set to save: how long its process must run on after
    /// the Sentinels named the new master for the scenario to rehearse anything (the client
    /// must be writing again before that process is gone).
    pub old_process_runs_on: Duration,
    /// ... and how long before that process is gone the client must be writing again: a
    /// client released by the exit itself writes again a few milliseconds before the harness
    /// sees the process reaped.
    pub released_before_exit: Duration,
}

/// See [`Bounds::raw_failover_loss_window`]. The leader Sentinel fences the deposed master
/// from its notification script at `+selected-slave`, one timer tick (up to 100 ms) before it
/// even sends `REPLICAOF NO ONE`; the script itself takes tens of milliseconds. What is left
/// is the replication lag of the promoted replica and scheduling noise, well under this.
const RAW_FAILOVER_LOSS_WINDOW: Duration = Duration::from_millis(500);

impl Bounds {
    pub fn for_timings(down_after_ms: u32, min_replicas_max_lag_s: u32) -> Self {
        Bounds {
            kill_to_new_master: Duration::from_millis(u64::from(down_after_ms) + 3000),
            planned_outage: Duration::from_secs(2),
            kill_loss_window: Duration::from_secs(u64::from(min_replicas_max_lag_s)),
            raw_failover_loss_window: RAW_FAILOVER_LOSS_WINDOW,
            stopping_promoted_outage: Duration::from_millis(u64::from(down_after_ms)),
            old_process_runs_on: Duration::from_millis(400),
            released_before_exit: Duration::from_millis(250),
        }
    }
}

/// One scenario run with what it missed.
#[derive(Debug, Clone)]
pub struct Row {
    pub measured: Measured,
    pub missed: Vec<String>,
}

/// The whole rehearsal.
#[derive(Debug, Clone)]
pub struct Report {
    pub profile: String,
    pub pods: usize,
    /// Containers of the rendered pods that were not run (sidecars of other images).
    pub not_emulated: Vec<String>,
    pub down_after_ms: u32,
    pub bounds: Bounds,
    pub rows: Vec<Row>,
    /// Median of the kill scenarios' time to a new master.
    pub kill_median: Option<Duration>,
    /// Rehearsal-wide misses (the median bound).
    pub missed: Vec<String>,
    pub elapsed: Duration,
}

/// Check one run against the bounds.
pub fn judge(m: &Measured, bounds: &Bounds) -> Vec<String> {
    let mut missed = m.failures.clone();
    if m.master_after.is_none() && m.failures.is_empty() {
        missed.push("no agreed master at the end".into());
    }
    if m.kind.planned() {
        if m.longest_gap > bounds.planned_outage {
            missed.push(format!(
                "write outage {} > {}",
                secs(m.longest_gap),
                secs(bounds.planned_outage)
            ));
        }
        if m.new_master_after.is_none() {
            missed.push("no new master named".into());
        }
    }
    if m.kind == Kind::MasterStoppedSaving {
        missed.extend(released_before_exit(m, bounds));
    }
    if m.kind == Kind::StoppingReplicaPromoted && m.longest_gap >= bounds.stopping_promoted_outage {
        missed.push(format!(
            "write outage {} ≥ {}: the promoted replica left without handing over",
            secs(m.longest_gap),
            secs(bounds.stopping_promoted_outage)
        ));
    }
    if m.kind.rollout() {
        missed.extend(m.breaches.iter().cloned());
        if m.master_changes != 1 {
            missed.push(format!(
                "the master changed {} times (one hand-over expected)",
                m.master_changes
            ));
        }
    }
    if m.lost > 0 && !m.kind.may_lose_writes() {
        missed.push(format!("{} acknowledged writes lost", m.lost));
    }
    if let Some(n) = m.direct_acked.filter(|n| *n > 0) {
        missed.push(format!(
            "the old master acknowledged {n} writes sent to it after failover-redis.sh reported success"
        ));
    }
    if let Some(window) = m.loss_window
        && m.kind.raw_failover()
        && window > bounds.raw_failover_loss_window
    {
        missed.push(format!(
            "{} lost writes acknowledged over {} (> {})",
            m.lost,
            secs(window),
            secs(bounds.raw_failover_loss_window)
        ));
    }
    if let Some(oldest) = m.oldest_lost_before_fault
        && m.kind.may_lose_writes()
        && oldest > bounds.kill_loss_window
    {
        missed.push(format!(
            "a lost write was acknowledged {} before the kill (> {})",
            secs(oldest),
            secs(bounds.kill_loss_window)
        ));
    }
    missed
}

/// The stopped master's process ran on after the Sentinels named the new master (its final
/// save): the default-configured client must have been writing again before that process was
/// gone, not released by its exit. A process gone too soon after the new master was named
/// rehearses nothing, and says so.
fn released_before_exit(m: &Measured, bounds: &Bounds) -> Option<String> {
    let (Some(named), Some(exited)) = (m.new_master_after, m.old_exit_after) else {
        return Some("the stop was not watched to its end".into());
    };
    let ran_on = exited.saturating_sub(named);
    if ran_on < bounds.old_process_runs_on {
        return Some(format!(
            "the old Redis was gone {} after the new master was named (< {}):              no paused connection was held open, nothing was rehearsed",
            secs(ran_on),
            secs(bounds.old_process_runs_on)
        ));
    }
    match m.writes_back_after {
        Some(back) if back + bounds.released_before_exit <= exited => None,
        back => Some(format!(
            "writes came back at {}, not {} before the old Redis was gone at {}: the client \
             waited on its paused connection until the process exited",
            back.map_or("-".into(), secs),
            secs(bounds.released_before_exit),
            secs(exited)
        )),
    }
}

/// The median of the master-kill runs and whether it holds.
pub fn kill_median(rows: &[Row], bounds: &Bounds) -> (Option<Duration>, Vec<String>) {
    let kills: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            matches!(
                r.measured.kind,
                Kind::MasterKilled | Kind::SentinelsRestartedThenMasterKilled
            )
        })
        .collect();
    if kills.is_empty() {
        // A rehearsal of chosen scenarios (`--only`) without a kill has no median to hold.
        return (None, Vec::new());
    }
    let mut times: Vec<Duration> = kills
        .iter()
        .filter_map(|r| r.measured.new_master_after)
        .collect();
    times.sort();
    let median = match times.len() {
        0 => None,
        n if n % 2 == 1 => Some(times[n / 2]),
        n => Some((times[n / 2 - 1] + times[n / 2]) / 2),
    };
    let missed = match median {
        Some(m) if m > bounds.kill_to_new_master => vec![format!(
            "median time to a new master after a kill {} > {}",
            secs(m),
            secs(bounds.kill_to_new_master)
        )],
        None => vec!["no master-kill run named a new master".into()],
        _ => Vec::new(),
    };
    (median, missed)
}

impl Report {
    pub fn passed(&self) -> bool {
        self.missed.is_empty() && self.rows.iter().all(|r| r.missed.is_empty())
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "rehearsal of {} ({} pods, down-after {} ms)\n",
            self.profile, self.pods, self.down_after_ms
        );
        if !self.not_emulated.is_empty() {
            let _ = writeln!(out, "not run: {}\n", self.not_emulated.join(", "));
        }
        let _ = writeln!(
            out,
            "{:<40} {:>10} {:>11} {:>11} {:>9} {:>6} {:>5} {:>11} {:>6}  verdict",
            "scenario",
            "new master",
            "writes back",
            "longest gap",
            "(bot gap)",
            "acked",
            "lost",
            "loss window",
            "direct"
        );
        for row in &self.rows {
            let m = &row.measured;
            let _ = writeln!(
                out,
                "{:<40} {:>10} {:>11} {:>11} {:>9} {:>6} {:>5} {:>11} {:>6}  {}",
                m.kind.title(),
                m.new_master_after.map_or("-".into(), secs),
                m.writes_back_after.map_or("-".into(), secs),
                secs(m.longest_gap),
                secs(m.bot_gap),
                m.acked,
                m.lost,
                m.loss_window.map_or("-".into(), secs),
                m.direct_acked.map_or("-".into(), |n| n.to_string()),
                if row.missed.is_empty() {
                    "ok".to_string()
                } else {
                    format!("FAILED: {}", row.missed.join("; "))
                }
            );
            if !m.refused.is_empty() {
                let _ = writeln!(out, "{:<4}refused: {}", "", refused(m));
            }
            if m.kind.rollout() {
                let _ = writeln!(
                    out,
                    "{:<4}master changes: {}; {}",
                    "",
                    m.master_changes,
                    if m.breaches.is_empty() {
                        "one master and at most one Redis pod down at every sample".to_string()
                    } else {
                        m.breaches.join("; ")
                    }
                );
            }
        }
        let _ = writeln!(
            out,
            "\nmaster killed → new master, median: {} (bound {})",
            self.kill_median.map_or("-".into(), secs),
            secs(self.bounds.kill_to_new_master)
        );
        let _ = writeln!(
            out,
            "planned hand-over: write outage ≤ {} for a client library with default settings \
             (no socket timeout), no acknowledged write lost, none acknowledged by the old \
             master after failover-redis.sh returns;\n\
             master killed: lost writes acknowledged ≤ {} before the kill; \
             raw SENTINEL FAILOVER: lost writes acknowledged within {}",
            secs(self.bounds.planned_outage),
            secs(self.bounds.kill_loss_window),
            secs(self.bounds.raw_failover_loss_window)
        );
        for missed in &self.missed {
            let _ = writeln!(out, "FAILED: {missed}");
        }
        let _ = writeln!(
            out,
            "{} in {}",
            if self.passed() { "PASSED" } else { "FAILED" },
            secs(self.elapsed)
        );
        out
    }

    pub fn json(&self) -> serde_json::Value {
        let ms = |d: Option<Duration>| d.map(|d| d.as_millis());
        json!({
            "profile": self.profile,
            "pods": self.pods,
            "notEmulated": self.not_emulated,
            "downAfterMilliseconds": self.down_after_ms,
            "passed": self.passed(),
            "elapsedMs": self.elapsed.as_millis(),
            "killMedianMs": ms(self.kill_median),
            "bounds": {
                "killToNewMasterMs": self.bounds.kill_to_new_master.as_millis(),
                "plannedOutageMs": self.bounds.planned_outage.as_millis(),
                "killLossWindowMs": self.bounds.kill_loss_window.as_millis(),
                "rawFailoverLossWindowMs": self.bounds.raw_failover_loss_window.as_millis(),
                "stoppingPromotedOutageMs": self.bounds.stopping_promoted_outage.as_millis(),
                "oldProcessRunsOnMs": self.bounds.old_process_runs_on.as_millis(),
                "releasedBeforeExitMs": self.bounds.released_before_exit.as_millis(),
            },
            "missed": self.missed,
            "scenarios": self.rows.iter().map(|r| {
                let m = &r.measured;
                json!({
                    "scenario": m.kind.slug(),
                    "title": m.kind.title(),
                    "masterBefore": m.master_before,
                    "masterAfter": m.master_after,
                    "newMasterAfterMs": ms(m.new_master_after),
                    "writesBackAfterMs": ms(m.writes_back_after),
                    "longestGapMs": m.longest_gap.as_millis(),
                    "botLongestGapMs": m.bot_gap.as_millis(),
                    "acknowledged": m.acked,
                    "lost": m.lost,
                    "lossWindowMs": ms(m.loss_window),
                    "directAcknowledged": m.direct_acked,
                    "oldRedisGoneAfterMs": ms(m.old_exit_after),
                    "refused": m.refused,
                    "breaches": m.breaches,
                    "masterChanges": m.master_changes,
                    "passed": r.missed.is_empty(),
                    "missed": r.missed,
                })
            }).collect::<Vec<_>>(),
        })
    }
}

/// `NOREPLICAS 812, no answer 3`.
fn refused(m: &Measured) -> String {
    m.refused
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `6.31 s`.
pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(kind: Kind) -> Measured {
        Measured {
            kind,
            master_before: "redis-master-0".into(),
            master_after: Some("redis-replica-0".into()),
            new_master_after: Some(Duration::from_millis(900)),
            writes_back_after: Some(Duration::from_millis(950)),
            longest_gap: Duration::from_millis(950),
            bot_gap: Duration::from_millis(900),
            acked: 500,
            lost: 0,
            loss_window: None,
            direct_acked: None,
            old_exit_after: None,
            oldest_lost_before_fault: None,
            failures: Vec::new(),
            refused: Default::default(),
            breaches: Vec::new(),
            master_changes: 1,
            timeline: None,
        }
    }

    #[test]
    fn bounds_catch_a_slow_or_lossy_hand_over() {
        let bounds = Bounds::for_timings(5000, 10);
        assert!(judge(&measured(Kind::ManualFailover), &bounds).is_empty());
        let mut slow = measured(Kind::MasterStopped);
        slow.longest_gap = Duration::from_millis(2500);
        assert_eq!(judge(&slow, &bounds).len(), 1);
        let mut lossy = measured(Kind::ReplicaKilled);
        lossy.lost = 3;
        assert_eq!(judge(&lossy, &bounds), ["3 acknowledged writes lost"]);
        let mut killed = measured(Kind::MasterKilled);
        killed.lost = 2;
        killed.oldest_lost_before_fault = Some(Duration::from_millis(3));
        assert!(judge(&killed, &bounds).is_empty());
        killed.oldest_lost_before_fault = Some(Duration::from_secs(11));
        assert_eq!(judge(&killed, &bounds).len(), 1);
        let mut fenced_late = measured(Kind::ManualFailover);
        fenced_late.direct_acked = Some(2);
        assert_eq!(judge(&fenced_late, &bounds).len(), 1);
        let mut raw = measured(Kind::RawSentinelFailover);
        raw.lost = 4;
        raw.loss_window = Some(Duration::from_millis(20));
        assert!(judge(&raw, &bounds).is_empty());
        raw.loss_window = Some(Duration::from_millis(900));
        assert_eq!(judge(&raw, &bounds).len(), 1);
    }

    #[test]
    fn a_client_released_only_by_the_old_process_exiting_is_caught() {
        let bounds = Bounds::for_timings(5000, 10);
        let mut saving = measured(Kind::MasterStoppedSaving);
        // Released by the hook at 0.95 s; the old process ran on until 2.4 s.
        saving.old_exit_after = Some(Duration::from_millis(2400));
        assert!(judge(&saving, &bounds).is_empty());
        // Released only when the process was gone: as measured with neither the hook's
        // CLIENT KILL nor the fence's unpause, writes back 19 ms before the harness saw the
        // process gone (3.66 s new master, 4.21 s back, 4.22 s gone).
        saving.new_master_after = Some(Duration::from_millis(3657));
        saving.writes_back_after = Some(Duration::from_millis(4205));
        saving.old_exit_after = Some(Duration::from_millis(4224));
        let missed = judge(&saving, &bounds);
        assert_eq!(missed.len(), 1, "{missed:?}");
        assert!(missed[0].contains("until the process exited"), "{missed:?}");
        // As measured with the hook's CLIENT KILL: back 0.09 s after the new master.
        saving.new_master_after = Some(Duration::from_millis(3896));
        saving.writes_back_after = Some(Duration::from_millis(3987));
        saving.old_exit_after = Some(Duration::from_millis(4909));
        assert!(judge(&saving, &bounds).is_empty());
        // Gone right after the new master was named: nothing was rehearsed.
        saving.new_master_after = Some(Duration::from_millis(900));
        saving.old_exit_after = Some(Duration::from_millis(1000));
        saving.writes_back_after = Some(Duration::from_millis(950));
        assert!(judge(&saving, &bounds)[0].contains("nothing was rehearsed"));
        saving.old_exit_after = None;
        assert_eq!(judge(&saving, &bounds).len(), 1);
    }

    #[test]
    fn the_kill_median_is_checked() {
        let bounds = Bounds::for_timings(5000, 10);
        let rows: Vec<Row> = [6000, 9500, 6400]
            .into_iter()
            .map(|ms| {
                let mut m = measured(Kind::MasterKilled);
                m.new_master_after = Some(Duration::from_millis(ms));
                Row {
                    measured: m,
                    missed: Vec::new(),
                }
            })
            .collect();
        let (median, missed) = kill_median(&rows, &bounds);
        assert_eq!(median, Some(Duration::from_millis(6400)));
        assert!(missed.is_empty());
        let (_, missed) = kill_median(&rows[1..2], &bounds);
        assert_eq!(missed.len(), 1);
        assert_eq!(kill_median(&[], &bounds), (None, Vec::new()));
    }
}
