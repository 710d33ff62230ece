//! The container filesystem contract shared by the config templates and the Kubernetes
//! objects: where each volume is mounted and what each file is called. Both sides read these
//! constants, so a script can never look for a file the pod does not mount.

/// ConfigMap volume (read-only) holding config templates and scripts, in every pod.
pub const CONFIG_DIR: &str = "/config";
/// The data volume (a PVC): Redis's RDB/AOF and live `redis.conf`, or Sentinel's live
/// `sentinel.conf`. The live config files are rewritten in place by Redis (`CONFIG REWRITE`)
/// and Sentinel (temp file + rename), so they are never on the ConfigMap.
pub const DATA_DIR: &str = "/data";
/// Scratch space; the root filesystem is read-only.
pub const TMP_DIR: &str = "/tmp";

/// `redis.conf` template (ConfigMap key).
pub const REDIS_CONF: &str = "redis.conf";
/// `sentinel.conf` template (ConfigMap key).
pub const SENTINEL_CONF: &str = "sentinel.conf";
/// Shell functions shared by every script (ConfigMap key, in both ConfigMaps).
pub const LIB_SH: &str = "lib.sh";
/// Start script of every Redis pod.
pub const START_REDIS: &str = "start-redis.sh";
/// preStop hook of every Redis pod (planned failover when the pod is the master).
pub const PRESTOP_REDIS: &str = "prestop-redis.sh";
/// Manual, loss-free failover, run in the master pod with `kubectl exec`.
pub const FAILOVER_REDIS: &str = "failover-redis.sh";
/// Readiness / liveness probe of every Redis pod.
pub const PROBE_REDIS: &str = "probe-redis.sh";
/// Start script of every Sentinel pod.
pub const START_SENTINEL: &str = "start-sentinel.sh";
/// One step of the zero-downtime password rotation, in every Redis and Sentinel pod.
pub const ROTATE_PASSWORD: &str = "rotate-password.sh";
/// Readiness / liveness probe of every Sentinel pod.
pub const PROBE_SENTINEL: &str = "probe-sentinel.sh";
/// Sentinel's notification and client-reconfig script: fences the deposed master of a
/// failover. Sentinel executes it itself, so it is the one file with the execute bit.
pub const FENCE_REDIS: &str = "fence-redis.sh";
/// preStop hook of the Sentinel pods: no Sentinel leaves in the middle of a hand-over.
pub const PRESTOP_SENTINEL: &str = "prestop-sentinel.sh";

/// Script of the backup CronJob (in the backup ConfigMap, next to `lib.sh`).
pub const BACKUP_SH: &str = "backup.sh";
/// Mount point of the backup volume in the backup pod, passed to the script as `BACKUP_DIR`.
pub const BACKUP_DIR: &str = "/backup";
pub const ENV_BACKUP_DIR: &str = "BACKUP_DIR";
pub const VOLUME_BACKUP: &str = "backup";

/// Volume names.
pub const VOLUME_CONFIG: &str = "config";
pub const VOLUME_DATA: &str = "data";
pub const VOLUME_TMP: &str = "tmp";

/// Env vars every Redis and Sentinel container gets.
pub const ENV_POD_NAME: &str = "POD_NAME";
pub const ENV_POD_IP: &str = "POD_IP";
/// Password (only with auth on). `REDISCLI_AUTH` carries the same value so that
/// `kubectl exec … redis-cli` is authenticated without a password on the command line.
pub const ENV_PASSWORD: &str = "REDIS_PASSWORD";
pub const ENV_REDISCLI_AUTH: &str = "REDISCLI_AUTH";
