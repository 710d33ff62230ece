//! Defaults applied: the spec as the user wrote it becomes the fully decided [`Deployment`]
//! that every renderer consumes. Renderers never re-derive a default.
//!
//! `resolve` runs only on a profile that passed validation, so it does not check again.

use serde::Serialize;

use crate::memory;
use crate::profile::spec::{
    AntiAffinity, ClientKind, ClientMode, Fsync, MaxmemoryPolicy, ObjectRef, Profile,
    ResourceAmounts, Resources, SavePoint, ZoneSpread,
};
use crate::quantity::Quantity;

/// Image used when the profile names none.
pub const DEFAULT_IMAGE: &str = "redis:7.2.5-alpine";
/// Defaults the JSON Schema's cross-field rules also need (`profile::schema_rules`).
pub const DEFAULT_REDIS_REPLICAS: u32 = 2;
pub const DEFAULT_SENTINEL_REPLICAS: u32 = 3;
pub const DEFAULT_DOWN_AFTER: u32 = 5000;
pub const DEFAULT_FAILOVER_TIMEOUT: u32 = 10000;
/// Port of every Redis pod.
pub const REDIS_PORT: u16 = 6379;
/// Port of every Sentinel pod.
pub const SENTINEL_PORT: u16 = 26379;
/// UID and GID of the `redis` user in the official Redis images (alpine and debian).
pub const REDIS_UID: i64 = 999;
/// GID owning the data volume (`redis` group of the alpine image).
pub const REDIS_GID: i64 = 1000;

/// Everything a renderer needs, every value decided.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Path of the profile as given (or `embedded:welcomebot.yaml`), for the header comment.
    pub source: String,
    /// `metadata.name`: the `app.kubernetes.io/instance` label.
    pub instance: String,
    pub namespace: String,
    pub master_name: String,
    pub image: String,
    pub development: bool,
    pub cluster_domain: String,
    pub names: Names,
    /// `None` when auth is off.
    pub auth: Option<SecretRef>,
    pub redis: Redis,
    pub persistence: Persistence,
    pub sentinel: Sentinel,
    pub anti_affinity: AntiAffinity,
    pub zone_spread: ZoneSpread,
    pub clients: Vec<Client>,
    pub migration: Option<Migration>,
    /// `None`: monitoring off.
    pub monitoring: Option<Monitoring>,
    /// `None`: no NetworkPolicies.
    pub network_policy: Option<NetworkPolicy>,
    /// `None`: no backup CronJob.
    pub backup: Option<Backup>,
}

/// Image of the `redis_exporter` sidecars when the profile names none: the version whose
/// metric names the alert rules are tested against (tests/monitoring.rs).
pub const DEFAULT_EXPORTER_IMAGE: &str = "oliver006/redis_exporter:v1.45.0";
/// Port of the exporter sidecars.
pub const METRICS_PORT: u16 = 9121;

#[derive(Debug, Clone)]
pub struct Monitoring {
    pub exporter_image: String,
    pub resources: ContainerResources,
    pub interval: String,
    /// Extra labels of the ServiceMonitor and PrometheusRule.
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    pub client_pod_labels: std::collections::BTreeMap<String, String>,
    pub monitoring_namespace: String,
}

#[derive(Debug, Clone)]
pub struct Backup {
    pub schedule: String,
    pub retention: u32,
    pub storage_size: String,
    pub storage_class_name: Option<String>,
}

/// Names of every generated object.
#[derive(Debug, Clone, Serialize)]
pub struct Names {
    /// StatefulSet of the initial master (1 pod).
    pub redis_master: String,
    /// StatefulSet of the replicas.
    pub redis_replica: String,
    /// StatefulSet and client-facing Service of the Sentinels.
    pub sentinel: String,
    /// Headless Service governing both Redis StatefulSets (pod DNS names).
    pub redis_headless: String,
    /// Headless Service governing the Sentinel StatefulSet.
    pub sentinel_headless: String,
    /// ConfigMap with `redis.conf` and the Redis scripts.
    pub redis_config: String,
    /// ConfigMap with `sentinel.conf` and the Sentinel script.
    pub sentinel_config: String,
    /// PodDisruptionBudget of every Redis pod.
    pub redis_pdb: String,
    /// PodDisruptionBudget of the Sentinel pods.
    pub sentinel_pdb: String,
    /// Metrics Service of the Redis exporter sidecars (also the Prometheus `job` label).
    pub redis_metrics: String,
    /// Metrics Service of the Sentinel exporter sidecars (also the Prometheus `job` label).
    pub sentinel_metrics: String,
    /// ServiceMonitor and PrometheusRule.
    pub monitoring: String,
    /// NetworkPolicies of the Redis, Sentinel and backup pods.
    pub redis_policy: String,
    pub sentinel_policy: String,
    pub backup_policy: String,
    /// Backup CronJob, its volume claim and its ConfigMap.
    pub backup: String,
    pub backup_config: String,
}

