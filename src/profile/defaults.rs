//! Every default and timing constant a profile leaves to the tool, in one place: the profile
//! states its own defaults, `resolve` applies them, `validate` judges the values they give, the
//! JSON Schema's cross-field rules and the renderers read them from here, and
//! [`stated_defaults`] states them field by field in the JSON Schema (`default`), from which
//! `explain` and docs/profile-reference.md are generated. The table sits in the profile, below
//! `resolve`, so that the schema code beside it never imports from a later stage.

use serde_json::{Value, json};

use crate::memory;
use crate::profile::spec::{
    AntiAffinity, ClientMode, Fsync, MaxmemoryPolicy, SavePoint, ZoneSpread,
};
use crate::quantity::bytes;

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

/// The majority of `sentinels`: the only quorum that is both safe and live.
pub fn quorum_for(sentinels: u32) -> u32 {
    sentinels / 2 + 1
}

/// `spec.redis.minReplicasToWrite` when absent: one replica must acknowledge writes, unless
/// there is only one replica: after a failover with the old master still down the new master
/// would have none.
pub fn default_min_replicas_to_write(redis_replicas: u32) -> u32 {
    if redis_replicas >= 2 { 1 } else { 0 }
}

/// Requests and limits, every value present: the defaults below, and every container of a
/// resolved deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerResources {
    pub requests_cpu: String,
    pub requests_memory: String,
    pub limits_cpu: String,
    pub limits_memory: String,
}

pub(crate) fn default_redis_resources() -> ContainerResources {
    ContainerResources {
        requests_cpu: "100m".into(),
        requests_memory: "256Mi".into(),
        limits_cpu: "1".into(),
        limits_memory: "512Mi".into(),
    }
}

/// The exporter answers one scrape every 30 s: a sliver of CPU and a few MiB.
pub(crate) fn default_exporter_resources() -> ContainerResources {
    ContainerResources {
        requests_cpu: "10m".into(),
        requests_memory: "32Mi".into(),
        limits_cpu: "100m".into(),
        limits_memory: "64Mi".into(),
    }
}

