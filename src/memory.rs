//! How a Redis container's memory limit is shared out (DESIGN §4.2, issue 10): the dataset
//! (`maxmemory`), the copy-on-write of a fork, the replicas' output buffers and the process
//! itself. One formula, used by `resolve` for the defaults and by `validate` for the bounds.
//!
//! With `L` the memory limit and `r` the number of replicas (all of them hang off the master,
//! before and after a failover):
//!
//! - reserve for the process, its allocator's fragmentation and normal clients: `L/16`;
//! - the replicas' output buffers together: `min(r, 4)·L/16`, so each replica's hard limit is
//!   `L/16` up to 4 replicas and a share of `L/4` beyond (the buffers of many replicas would
//!   otherwise eat the whole limit); soft limit half the hard one for 60 s
//!   (`client-output-buffer-limit replica`); Redis does not count these in `maxmemory`;
//! - what is left is split in two, because every fork (an RDB save point, an AOF rewrite,
//!   each full sync of a replica, the backup job's `BGSAVE` on a replica) may copy every
//!   page written while it runs, up to the whole dataset:
//!   `maxmemory = (L − L/16 − min(r, 4)·L/16) / 2`, rounded down to whole MiB.
//!
//! For the 512Mi default with 2 replicas: (512 − 32 − 64) / 2 = 208Mi.

use serde::Serialize;

const MIB: u64 = 1024 * 1024;
/// Seconds a replica's output buffer may stay above its soft limit.
pub const REPLICA_BUFFER_SOFT_SECONDS: u32 = 60;

/// The memory limit is cut into this many shares: one for the process, one per replica (up
/// to [`BUFFER_SHARES`]) for the output buffers.
pub const SHARES: u64 = 16;

/// Replicas beyond this many share the output-buffer room of this many.
pub const BUFFER_SHARES: u32 = 4;

/// The shares of one memory limit, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub limit: u64,
    /// Process, fragmentation, normal clients.
    pub reserve: u64,
    pub replica_buffer_hard: u64,
    pub replica_buffer_soft: u64,
    /// The most the dataset may use with no room for a fork's copy-on-write: above this the
    /// limit cannot hold the dataset and the replicas' buffers at all.
    pub ceiling: u64,
    /// The default `maxmemory`: half of the ceiling, the other half kept for a fork.
    pub maxmemory: u64,
}

/// The budget of a container limited to `limit` bytes feeding `replicas` replicas.
pub fn budget(limit: u64, replicas: u32) -> Budget {
    let share = limit / SHARES;
    let buffers = share.saturating_mul(u64::from(replicas.min(BUFFER_SHARES)));
    let hard = buffers / u64::from(replicas.max(1));
    let ceiling = limit.saturating_sub(share).saturating_sub(buffers);
    Budget {
        limit,
        reserve: share,
        replica_buffer_hard: hard,
        replica_buffer_soft: hard / 2,
        ceiling,
        maxmemory: ceiling / 2 / MIB * MIB,
    }
}

/// `bytes` as the largest exact binary unit (`208Mi`, `1536Ki`), for messages and docs.
pub fn human(bytes: u64) -> String {
    for (unit, size) in [("Gi", MIB * 1024), ("Mi", MIB), ("Ki", 1024)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_limit_leaves_half_for_a_fork() {
        let b = budget(512 * MIB, 2);
        assert_eq!(b.reserve, 32 * MIB);
        assert_eq!(b.replica_buffer_hard, 32 * MIB);
        assert_eq!(b.replica_buffer_soft, 16 * MIB);
        assert_eq!(b.ceiling, 416 * MIB);
        assert_eq!(b.maxmemory, 208 * MIB);
        // dataset + its full copy + every replica buffer + reserve fit the limit.
        assert!(2 * b.maxmemory + 2 * b.replica_buffer_hard + b.reserve <= b.limit);
    }

    #[test]
    fn many_replicas_share_the_buffer_room() {
        // Up to four replicas each get L/16; beyond, they share L/4, and the dataset keeps
        // the same room however many replicas there are.
        let four = budget(1024 * MIB, 4);
        assert_eq!(four.replica_buffer_hard, 64 * MIB);
        let hundred = budget(1024 * MIB, 100);
        assert_eq!(hundred.maxmemory, four.maxmemory);
        assert!(hundred.replica_buffer_hard * 100 <= 256 * MIB);
        assert!(hundred.maxmemory > 0);
    }

    #[test]
    fn human_units() {
        assert_eq!(human(208 * MIB), "208Mi");
        assert_eq!(human(1536 * 1024), "1536Ki");
        assert_eq!(human(2048 * MIB), "2Gi");
        assert_eq!(human(1000), "1000");
    }
}