impl Names {
    /// Every object the deployment may generate, as (kind, name), whether or not this profile
    /// turns it on: a client or a removed object must never be one of them.
    pub fn objects(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("StatefulSet", &self.redis_master),
            ("StatefulSet", &self.redis_replica),
            ("StatefulSet", &self.sentinel),
            ("Service", &self.sentinel),
            ("Service", &self.redis_headless),
            ("Service", &self.sentinel_headless),
            ("Service", &self.redis_metrics),
            ("Service", &self.sentinel_metrics),
            ("ConfigMap", &self.redis_config),
            ("ConfigMap", &self.sentinel_config),
            ("ConfigMap", &self.backup_config),
            ("PodDisruptionBudget", &self.redis_pdb),
            ("PodDisruptionBudget", &self.sentinel_pdb),
            ("ServiceMonitor", &self.monitoring),
            ("PrometheusRule", &self.monitoring),
            ("NetworkPolicy", &self.redis_policy),
            ("NetworkPolicy", &self.sentinel_policy),
            ("NetworkPolicy", &self.backup_policy),
            ("CronJob", &self.backup),
            ("PersistentVolumeClaim", &self.backup),
        ]
    }
}

/// A key of an existing Secret.
#[derive(Debug, Clone)]
pub struct SecretRef {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct Redis {
    pub replicas: u32,
    pub storage_size: String,
    pub storage_class_name: Option<String>,
    pub resources: ContainerResources,
    pub min_replicas_to_write: u32,
    pub min_replicas_max_lag: u32,
    pub termination_grace_period_seconds: u32,
    /// How the memory limit is shared out (`memory::budget`).
    pub memory: memory::Budget,
    /// `maxmemory` in bytes: the profile's, or the budget's default.
    pub maxmemory: u64,
    pub maxmemory_policy: MaxmemoryPolicy,
    /// The preStop hook's budget for waiting until leaving costs no write.
    pub rollout_wait_seconds: u32,
}

#[derive(Debug, Clone)]
pub struct Persistence {
    /// Empty: RDB off.
    pub rdb: Vec<SavePoint>,
    /// `None`: AOF off.
    pub aof_fsync: Option<Fsync>,
}

#[derive(Debug, Clone)]
pub struct Sentinel {
    pub replicas: u32,
    pub quorum: u32,
    pub down_after_milliseconds: u32,
    pub failover_timeout: u32,
    pub parallel_syncs: u32,
    pub resources: ContainerResources,
    /// Size of each Sentinel's state volume (its rewritten `sentinel.conf`).
    pub storage_size: String,
    pub storage_class_name: Option<String>,
}

/// Requests and limits, every value present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerResources {
    pub requests_cpu: String,
    pub requests_memory: String,
    pub limits_cpu: String,
    pub limits_memory: String,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub kind: ClientKind,
    pub name: String,
    pub container: String,
    pub mode: ClientMode,
}

/// The migration from a single Redis (`render::migration`).
#[derive(Debug, Clone)]
pub struct Migration {
    pub from: Endpoint,
    /// The user's kustomize base, relative to the output directory.
    pub base: String,
    /// The old Redis's objects, removed by the last phase.
    pub remove: Vec<ObjectRef>,
}

/// `spec.migration.base` when absent: a `base/` directory beside the output directory.
pub const DEFAULT_MIGRATION_BASE: &str = "../base";

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

/// The majority of `sentinels`: the only quorum that is both safe and live.
pub fn quorum_for(sentinels: u32) -> u32 {
    sentinels / 2 + 1
}

/// A memory quantity in whole bytes. Validation has rejected any that does not parse.
pub fn bytes(quantity: &str) -> u64 {
    Quantity::parse(quantity).map_or(0, |q| {
        u64::try_from(q.whole_units().max(0)).unwrap_or(u64::MAX)
    })
}

