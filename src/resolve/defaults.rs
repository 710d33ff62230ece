//! Every default and timing constant a profile leaves to the tool, in one place: `resolve`
//! applies them, `validate` judges the values they give, the JSON Schema's cross-field rules
//! and the renderers read them from here.

use crate::profile::spec::{
    AntiAffinity, ClientMode, Fsync, MaxmemoryPolicy, SavePoint, ZoneSpread,
};
use crate::resolve::ContainerResources;

/// `spec.development`: a production profile unless it says otherwise.
pub const DEFAULT_DEVELOPMENT: bool = false;
/// `spec.namePrefix`: the generated names as they are.
pub const DEFAULT_NAME_PREFIX: &str = "";
/// `spec.auth.enabled`, `spec.persistence.aof.enabled`, and the `enabled` of the monitoring,
/// network policy and backup sections when the section is written.
pub const DEFAULT_ENABLED: bool = true;
/// Image used when the profile names none.
pub const DEFAULT_IMAGE: &str = "redis:7.2.5-alpine";
/// Defaults the JSON Schema's cross-field rules also need (`profile::schema_rules`).
pub const DEFAULT_REDIS_REPLICAS: u32 = 2;
pub const DEFAULT_SENTINEL_REPLICAS: u32 = 3;
pub const DEFAULT_DOWN_AFTER: u32 = 5000;
pub const DEFAULT_FAILOVER_TIMEOUT: u32 = 10000;
/// Namespace of every generated object when the profile names none.
pub const DEFAULT_NAMESPACE: &str = "default";
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";
/// The existing Secret holding the password, and its key.
pub const DEFAULT_SECRET_NAME: &str = "redis-auth";
pub const DEFAULT_SECRET_KEY: &str = "password";
pub const DEFAULT_REDIS_STORAGE: &str = "5Gi";
/// Sentinel writes kilobytes; 1Gi is the smallest volume many providers bill.
pub const DEFAULT_SENTINEL_STORAGE: &str = "1Gi";
pub const DEFAULT_MIN_REPLICAS_MAX_LAG: u32 = 10;
pub const DEFAULT_MAXMEMORY_POLICY: MaxmemoryPolicy = MaxmemoryPolicy::Noeviction;
pub const DEFAULT_FSYNC: Fsync = Fsync::Everysec;
pub const DEFAULT_PARALLEL_SYNCS: u32 = 1;
pub const DEFAULT_ANTI_AFFINITY: AntiAffinity = AntiAffinity::Preferred;
pub const DEFAULT_ZONE_SPREAD: ZoneSpread = ZoneSpread::Preferred;
pub const DEFAULT_CLIENT_MODE: ClientMode = ClientMode::Sentinel;
pub const DEFAULT_SCRAPE_INTERVAL: &str = "30s";
/// Namespace of the Prometheus that the network policies admit.
pub const DEFAULT_MONITORING_NAMESPACE: &str = "monitoring";
/// Daily at 03:17.
pub const DEFAULT_BACKUP_SCHEDULE: &str = "17 3 * * *";
/// Snapshots kept.
pub const DEFAULT_BACKUP_RETENTION: u32 = 7;
pub const DEFAULT_BACKUP_STORAGE: &str = "10Gi";
/// Port of every Redis pod.
pub const REDIS_PORT: u16 = 6379;
/// Port of every Sentinel pod.
pub const SENTINEL_PORT: u16 = 26379;
/// UID and GID of the `redis` user in the official Redis images (alpine and debian).
pub const REDIS_UID: i64 = 999;
/// GID owning the data volume (`redis` group of the alpine image).
pub const REDIS_GID: i64 = 1000;

/// Image of the `redis_exporter` sidecars when the profile names none: the version whose
/// metric names the alert rules are tested against (tests/monitoring.rs).
pub const DEFAULT_EXPORTER_IMAGE: &str = "oliver006/redis_exporter:v1.45.0";
/// Port of the exporter sidecars.
pub const METRICS_PORT: u16 = 9121;

