//! The profile as the user writes it: KRM-shaped, strict, every field documented.
//!
//! These types mirror the YAML one to one. `Option`s mean "not written"; defaults are stated
//! in the table of defaults (`profile/defaults.rs`) and applied by `resolve`, never here and
//! never in the renderers. The documentation here states no default: the JSON Schema and the
//! field reference take them from that table.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::profile::bounds::*;

/// The `apiVersion` every profile must carry.
pub const API_VERSION: &str = "redis-sentinel-gen/v1alpha1";
/// The `kind` every profile must carry.
pub const KIND: &str = "RedisSentinel";

/// A Redis Sentinel deployment profile. The same file is a CLI input, a kustomize generator
/// config and a kpt `functionConfig`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "RedisSentinel profile")]
pub struct Profile {
    /// Always `redis-sentinel-gen/v1alpha1`.
    pub api_version: String,
    /// Always `RedisSentinel`.
    pub kind: String,
    /// Instance name and namespace of the deployment.
    pub metadata: Metadata,
    /// What to deploy.
    pub spec: Spec,
}

/// Object metadata. Unknown keys are allowed here (kustomize and kpt add annotations).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Instance name, used as the `app.kubernetes.io/instance` label. A DNS-1123 label.
    pub name: String,
    /// Namespace of every generated object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels of the profile object itself; not copied to the generated objects.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of the profile object itself (kustomize / kpt bookkeeping lives here).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The deployment.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    /// The name Sentinel monitors the master under (`sentinel monitor <masterName> …`), and
    /// what clients ask for. Letters, digits, `.`, `_` and `-` only, at most 253 characters.
    #[schemars(length(min = 1, max = MAX_MASTER_NAME))]
    pub master_name: String,
    /// Redis image, pinned: a tag such as `redis:7.2.5-alpine`, or `redis@sha256:…`. Redis
    /// 7.0.8 or later is required (hostname support).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A development profile: fewer than three Sentinels is then a warning, not an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub development: Option<bool>,
    /// Prefix of every generated object name (`<prefix>redis-master`, …).
    /// Use this rather than kustomize `namePrefix`: pod DNS names are written into the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// The cluster's DNS domain, used in pod DNS names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
    /// Password authentication for Redis, replication and Sentinel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// The Redis data pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisSpec>,
    /// RDB snapshots and the append-only file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<Persistence>,
    /// The Sentinel pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel: Option<SentinelSpec>,
    /// Pod anti-affinity between pods of the same role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_affinity: Option<AntiAffinity>,
    /// Spreading of the pods of one role (Redis, Sentinel) over zones
    /// (`topology.kubernetes.io/zone`, max skew 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_spread: Option<ZoneSpread>,
    /// `redis_exporter` sidecars, metrics Services, a `ServiceMonitor` and the failover alert
    /// rules (`PrometheusRule`). Off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<Monitoring>,
    /// NetworkPolicies admitting only Redis, Sentinel, backup and client pods (and the
    /// monitoring namespace to the metrics port). Off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<NetworkPolicySpec>,
    /// A CronJob taking RDB snapshots from a replica into a backup volume. Off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Backup>,
    /// The client workloads that should talk to Redis through Sentinel. At most 100.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_CLIENTS))]
    pub clients: Vec<Client>,
    /// The single Redis the clients use today, to migrate data from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<Migration>,
}

/// Password authentication. The password lives in an existing Secret: the tool never writes one.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Auth {
    /// Turn authentication on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Name of the existing Secret holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Key of the password inside the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
}

/// The Redis data pods: one master StatefulSet of one pod, one replica StatefulSet.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisSpec {
    /// Number of read replicas (failover candidates). The master is always one pod.
    /// 1 to 100: with no replica there is nothing to fail over to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_REDIS_REPLICAS))]
    pub replicas: Option<u32>,
    /// The data volume of every Redis pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
    /// CPU and memory of the Redis container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// `min-replicas-to-write`: the master refuses writes unless this many replicas are
    /// connected and lag at most `minReplicasMaxLag` seconds; bounds the writes lost in a
    /// partition. 0 disables. At most `replicas` − 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = MAX_MIN_REPLICAS_TO_WRITE))]
    pub min_replicas_to_write: Option<u32>,
    /// `min-replicas-max-lag` in seconds, 0 to 2147483647 (Redis's limit); 0 only with
    /// `minReplicasToWrite: 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = REDIS_INT_MAX))]
    pub min_replicas_max_lag: Option<u32>,
    /// Seconds Kubernetes waits for a Redis pod to stop (the preStop hook's wait for the
    /// other Redis pods, its failover, then shutdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<u32>,
    /// `maxmemory`, a Kubernetes quantity such as `200Mi`: the most the dataset may use
    /// before Redis refuses writes (or evicts, per `maxmemoryPolicy`) instead of being
    /// OOMKilled (docs/design.md, "Memory"). Above limit − limit/16 − min(replicas, 4) ×
    /// limit/16 it cannot fit the memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxmemory: Option<String>,
    /// `maxmemory-policy`: what a full Redis does with a write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxmemory_policy: Option<MaxmemoryPolicy>,
    /// Seconds a stopping Redis pod waits, at most, until every other Redis pod is up, in
    /// sync and not stopping itself, before it leaves (so a rollout takes down one Redis pod
    /// at a time). Cover a full resync of your data set. 0 to 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = MAX_ROLLOUT_WAIT_SECONDS))]
    pub rollout_wait_seconds: Option<u32>,
}