/// `spec.redis.rolloutWaitSeconds` when absent: a full resync of a few GiB, with room.
pub const DEFAULT_ROLLOUT_WAIT_SECONDS: u32 = 120;
/// The largest `spec.redis.rolloutWaitSeconds`: a pod that cannot stop within an hour
/// blocks node drains for longer than any operator waits.
pub const MAX_ROLLOUT_WAIT_SECONDS: u32 = 3600;

/// Default termination grace period of a Redis pod: the preStop hook may wait up to the
/// rollout wait for the other Redis pods, then up to the failover timeout for the failover,
/// then Redis needs time to save and exit.
pub fn default_redis_grace_seconds(rollout_wait_seconds: u32, failover_timeout_ms: u32) -> u32 {
    rollout_wait_seconds + failover_timeout_ms.div_ceil(1000) + 20
}

fn resources(given: Option<&Resources>, default: &ContainerResources) -> ContainerResources {
    let empty = ResourceAmounts::default();
    let requests = given.and_then(|r| r.requests.as_ref()).unwrap_or(&empty);
    let limits = given.and_then(|r| r.limits.as_ref()).unwrap_or(&empty);
    let pick = |v: &Option<String>, d: &String| v.clone().unwrap_or_else(|| d.clone());
    ContainerResources {
        requests_cpu: pick(&requests.cpu, &default.requests_cpu),
        requests_memory: pick(&requests.memory, &default.requests_memory),
        limits_cpu: pick(&limits.cpu, &default.limits_cpu),
        limits_memory: pick(&limits.memory, &default.limits_memory),
    }
}

fn default_redis_resources() -> ContainerResources {
    ContainerResources {
        requests_cpu: "100m".into(),
        requests_memory: "256Mi".into(),
        limits_cpu: "1".into(),
        limits_memory: "512Mi".into(),
    }
}

/// The exporter answers one scrape every 30 s: a sliver of CPU and a few MiB.
fn default_exporter_resources() -> ContainerResources {
    ContainerResources {
        requests_cpu: "10m".into(),
        requests_memory: "32Mi".into(),
        limits_cpu: "100m".into(),
        limits_memory: "64Mi".into(),
    }
}

