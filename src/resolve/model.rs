//! The resolved deployment: every value decided, the one input of every renderer.

use serde::Serialize;

use crate::memory;
use crate::profile::defaults::ContainerResources;
use crate::profile::spec::{
    AntiAffinity, ClientKind, ClientMode, Fsync, MaxmemoryPolicy, ObjectRef, SavePoint, ZoneSpread,
};

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

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
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