/// Redis's `maxmemory-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MaxmemoryPolicy {
    /// Refuse writes that need memory (an OOM error); evict nothing.
    Noeviction,
    /// Evict the least recently used keys.
    AllkeysLru,
    /// Evict the least frequently used keys.
    AllkeysLfu,
    /// Evict random keys.
    AllkeysRandom,
    /// Evict the least recently used keys that have a TTL.
    VolatileLru,
    /// Evict the least frequently used keys that have a TTL.
    VolatileLfu,
    /// Evict random keys that have a TTL.
    VolatileRandom,
    /// Evict the keys with a TTL closest to expiring.
    VolatileTtl,
}

impl MaxmemoryPolicy {
    /// The word `redis.conf` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            MaxmemoryPolicy::Noeviction => "noeviction",
            MaxmemoryPolicy::AllkeysLru => "allkeys-lru",
            MaxmemoryPolicy::AllkeysLfu => "allkeys-lfu",
            MaxmemoryPolicy::AllkeysRandom => "allkeys-random",
            MaxmemoryPolicy::VolatileLru => "volatile-lru",
            MaxmemoryPolicy::VolatileLfu => "volatile-lfu",
            MaxmemoryPolicy::VolatileRandom => "volatile-random",
            MaxmemoryPolicy::VolatileTtl => "volatile-ttl",
        }
    }
}

/// A PersistentVolumeClaim template.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    /// Requested size, a Kubernetes quantity such as `5Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Storage class; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

/// Container resources. Every value is a Kubernetes quantity (`100m`, `256Mi`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    /// What the scheduler reserves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceAmounts>,
    /// The hard ceiling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceAmounts>,
}

/// CPU and memory amounts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceAmounts {
    /// CPU, e.g. `100m` or `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Memory, e.g. `256Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// Persistence. Switching both RDB and AOF off needs `acknowledgeDataLossOnRestart: true`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Persistence {
    /// RDB snapshot points (`save <seconds> <changes>`). An empty list disables RDB.
    /// At most 16 points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_SAVE_POINTS))]
    pub rdb: Option<Vec<SavePoint>>,
    /// The append-only file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aof: Option<Aof>,
    /// Allow RDB and AOF both off. A master that restarts empty makes its replicas wipe
    /// their data, so this must be said out loud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge_data_loss_on_restart: Option<bool>,
}

/// One RDB snapshot rule: snapshot after `seconds` if at least `changes` keys changed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SavePoint {
    /// Seconds since the last snapshot, 1 to 2147483647.
    #[schemars(range(min = 1, max = REDIS_INT_MAX))]
    pub seconds: u32,
    /// Changed keys, 1 to 2147483647.
    #[schemars(range(min = 1, max = REDIS_INT_MAX))]
    pub changes: u32,
}

/// The append-only file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Aof {
    /// `appendonly yes|no`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `appendfsync`: `always`, `everysec` or `no`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsync: Option<Fsync>,
}

/// `appendfsync` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    /// fsync after every write: safest, slowest.
    Always,
    /// fsync once a second: at most a second of writes lost on a crash.
    Everysec,
    /// leave it to the OS.
    No,
}

/// The Sentinel pods.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SentinelSpec {
    /// Number of Sentinels: odd, 3 to 15 (1 allowed in a development profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_SENTINELS))]
    pub replicas: Option<u32>,
    /// Sentinels that must agree the master is down. Must be the majority,
    /// `replicas / 2 + 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_QUORUM))]
    pub quorum: Option<u32>,
    /// `down-after-milliseconds`: silence before a Sentinel thinks the master is down.
    /// 1000 to 2147483646: a shorter silence (a GC pause, an fsync, a network blip) fails
    /// over from a healthy master; Sentinel takes at most 2147483647, and `failoverTimeout`
    /// must be greater.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MIN_DOWN_AFTER_MS, max = MAX_DOWN_AFTER_MS))]
    pub down_after_milliseconds: Option<u32>,
    /// `failover-timeout` in milliseconds, greater than `downAfterMilliseconds` and at most
    /// 2147483647 (Sentinel's limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MIN_FAILOVER_TIMEOUT_MS, max = MAX_FAILOVER_TIMEOUT_MS))]
    pub failover_timeout: Option<u32>,
    /// `parallel-syncs`: replicas resyncing with a new master at once, 1 to `redis.replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_REDIS_REPLICAS))]
    pub parallel_syncs: Option<u32>,
    /// CPU and memory of the Sentinel container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// The state volume of every Sentinel: its rewritten `sentinel.conf` with the current
    /// master and epoch, so that Sentinels restarted all at once do not fall back to the
    /// initial master. Sentinel needs kilobytes, but its default size is the smallest volume
    /// many cloud providers bill anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
}