/// `spec.migration.base` when absent: a `base/` directory beside the output directory.
pub const DEFAULT_MIGRATION_BASE: &str = "../base";

/// `spec.redis.rolloutWaitSeconds` when absent: a full resync of a few GiB, with room.
pub const DEFAULT_ROLLOUT_WAIT_SECONDS: u32 = 120;

/// Time Redis needs after the preStop hook to let replicas catch up, write its final
/// snapshot and exit.
pub const SHUTDOWN_RESERVE_SECONDS: u32 = 10;
/// The part of [`SHUTDOWN_RESERVE_SECONDS`] Redis may wait for lagging replicas
/// (`shutdown-timeout`); the rest is left for the final save.
pub const SHUTDOWN_TIMEOUT_SECONDS: u32 = 5;
/// The time to save and exit that the default termination grace period leaves: twice the
/// reserve.
pub const DEFAULT_SHUTDOWN_SECONDS: u32 = 20;

/// Default termination grace period of a Redis pod: the preStop hook may wait up to the
/// rollout wait for the other Redis pods, then up to the failover timeout for the failover,
/// then Redis needs time to save and exit: [`DEFAULT_SHUTDOWN_SECONDS`] by default, against the
/// [`SHUTDOWN_RESERVE_SECONDS`] a grace period written in the profile must leave at least.
pub fn default_redis_grace_seconds(rollout_wait_seconds: u32, failover_timeout_ms: u32) -> u32 {
    rollout_wait_seconds + failover_timeout_ms.div_ceil(1000) + DEFAULT_SHUTDOWN_SECONDS
}

/// `spec.redis.minReplicasToWrite` when absent: one replica must acknowledge writes, unless
/// there is only one replica: after a failover with the old master still down the new master
/// would have none.
pub fn default_min_replicas_to_write(redis_replicas: u32) -> u32 {
    if redis_replicas >= 2 { 1 } else { 0 }
}

pub(super) fn default_redis_resources() -> ContainerResources {
    ContainerResources {
        requests_cpu: "100m".into(),
        requests_memory: "256Mi".into(),
        limits_cpu: "1".into(),
        limits_memory: "512Mi".into(),
    }
}

/// The exporter answers one scrape every 30 s: a sliver of CPU and a few MiB.
pub(super) fn default_exporter_resources() -> ContainerResources {
    ContainerResources {
        requests_cpu: "10m".into(),
        requests_memory: "32Mi".into(),
        limits_cpu: "100m".into(),
        limits_memory: "64Mi".into(),
    }
}

pub(super) fn default_sentinel_resources() -> ContainerResources {
    ContainerResources {
        requests_cpu: "50m".into(),
        requests_memory: "64Mi".into(),
        limits_cpu: "200m".into(),
        limits_memory: "128Mi".into(),
    }
}

