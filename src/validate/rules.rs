//! The rules that validation holds a profile to and that the production checklist
//! (`crate::checklist`) reports on, written once so that the two cannot disagree.

use crate::profile::defaults;
use crate::resolve::Deployment;

/// The fewest Sentinels that still hold a majority after one is lost.
pub const MIN_SENTINELS: u32 = 3;

/// Whether `sentinels` keep a majority to fail over with when one of them is lost.
pub fn survives_a_lost_sentinel(sentinels: u32) -> bool {
    sentinels >= MIN_SENTINELS
}

/// Whether `quorum` is the majority of `sentinels`: the only quorum that is both safe (no
/// minority declares the master down) and live (one lost Sentinel blocks no failover).
pub fn quorum_is_majority(quorum: u32, sentinels: u32) -> bool {
    quorum == defaults::quorum_for(sentinels)
}

/// Whether Redis keeps its data across a restart: RDB snapshots or AOF, or both.
pub fn is_persistent(dep: &Deployment) -> bool {
    !dep.persistence.rdb.is_empty() || dep.persistence.aof_fsync.is_some()
}