fn default_sentinel_resources() -> ContainerResources {
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

/// Effective values of the fields validation needs before resolution (shared so that
/// validation and rendering agree on every default).
pub struct Effective {
    pub redis_replicas: u32,
    pub sentinel_replicas: u32,
    pub down_after_milliseconds: u32,
    pub failover_timeout: u32,
    pub min_replicas_to_write: u32,
    pub rollout_wait_seconds: u32,
}

impl Effective {
    pub fn of(profile: &Profile) -> Self {
        let spec = &profile.spec;
        let redis_replicas = spec
            .redis
            .as_ref()
            .and_then(|r| r.replicas)
            .unwrap_or(DEFAULT_REDIS_REPLICAS);
        let sentinel = spec.sentinel.as_ref();
        Effective {
            redis_replicas,
            sentinel_replicas: sentinel
                .and_then(|s| s.replicas)
                .unwrap_or(DEFAULT_SENTINEL_REPLICAS),
            down_after_milliseconds: sentinel
                .and_then(|s| s.down_after_milliseconds)
                .unwrap_or(DEFAULT_DOWN_AFTER),
            failover_timeout: sentinel
                .and_then(|s| s.failover_timeout)
                .unwrap_or(DEFAULT_FAILOVER_TIMEOUT),
            // One replica must acknowledge writes, unless there is only one replica: after a
            // failover with the old master still down the new master would have none.
            min_replicas_to_write: spec
                .redis
                .as_ref()
                .and_then(|r| r.min_replicas_to_write)
                .unwrap_or(if redis_replicas >= 2 { 1 } else { 0 }),
            rollout_wait_seconds: spec
                .redis
                .as_ref()
                .and_then(|r| r.rollout_wait_seconds)
                .unwrap_or(DEFAULT_ROLLOUT_WAIT_SECONDS),
        }
    }
}

/// Apply every default. `source` names the profile in generated headers.
pub fn resolve(profile: &Profile, source: &str) -> Deployment {
    let spec = &profile.spec;
    let eff = Effective::of(profile);
    let prefix = spec.name_prefix.clone().unwrap_or_default();
    let name = |base: &str| format!("{prefix}{base}");
    let redis = spec.redis.as_ref();
    let sentinel = spec.sentinel.as_ref();
    let persistence = spec.persistence.as_ref();
    let auth = spec.auth.as_ref();
    let aof = persistence.and_then(|p| p.aof.as_ref());
    let redis_resources = resources(
        redis.and_then(|r| r.resources.as_ref()),
        &default_redis_resources(),
    );
    let redis_budget = memory::budget(bytes(&redis_resources.limits_memory), eff.redis_replicas);

    Deployment {
        source: source.to_string(),
        instance: profile.metadata.name.clone(),
        namespace: profile
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        master_name: spec.master_name.clone(),
        image: spec.image.clone().unwrap_or_else(|| DEFAULT_IMAGE.into()),
        development: spec.development.unwrap_or(false),
        cluster_domain: spec
            .cluster_domain
            .clone()
            .unwrap_or_else(|| "cluster.local".into()),
        names: Names {
            redis_master: name("redis-master"),
            redis_replica: name("redis-replica"),
            sentinel: name("redis-sentinel"),
            redis_headless: name("redis-headless"),
            sentinel_headless: name("redis-sentinel-headless"),
            redis_config: name("redis-config"),
            sentinel_config: name("redis-sentinel-config"),
            redis_pdb: name("redis"),
            sentinel_pdb: name("redis-sentinel"),
            redis_metrics: name("redis-metrics"),
            sentinel_metrics: name("redis-sentinel-metrics"),
            monitoring: name("redis-sentinel"),
            redis_policy: name("redis"),
            sentinel_policy: name("redis-sentinel"),
            backup_policy: name("redis-backup"),
            backup: name("redis-backup"),
            backup_config: name("redis-backup-config"),
        },
        auth: if auth.and_then(|a| a.enabled).unwrap_or(true) {
            Some(SecretRef {
                name: auth
                    .and_then(|a| a.secret_name.clone())
                    .unwrap_or_else(|| "redis-auth".into()),
                key: auth
                    .and_then(|a| a.secret_key.clone())
                    .unwrap_or_else(|| "password".into()),
            })
        } else {
            None
        },
        redis: Redis {
            replicas: eff.redis_replicas,
            storage_size: redis
                .and_then(|r| r.storage.as_ref())
                .and_then(|s| s.size.clone())
                .unwrap_or_else(|| "5Gi".into()),
            storage_class_name: redis
                .and_then(|r| r.storage.as_ref())
                .and_then(|s| s.storage_class_name.clone()),
            resources: redis_resources,
            min_replicas_to_write: eff.min_replicas_to_write,
            min_replicas_max_lag: redis.and_then(|r| r.min_replicas_max_lag).unwrap_or(10),
            termination_grace_period_seconds: redis
                .and_then(|r| r.termination_grace_period_seconds)
                .unwrap_or_else(|| {
                    default_redis_grace_seconds(eff.rollout_wait_seconds, eff.failover_timeout)
                }),
            rollout_wait_seconds: eff.rollout_wait_seconds,
            memory: redis_budget,
            maxmemory: redis
                .and_then(|r| r.maxmemory.as_deref())
                .map_or(redis_budget.maxmemory, bytes),
            maxmemory_policy: redis
                .and_then(|r| r.maxmemory_policy)
                .unwrap_or(MaxmemoryPolicy::Noeviction),
        },
        persistence: Persistence {
            rdb: persistence
                .and_then(|p| p.rdb.clone())
                .unwrap_or_else(default_rdb),
            aof_fsync: if aof.and_then(|a| a.enabled).unwrap_or(true) {
                Some(aof.and_then(|a| a.fsync).unwrap_or(Fsync::Everysec))
            } else {
                None
            },
        },
        sentinel: Sentinel {
            replicas: eff.sentinel_replicas,
            quorum: sentinel
                .and_then(|s| s.quorum)
                .unwrap_or_else(|| quorum_for(eff.sentinel_replicas)),
            down_after_milliseconds: eff.down_after_milliseconds,
            failover_timeout: eff.failover_timeout,
            parallel_syncs: sentinel.and_then(|s| s.parallel_syncs).unwrap_or(1),
            resources: resources(
                sentinel.and_then(|s| s.resources.as_ref()),
                &default_sentinel_resources(),
            ),
            // Sentinel writes kilobytes; 1Gi is the smallest volume many providers bill.
            storage_size: sentinel
                .and_then(|s| s.storage.as_ref())
                .and_then(|s| s.size.clone())
                .unwrap_or_else(|| "1Gi".into()),
            storage_class_name: sentinel
                .and_then(|s| s.storage.as_ref())
                .and_then(|s| s.storage_class_name.clone()),
        },
        anti_affinity: spec.anti_affinity.unwrap_or(AntiAffinity::Preferred),
        zone_spread: spec.zone_spread.unwrap_or(ZoneSpread::Preferred),
        clients: spec
            .clients
            .iter()
            .map(|c| Client {
                kind: c.kind,
                name: c.name.clone(),
                container: c.container.clone(),
                mode: c.mode.unwrap_or(ClientMode::Sentinel),
            })
            .collect(),
        migration: spec.migration.as_ref().map(|m| Migration {
            from: Endpoint {
                host: m.from.host.clone(),
                port: m.from.port.unwrap_or(REDIS_PORT),
            },
            base: m
                .base
                .clone()
                .unwrap_or_else(|| DEFAULT_MIGRATION_BASE.into()),
            remove: m.remove.clone(),
        }),
        monitoring: spec
            .monitoring
            .as_ref()
            .filter(|m| m.enabled.unwrap_or(true))
            .map(|m| Monitoring {
                exporter_image: m
                    .exporter_image
                    .clone()
                    .unwrap_or_else(|| DEFAULT_EXPORTER_IMAGE.into()),
                resources: resources(m.resources.as_ref(), &default_exporter_resources()),
                interval: m.interval.clone().unwrap_or_else(|| "30s".into()),
                labels: m.labels.clone(),
            }),
        network_policy: spec
            .network_policy
            .as_ref()
            .filter(|n| n.enabled.unwrap_or(true))
            .map(|n| NetworkPolicy {
                client_pod_labels: n.client_pod_labels.clone(),
                monitoring_namespace: n
                    .monitoring_namespace
                    .clone()
                    .unwrap_or_else(|| "monitoring".into()),
            }),
        backup: spec
            .backup
            .as_ref()
            .filter(|b| b.enabled.unwrap_or(true))
            .map(|b| Backup {
                schedule: b.schedule.clone().unwrap_or_else(|| "17 3 * * *".into()),
                retention: b.retention.unwrap_or(7),
                storage_size: b
                    .storage
                    .as_ref()
                    .and_then(|s| s.size.clone())
                    .unwrap_or_else(|| "10Gi".into()),
                storage_class_name: b
                    .storage
                    .as_ref()
                    .and_then(|s| s.storage_class_name.clone()),
            }),
    }
}

impl Deployment {
    /// `<service>.<namespace>.svc.<domain>`: the DNS domain of pods governed by `service`.
    fn pod_domain(&self, service: &str) -> String {
        format!("{service}.{}.svc.{}", self.namespace, self.cluster_domain)
    }

    /// DNS domain of every Redis pod (`<pod>.<this>`).
    pub fn redis_pod_domain(&self) -> String {
        self.pod_domain(&self.names.redis_headless)
    }

    /// DNS domain of every Sentinel pod (`<pod>.<this>`).
    pub fn sentinel_pod_domain(&self) -> String {
        self.pod_domain(&self.names.sentinel_headless)
    }

    /// Names of every Redis pod: the master's first, then the replicas in ordinal order.
    pub fn redis_pod_names(&self) -> Vec<String> {
        std::iter::once(format!("{}-0", self.names.redis_master))
            .chain((0..self.redis.replicas).map(|i| format!("{}-{i}", self.names.redis_replica)))
            .collect()
    }

    /// Names of every Sentinel pod in ordinal order.
    pub fn sentinel_pod_names(&self) -> Vec<String> {
        (0..self.sentinel.replicas)
            .map(|i| format!("{}-{i}", self.names.sentinel))
            .collect()
    }

    /// Fully qualified DNS names of every Redis pod.
    pub fn redis_pod_hosts(&self) -> Vec<String> {
        let domain = self.redis_pod_domain();
        self.redis_pod_names()
            .into_iter()
            .map(|p| format!("{p}.{domain}"))
            .collect()
    }

    /// Fully qualified DNS names of every Sentinel pod.
    pub fn sentinel_pod_hosts(&self) -> Vec<String> {
        let domain = self.sentinel_pod_domain();
        self.sentinel_pod_names()
            .into_iter()
            .map(|p| format!("{p}.{domain}"))
            .collect()
    }
}