/// The default RDB snapshot points (Redis's own historical defaults).
pub fn default_rdb() -> Vec<SavePoint> {
    vec![
        SavePoint {
            seconds: 900,
            changes: 1,
        },
        SavePoint {
            seconds: 300,
            changes: 10,
        },
        SavePoint {
            seconds: 60,
            changes: 10000,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::explain;

    /// The field reference (`explain`, docs/profile-reference.md) states each default in
    /// the words of the spec types' documentation; every one must be the value in this table.
    #[test]
    fn the_field_reference_states_the_defaults_of_this_table() {
        let rdb: Vec<String> = default_rdb()
            .iter()
            .map(|p| format!("{}/{}", p.seconds, p.changes))
            .collect();
        let stated = [
            (
                "metadata.namespace",
                format!("Defaults to `{DEFAULT_NAMESPACE}`"),
            ),
            (
                "spec.antiAffinity",
                format!("Defaults to `{}`", name(&DEFAULT_ANTI_AFFINITY)),
            ),
            (
                "spec.zoneSpread",
                format!("Defaults to `{}`", name(&DEFAULT_ZONE_SPREAD)),
            ),
            (
                "spec.auth.secretName",
                format!("Defaults to `{DEFAULT_SECRET_NAME}`"),
            ),
            (
                "spec.auth.secretKey",
                format!("Defaults to `{DEFAULT_SECRET_KEY}`"),
            ),
            (
                "spec.clusterDomain",
                format!("Defaults to `{DEFAULT_CLUSTER_DOMAIN}`"),
            ),
            ("spec.image", format!("Defaults to `{DEFAULT_IMAGE}`")),
            (
                "spec.migration.base",
                format!("Defaults to `{DEFAULT_MIGRATION_BASE}`"),
            ),
            (
                "spec.migration.from.port",
                format!("Defaults to {REDIS_PORT}."),
            ),
            (
                "spec.monitoring.exporterImage",
                format!("Defaults to `{DEFAULT_EXPORTER_IMAGE}`"),
            ),
            (
                "spec.monitoring.interval",
                format!("Defaults to `{DEFAULT_SCRAPE_INTERVAL}`"),
            ),
            (
                "spec.networkPolicy.monitoringNamespace",
                format!("Defaults to `{DEFAULT_MONITORING_NAMESPACE}`"),
            ),
            (
                "spec.backup.schedule",
                format!("Defaults to `{DEFAULT_BACKUP_SCHEDULE}`"),
            ),
            (
                "spec.backup.retention",
                format!("Defaults to {DEFAULT_BACKUP_RETENTION}."),
            ),
            (
                "spec.backup.storage",
                format!("Size defaults to `{DEFAULT_BACKUP_STORAGE}`"),
            ),
            (
                "spec.sentinel.storage",
                format!("Size defaults to `{DEFAULT_SENTINEL_STORAGE}`"),
            ),
            (
                "spec.redis.storage.size",
                format!(
                    "Defaults to `{DEFAULT_REDIS_STORAGE}` for Redis and \
                     `{DEFAULT_SENTINEL_STORAGE}` for Sentinel"
                ),
            ),
            (
                "spec.redis.replicas",
                format!("Defaults to {DEFAULT_REDIS_REPLICAS}."),
            ),
            (
                "spec.redis.minReplicasMaxLag",
                format!("Defaults to {DEFAULT_MIN_REPLICAS_MAX_LAG}."),
            ),
            (
                "spec.redis.rolloutWaitSeconds",
                format!("Defaults to {DEFAULT_ROLLOUT_WAIT_SECONDS}."),
            ),
            (
                "spec.redis.maxmemoryPolicy",
                format!("Defaults to `{}`", name(&DEFAULT_MAXMEMORY_POLICY)),
            ),
            (
                "spec.persistence.aof.fsync",
                format!("`{}` (the default)", name(&DEFAULT_FSYNC)),
            ),
            (
                "spec.persistence.rdb",
                format!("Defaults to {}.", rdb.join(", ")),
            ),
            (
                "spec.sentinel.replicas",
                format!("Defaults to {DEFAULT_SENTINEL_REPLICAS}."),
            ),
            (
                "spec.sentinel.downAfterMilliseconds",
                format!("Defaults to {DEFAULT_DOWN_AFTER}."),
            ),
            (
                "spec.sentinel.failoverTimeout",
                format!("Defaults to {DEFAULT_FAILOVER_TIMEOUT}."),
            ),
            (
                "spec.sentinel.parallelSyncs",
                format!("Defaults to {DEFAULT_PARALLEL_SYNCS}."),
            ),
            (
                "spec.clients.mode",
                format!("`{}` (the default", name(&DEFAULT_CLIENT_MODE)),
            ),
        ];
        for (path, default) in stated {
            let text = explain(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                text.contains(&default),
                "{path} does not say {default:?}:\n{text}"
            );
        }
    }

    /// How a profile spells an enum default (its serde name).
    fn name<T: serde::Serialize>(value: &T) -> String {
        match serde_json::to_value(value) {
            Ok(serde_json::Value::String(name)) => name,
            other => panic!("not a unit enum variant: {other:?}"),
        }
    }
}
