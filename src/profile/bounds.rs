//! The bounds of every number and list in a profile, each with where it comes from. The spec
//! types put them into the JSON Schema (`minimum`, `maximum`, `maxItems`), and the structural
//! check enforces the schema, so the editor, check-jsonschema and the tool apply the same
//! numbers. A count is bounded before anything is built from it: the renderers allocate per
//! pod, and `redis.replicas: 4294967295` must be a finding, not a 100 GB allocation.

/// Redis reads its integer settings (`min-replicas-max-lag`, the `save` points) as a C `int`:
/// anything larger is refused ("argument must be between 0 and 2147483647") or wraps.
pub const REDIS_INT_MAX: u32 = i32::MAX as u32;

/// Read replicas. Far beyond any real deployment (each replica is a full copy of the data that
/// the master streams to), yet small enough that every per-pod list stays tiny.
pub const MAX_REDIS_REPLICAS: u32 = 100;
/// `minReplicasToWrite` can never exceed the replicas left after a failover.
pub const MAX_MIN_REPLICAS_TO_WRITE: u32 = MAX_REDIS_REPLICAS - 1;

/// Sentinels. Failover needs a majority to talk to each other; beyond a few more voters add
/// gossip, not safety (the Redis docs use 3 or 5).
pub const MAX_SENTINELS: u32 = 15;
/// The quorum of the largest Sentinel count.
pub const MAX_QUORUM: u32 = MAX_SENTINELS / 2 + 1;

/// A shorter silence (a GC pause, an fsync, a network blip) would fail over from a healthy
/// master.
pub const MIN_DOWN_AFTER_MS: u32 = 1000;
/// Sentinel reads `failover-timeout` with `atoi` and refuses anything that is not a positive
/// `int` ("negative or zero time parameter").
pub const MAX_FAILOVER_TIMEOUT_MS: u32 = i32::MAX as u32;
/// `down-after-milliseconds` has the same `int` limit, and must stay below the failover
/// timeout, so one less leaves room for a valid `failoverTimeout`.
pub const MAX_DOWN_AFTER_MS: u32 = MAX_FAILOVER_TIMEOUT_MS - 1;
/// The failover timeout must exceed the shortest `down-after-milliseconds`.
pub const MIN_FAILOVER_TIMEOUT_MS: u32 = MIN_DOWN_AFTER_MS + 1;

/// RDB save points: Redis takes any number, but more than a handful is a mistake.
pub const MAX_SAVE_POINTS: u32 = 16;
/// Client workloads: each gets its own patch file.
pub const MAX_CLIENTS: u32 = 100;
/// Objects of the old Redis removed by the last migration phase.
pub const MAX_REMOVED_OBJECTS: u32 = 100;
/// Labels in one label map.
pub const MAX_LABELS: u32 = 64;
/// Backup snapshots kept on the backup volume.
pub const MAX_BACKUP_RETENTION: u32 = 1000;
/// `masterName`: Redis has no limit, but the name is repeated in every Sentinel command line,
/// client environment and runbook command; a DNS name's length is plenty.
pub const MAX_MASTER_NAME: u32 = 253;

/// The largest `spec.redis.rolloutWaitSeconds`: a pod that cannot stop within an hour
/// blocks node drains for longer than any operator waits.
pub const MAX_ROLLOUT_WAIT_SECONDS: u32 = 3600;