pub(crate) fn default_sentinel_resources() -> ContainerResources {
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

/// A default as the field reference states it.
#[derive(Debug, Clone, PartialEq)]
pub enum Stated {
    /// The value `resolve` gives the field when the profile leaves it out, whatever else the
    /// profile says: the JSON Schema's `default`, in the profile's own spelling. An object
    /// holds the defaults of the fields below it (a `Storage` or `Resources` is one type
    /// under several fields, each with defaults of its own).
    Value(Value),
    /// A default computed from other fields: the rule, in words made from the constants here.
    Rule(String),
}

/// Every default the profile's field reference states, by field path (`spec.redis.replicas`;
/// list items without `[]`), made from the constants above. `profile::schema_defaults` writes
/// them into the JSON Schema; the tests there hold `resolve` to them.
pub fn stated_defaults() -> Vec<(&'static str, Stated)> {
    let value = |v: Value| Stated::Value(v);
    let storage = |size: &str| value(json!({ "size": size }));
    let redis_limit = bytes(&default_redis_resources().limits_memory);
    let default_maxmemory =
        memory::human(memory::budget(redis_limit, DEFAULT_REDIS_REPLICAS).maxmemory);
    let shares = memory::SHARES;
    let buffers = memory::BUFFER_SHARES;
    vec![
        ("metadata.namespace", value(json!(DEFAULT_NAMESPACE))),
        ("spec.image", value(json!(DEFAULT_IMAGE))),
        ("spec.development", value(json!(DEFAULT_DEVELOPMENT))),
        ("spec.namePrefix", value(json!(DEFAULT_NAME_PREFIX))),
        ("spec.clusterDomain", value(json!(DEFAULT_CLUSTER_DOMAIN))),
        ("spec.auth.enabled", value(json!(DEFAULT_ENABLED))),
        ("spec.auth.secretName", value(json!(DEFAULT_SECRET_NAME))),
        ("spec.auth.secretKey", value(json!(DEFAULT_SECRET_KEY))),
        ("spec.redis.replicas", value(json!(DEFAULT_REDIS_REPLICAS))),
        ("spec.redis.storage", storage(DEFAULT_REDIS_STORAGE)),
        (
            "spec.redis.resources",
            value(resources_json(&default_redis_resources())),
        ),
        (
            "spec.redis.minReplicasToWrite",
            Stated::Rule(format!(
                "{} ({} with a single replica)",
                default_min_replicas_to_write(DEFAULT_REDIS_REPLICAS),
                default_min_replicas_to_write(1),
            )),
        ),
        (
            "spec.redis.minReplicasMaxLag",
            value(json!(DEFAULT_MIN_REPLICAS_MAX_LAG)),
        ),
        (
            "spec.redis.terminationGracePeriodSeconds",
            Stated::Rule(format!(
                "`rolloutWaitSeconds` + ⌈`sentinel.failoverTimeout` / 1000⌉ + \
                 {DEFAULT_SHUTDOWN_SECONDS} ({} with their defaults)",
                default_redis_grace_seconds(DEFAULT_ROLLOUT_WAIT_SECONDS, DEFAULT_FAILOVER_TIMEOUT),
            )),
        ),
        (
            "spec.redis.maxmemory",
            Stated::Rule(format!(
                "(limit − limit/{shares} − min(replicas, {buffers}) × limit/{shares}) / 2 of the \
                 memory limit, rounded down to whole MiB: room for the process, every \
                 replica's output buffer and a fork's copy-on-write ({default_maxmemory} with \
                 the default limit and replicas)"
            )),
        ),
        (
            "spec.redis.maxmemoryPolicy",
            value(json!(DEFAULT_MAXMEMORY_POLICY)),
        ),
        (
            "spec.redis.rolloutWaitSeconds",
            value(json!(DEFAULT_ROLLOUT_WAIT_SECONDS)),
        ),
        ("spec.persistence.rdb", value(json!(default_rdb()))),
        (
            "spec.persistence.aof.enabled",
            value(json!(DEFAULT_ENABLED)),
        ),
        ("spec.persistence.aof.fsync", value(json!(DEFAULT_FSYNC))),
        (
            "spec.sentinel.replicas",
            value(json!(DEFAULT_SENTINEL_REPLICAS)),
        ),
        (
            "spec.sentinel.quorum",
            Stated::Rule(format!(
                "the majority, `replicas / 2 + 1` ({} for {DEFAULT_SENTINEL_REPLICAS} Sentinels)",
                quorum_for(DEFAULT_SENTINEL_REPLICAS),
            )),
        ),
        (
            "spec.sentinel.downAfterMilliseconds",
            value(json!(DEFAULT_DOWN_AFTER)),
        ),
        (
            "spec.sentinel.failoverTimeout",
            value(json!(DEFAULT_FAILOVER_TIMEOUT)),
        ),
        (
            "spec.sentinel.parallelSyncs",
            value(json!(DEFAULT_PARALLEL_SYNCS)),
        ),
        (
            "spec.sentinel.resources",
            value(resources_json(&default_sentinel_resources())),
        ),
        ("spec.sentinel.storage", storage(DEFAULT_SENTINEL_STORAGE)),
        ("spec.antiAffinity", value(json!(DEFAULT_ANTI_AFFINITY))),
        ("spec.zoneSpread", value(json!(DEFAULT_ZONE_SPREAD))),
        ("spec.monitoring.enabled", value(json!(DEFAULT_ENABLED))),
        (
            "spec.monitoring.exporterImage",
            value(json!(DEFAULT_EXPORTER_IMAGE)),
        ),
        (
            "spec.monitoring.resources",
            value(resources_json(&default_exporter_resources())),
        ),
        (
            "spec.monitoring.interval",
            value(json!(DEFAULT_SCRAPE_INTERVAL)),
        ),
        ("spec.networkPolicy.enabled", value(json!(DEFAULT_ENABLED))),
        (
            "spec.networkPolicy.monitoringNamespace",
            value(json!(DEFAULT_MONITORING_NAMESPACE)),
        ),
        ("spec.backup.enabled", value(json!(DEFAULT_ENABLED))),
        (
            "spec.backup.schedule",
            value(json!(DEFAULT_BACKUP_SCHEDULE)),
        ),
        (
            "spec.backup.retention",
            value(json!(DEFAULT_BACKUP_RETENTION)),
        ),
        ("spec.backup.storage", storage(DEFAULT_BACKUP_STORAGE)),
        ("spec.clients.mode", value(json!(DEFAULT_CLIENT_MODE))),
        ("spec.migration.base", value(json!(DEFAULT_MIGRATION_BASE))),
        ("spec.migration.from.port", value(json!(REDIS_PORT))),
    ]
}

/// Container resources in the profile's spelling (`spec.redis.resources`).
fn resources_json(resources: &ContainerResources) -> Value {
    json!({
        "requests": {"cpu": resources.requests_cpu, "memory": resources.requests_memory},
        "limits": {"cpu": resources.limits_cpu, "memory": resources.limits_memory},
    })
}