/// Prometheus monitoring (Prometheus Operator CRDs).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Monitoring {
    /// Turn monitoring on or off (on when this section is present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The `redis_exporter` image, pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter_image: Option<String>,
    /// CPU and memory of each exporter sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Scrape interval of the `ServiceMonitor`, e.g. `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Labels added to the `ServiceMonitor` and `PrometheusRule`, so that the Prometheus
    /// resource's `serviceMonitorSelector` / `ruleSelector` picks them up (e.g.
    /// `release: kube-prometheus-stack`). At most 64.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = MAX_LABELS))]
    pub labels: BTreeMap<String, String>,
}

/// NetworkPolicies of the Redis, Sentinel and backup pods.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// Turn the policies on or off (on when this section is present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Labels of further pods (in the deployment's namespace) allowed to reach Redis and
    /// Sentinel. The pods of `spec.clients` need none: their patches add the label
    /// `client.redis-sentinel-gen/<name>: "true"`, which the policies admit. Required when
    /// the policies are on and `spec.clients` is empty: otherwise nobody can use Redis.
    /// At most 64.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = MAX_LABELS))]
    pub client_pod_labels: BTreeMap<String, String>,
    /// Namespace of Prometheus: the only namespace admitted to the metrics port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_namespace: Option<String>,
}

/// Scheduled RDB backups taken from a replica.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backup {
    /// Turn backups on or off (on when this section is present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Cron schedule of the CronJob (five fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Snapshots kept; older ones are deleted after a successful backup. 1 to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_BACKUP_RETENTION))]
    pub retention: Option<u32>,
    /// The backup volume (a PersistentVolumeClaim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
}

/// How strongly pods of one role are kept on different nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    /// Spread when possible (schedules on a one-node cluster).
    Preferred,
    /// Never two pods of one role on a node (needs at least as many nodes as pods).
    Required,
}

/// How strictly pods of one role are spread over zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ZoneSpread {
    /// `whenUnsatisfiable: ScheduleAnyway`: spread when possible (schedules in one zone).
    Preferred,
    /// `whenUnsatisfiable: DoNotSchedule`: a pod stays Pending rather than skew the zones;
    /// needs nodes labelled with `topology.kubernetes.io/zone` in enough zones.
    Required,
}

/// A client workload whose Redis env is switched to Sentinel.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Client {
    /// Workload kind: `Deployment` or `StatefulSet`.
    pub kind: ClientKind,
    /// Workload name.
    pub name: String,
    /// The container in that workload that talks to Redis.
    pub container: String,
    /// How the container finds Redis: `sentinel` (`REDIS_SENTINEL_ADDRS`,
    /// `REDIS_MASTER_NAME`) or `address` (the single-Redis form `REDIS_ADDR`, for a client or
    /// an environment without Sentinel support).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ClientMode>,
}

/// How a client container is told where Redis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClientMode {
    /// `REDIS_SENTINEL_ADDRS` (every Sentinel pod) and `REDIS_MASTER_NAME`; survives failover.
    Sentinel,
    /// `REDIS_ADDR` pointing at the initial master pod. After a failover that pod is a
    /// replica and refuses writes: for clients that cannot speak Sentinel, not for production.
    Address,
}

/// Kinds of client workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ClientKind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
}

/// The migration from a single Redis.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Migration {
    /// The single Redis the clients use today.
    pub from: Endpoint,
    /// The kustomize directory (a `kustomization.yaml`) of the existing setup — the old Redis
    /// and the client workloads — that the phase overlays build on. A path relative to the
    /// output directory of `render --out`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The objects of the old single Redis in that base, removed by the last phase. At most
    /// 100.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_REMOVED_OBJECTS))]
    pub remove: Vec<ObjectRef>,
}

/// A Kubernetes object by kind and name.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectRef {
    /// Its kind, e.g. `Deployment`, `Service`, `ConfigMap`, `PersistentVolumeClaim`.
    pub kind: String,
    /// Its name.
    pub name: String,
}

/// A host and port.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Endpoint {
    /// Service name (or DNS name) of the old Redis.
    pub host: String,
    /// Its port, 1 to 65535.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
}
