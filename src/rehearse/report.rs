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
}

impl Bounds {
    pub fn for_timings(down_after_ms: u32, min_replicas_max_lag_s: u32) -> Self {
        Bounds {
            kill_to_new_master: Duration::from_millis(u64::from(down_after_ms) + 3000),
            planned_outage: Duration::from_secs(2),
            kill_loss_window: Duration::from_secs(u64::from(min_replicas_max_lag_s)),
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

/// The median of the master-kill runs and whether it holds.
pub fn kill_median(rows: &[Row], bounds: &Bounds) -> (Option<Duration>, Vec<String>) {
    let mut times: Vec<Duration> = rows
        .iter()
        .filter(|r| {
            matches!(
                r.measured.kind,
                Kind::MasterKilled | Kind::SentinelsRestartedThenMasterKilled
            )
        })
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
            "{:<40} {:>10} {:>11} {:>11} {:>6} {:>5}  verdict",
            "scenario", "new master", "writes back", "longest gap", "acked", "lost"
        );
        for row in &self.rows {
            let m = &row.measured;
            let _ = writeln!(
                out,
                "{:<40} {:>10} {:>11} {:>11} {:>6} {:>5}  {}",
                m.kind.title(),
                m.new_master_after.map_or("-".into(), secs),
                m.writes_back_after.map_or("-".into(), secs),
                secs(m.longest_gap),
                m.acked,
                m.lost,
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
            "planned hand-over: write outage ≤ {}, no acknowledged write lost; \
             master killed: lost writes acknowledged ≤ {} before the kill",
            secs(self.bounds.planned_outage),
            secs(self.bounds.kill_loss_window)
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
                    "acknowledged": m.acked,
                    "lost": m.lost,
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
            acked: 500,
            lost: 0,
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
    }
}
