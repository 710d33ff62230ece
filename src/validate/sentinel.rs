//! Sentinel: an odd number of Sentinels, the majority as quorum, and timings that let a
//! failover finish.

use super::{Check, rules};
use crate::profile::bounds;
use crate::profile::defaults;

impl Check<'_> {
    pub(super) fn sentinel(&mut self) {
        let n = self.dep.sentinel.replicas;
        let sentinel = self.profile.spec.sentinel.as_ref();
        const REPLICAS: &str = "spec.sentinel.replicas";
        if n.is_multiple_of(2) {
            self.error(REPLICAS, "the number of Sentinels must be odd", |f| {
                f.found(n).valid(format!(
                    "an odd number, at least 3 (e.g. {}): {n} Sentinels survive no more losses \
                     than {}, and a 50/50 split elects no one",
                    (n + 1).max(3),
                    n - 1
                ))
            });
        } else if !rules::survives_a_lost_sentinel(n) {
            if self.profile.spec.development == Some(true) {
                self.warning(REPLICAS, "one Sentinel is no high availability", |f| {
                    f.found(n)
                        .help("fine for development; use 3 or more Sentinels in production")
                });
            } else {
                self.error(REPLICAS, "one Sentinel cannot fail over safely", |f| {
                    f.found(n)
                        .valid("3 or more (odd): a lone Sentinel is a single point of failure and cannot tell a dead master from its own network trouble")
                        .help("for a development profile, set `spec.development: true`")
                });
            }
        }
        if let Some(quorum) = sentinel.and_then(|s| s.quorum) {
            let required = defaults::quorum_for(n);
            if !rules::quorum_is_majority(quorum, n) {
                self.error("spec.sentinel.quorum", format!("quorum must be the majority of {n} Sentinels"), |f| {
                    f.found(quorum)
                        .valid(format!(
                            "{required} (⌊{n}/2⌋ + 1): a lower quorum lets a minority declare the master \
                             down; a higher one blocks failover once one Sentinel is lost"
                        ))
                        .help("or leave `quorum` out: it defaults to the majority")
                });
            }
        }
        let down_after = self.dep.sentinel.down_after_milliseconds;
        let failover = self.dep.sentinel.failover_timeout;
        if failover <= down_after {
            // Point at whichever of the two the profile actually wrote.
            let path = if sentinel.and_then(|s| s.failover_timeout).is_some() {
                "spec.sentinel.failoverTimeout"
            } else {
                "spec.sentinel.downAfterMilliseconds"
            };
            self.error(
                path,
                format!(
                    "failoverTimeout ({failover}) must be greater than \
                     downAfterMilliseconds ({down_after})"
                ),
                |f| {
                    f.found(if path.ends_with("failoverTimeout") {
                        failover
                    } else {
                        down_after
                    })
                        .valid(format!(
                            "failoverTimeout above {down_after} (e.g. {}): a failover cannot finish before \
                             the master is even considered down",
                            suggested_failover_timeout(down_after)
                        ))
                },
            );
        }
        if let Some(parallel) = sentinel.and_then(|s| s.parallel_syncs) {
            let replicas = self.dep.redis.replicas;
            if parallel > replicas {
                self.error(
                    "spec.sentinel.parallelSyncs",
                    "parallelSyncs out of range",
                    |f| {
                        f.found(parallel)
                            .valid(format!(
                                "1 to {replicas} (redis.replicas): replicas resyncing with the new master \
                                 at once; 0 would never reconfigure them"
                            ))
                    },
                );
            }
        }
        self.resources(
            "spec.sentinel.resources",
            sentinel.and_then(|s| s.resources.as_ref()),
            |dep| dep.sentinel.resources.clone(),
        );
        self.storage_size(
            "spec.sentinel.storage.size",
            sentinel
                .and_then(|s| s.storage.as_ref())
                .and_then(|s| s.size.as_deref()),
        );
    }
}

/// A failover timeout to suggest: twice the down-after time, but never past what Sentinel
/// accepts (down-after is bounded one below that, so the suggestion always fits).
fn suggested_failover_timeout(down_after: u32) -> u32 {
    down_after
        .saturating_mul(2)
        .min(bounds::MAX_FAILOVER_TIMEOUT_MS)
}
