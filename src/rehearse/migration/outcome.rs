//! What a migration scenario measured, and its verdict.

use std::time::Duration;

use serde_json::{Value, json};

use super::Scenario;

/// One client's figures.
#[derive(Debug, Clone)]
pub struct ClientFigures {
    pub name: String,
    /// When its rollout onto the switched env landed, after the cutover.
    pub switched_after: Duration,
    pub acked_before_cutover: usize,
    pub acked_after_cutover: usize,
    /// Acknowledged, and not on the final master.
    pub lost: usize,
    /// Refused by the old Redis with NOREPLICAS (its fence).
    pub refused_by_fence: usize,
    /// The longest time between two acknowledged writes.
    pub longest_gap: Duration,
}

/// One scenario's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub scenario: Scenario,
    pub preloaded: usize,
    /// Original keys found on the final master.
    pub carried: usize,
    pub clients: Vec<ClientFigures>,
    /// Full syncs the new master served from the start of the cutover to the end.
    pub full_syncs_after_cutover: Option<u64>,
    /// How long `copy` took to fail ([`Scenario::WrongOldPassword`]).
    pub copy_failed_after: Option<Duration>,
    /// What `verify` said about an old Redis that could have acknowledged a write (it must
    /// fail): (what was done, whether verify failed).
    pub verify_checks: Vec<(String, bool)>,
    /// Bounds missed and steps that failed.
    pub failures: Vec<String>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    pub fn json(&self) -> Value {
        json!({
            "scenario": self.scenario.title(),
            "preloaded_keys": self.preloaded,
            "keys_carried": self.carried,
            "full_syncs_after_cutover": self.full_syncs_after_cutover,
            "copy_failed_after_s": self.copy_failed_after.map(|d| d.as_secs_f64()),
            "clients": self.clients.iter().map(|c| json!({
                "name": c.name,
                "switched_after_cutover_s": c.switched_after.as_secs_f64(),
                "acked_before_cutover": c.acked_before_cutover,
                "acked_after_cutover": c.acked_after_cutover,
                "lost": c.lost,
                "refused_by_fence": c.refused_by_fence,
                "longest_gap_s": c.longest_gap.as_secs_f64(),
            })).collect::<Vec<_>>(),
            "verify_checks": self.verify_checks.iter().map(|(what, failed)| json!({
                "tampering": what, "verify_failed": failed,
            })).collect::<Vec<_>>(),
            "failures": self.failures,
            "elapsed_s": self.elapsed.as_secs_f64(),
        })
    }

    /// A few lines for a person.
    pub fn summary(&self) -> String {
        let mut text = format!("{}:", self.scenario.title());
        if let Some(after) = self.copy_failed_after {
            text.push_str(&format!(" copy refused in {:.1} s;", after.as_secs_f64()));
        } else {
            text.push_str(&format!(
                " {} of {} keys carried; full syncs caused by cutover: {};",
                self.carried,
                self.preloaded,
                self.full_syncs_after_cutover
                    .map_or("?".into(), |n| n.to_string())
            ));
        }
        for c in &self.clients {
            text.push_str(&format!(
                "\n  {}: switched {:.1} s after cutover; acknowledged {} before cutover, {} after; \
                 {} lost; {} refused by the fence; longest gap {:.2} s",
                c.name,
                c.switched_after.as_secs_f64(),
                c.acked_before_cutover,
                c.acked_after_cutover,
                c.lost,
                c.refused_by_fence,
                c.longest_gap.as_secs_f64()
            ));
        }
        for (what, failed) in &self.verify_checks {
            text.push_str(&format!(
                "\n  verify after {what}: {}",
                if *failed {
                    "failed, as it must"
                } else {
                    "PASSED"
                }
            ));
        }
        for failure in &self.failures {
            text.push_str(&format!("\n  FAILED: {failure}"));
        }
        text
    }
}

/// The bounds: every key carried, no acknowledged write lost, no full sync caused by the
/// cutover, writes acknowledged on both sides of the cutover by every client.
pub(super) fn judge(outcome: &mut Outcome) {
    if outcome.carried != outcome.preloaded {
        outcome.failures.push(format!(
            "{} of {} original keys on the final master",
            outcome.carried, outcome.preloaded
        ));
    }
    if let Some(n) = outcome.full_syncs_after_cutover.filter(|n| *n > 0) {
        outcome.failures.push(format!(
            "the cutover caused {n} full resync(s) of the new master's replicas"
        ));
    }
    for c in &outcome.clients {
        if c.lost > 0 {
            outcome
                .failures
                .push(format!("{}: {} acknowledged writes lost", c.name, c.lost));
        }
        if c.acked_before_cutover == 0 || c.acked_after_cutover == 0 {
            outcome.failures.push(format!(
                "{}: writes acknowledged {} before and {} after the cutover; both must be > 0",
                c.name, c.acked_before_cutover, c.acked_after_cutover
            ));
        }
    }
}
