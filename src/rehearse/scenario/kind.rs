//! What each scenario does to the deployment, and which bounds hold it.

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
    /// the old process running after the Sentinels named the new master
    /// ([`saving`](super::super::saving)).
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
    /// all at once ([`rollout`](super::super::rollout)).
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
