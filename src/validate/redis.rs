//! Redis: authentication, write safety, rollout and shutdown timings, and persistence.

use super::{Check, rules};
use crate::profile::bounds;
use crate::profile::defaults::{self, SHUTDOWN_RESERVE_SECONDS};

impl Check<'_> {
    /// Auth off is allowed (a development cluster, a network policy doing the job) but never
    /// silent: without it any pod that reaches the ports can `CONFIG SET` Redis or
    /// `SENTINEL REMOVE` the master.
    pub(super) fn auth(&mut self) {
        let enabled = self.profile.spec.auth.as_ref().and_then(|a| a.enabled);
        if enabled == Some(false) && self.profile.spec.development != Some(true) {
            self.warning("spec.auth.enabled", "authentication is off", |f| {
                f.found("false").help(
                    "any pod that can reach ports 6379 and 26379 can reconfigure Redis and \
                     Sentinel; keep auth on outside development",
                )
            });
        }
    }

    pub(super) fn redis(&mut self) {
        let redis = self.profile.spec.redis.as_ref();
        let replicas = self.dep.redis.replicas;
        let to_write = redis.and_then(|r| r.min_replicas_to_write);
        if let Some(to_write) = to_write
            && to_write > replicas - 1
        {
            self.error(
                "spec.redis.minReplicasToWrite",
                format!("minReplicasToWrite is too high for {replicas} replicas"),
                |f| {
                    f.found(to_write).valid(format!(
                        "0 to {} (redis.replicas − 1): after a failover with the old master still \
                         down the new master has only {} connected, and would refuse every write",
                        replicas - 1,
                        plural(replicas - 1, "replica")
                    ))
                },
            );
        }
        if redis.and_then(|r| r.min_replicas_max_lag) == Some(0)
            && self.dep.redis.min_replicas_to_write > 0
        {
            self.error("spec.redis.minReplicasMaxLag", "minReplicasMaxLag 0 turns minReplicasToWrite off", |f| {
                f.found(0)
                    .valid("1 or more seconds: Redis checks min-replicas-to-write only when min-replicas-max-lag is set too")
            });
        }
        let rollout_wait = self.dep.redis.rollout_wait_seconds;
        if rollout_wait > bounds::MAX_ROLLOUT_WAIT_SECONDS {
            self.error(
                "spec.redis.rolloutWaitSeconds",
                "the rollout wait is too long",
                |f| {
                    f.found(rollout_wait)
                        .valid(format!(
                            "0 to {}: a Redis pod's termination grace period covers this wait, and a pod \
                             that takes longer to stop holds up node drains",
                            bounds::MAX_ROLLOUT_WAIT_SECONDS
                        ))
                },
            );
        }
        if let Some(grace) = redis.and_then(|r| r.termination_grace_period_seconds) {
            let failover_timeout = self.dep.sentinel.failover_timeout;
            let failover_seconds = failover_timeout.div_ceil(1000);
            let minimum = rollout_wait + failover_seconds + SHUTDOWN_RESERVE_SECONDS;
            if grace < minimum {
                self.error("spec.redis.terminationGracePeriodSeconds", "the termination grace period is too short for a failover", |f| {
                    f.found(grace)
                        .valid(format!(
                            "at least {minimum}: a Redis pod's preStop hook waits up to rolloutWaitSeconds \
                             ({rollout_wait} s) for the other Redis pods, then up to failoverTimeout \
                             ({failover_seconds} s) for Sentinel to name a new master, then Redis needs \
                             {SHUTDOWN_RESERVE_SECONDS} s to save and exit"
                        ))
                        .help(format!(
                            "or leave it out: the default is {}",
                            defaults::default_redis_grace_seconds(rollout_wait, failover_timeout)
                        ))
                });
            }
        }
        self.storage_size(
            "spec.redis.storage.size",
            redis
                .and_then(|r| r.storage.as_ref())
                .and_then(|s| s.size.as_deref()),
        );
        self.resources(
            "spec.redis.resources",
            redis.and_then(|r| r.resources.as_ref()),
            |dep| dep.redis.resources.clone(),
        );
    }

    pub(super) fn persistence(&mut self) {
        let persistence = self.profile.spec.persistence.as_ref();
        let acknowledged =
            persistence.and_then(|p| p.acknowledge_data_loss_on_restart) == Some(true);
        if !rules::is_persistent(self.dep) && !acknowledged {
            self.error("spec.persistence", "persistence is off: no RDB snapshots and no AOF", |f| {
                f.valid("RDB or AOF on, or `acknowledgeDataLossOnRestart: true`")
                    .help("a master that restarts empty makes its replicas resync from it and wipe their data")
            });
        }
    }
}

fn plural(n: u32, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
