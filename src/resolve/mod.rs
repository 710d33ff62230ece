//! Defaults applied: the spec as the user wrote it becomes the fully decided [`Deployment`]
//! that every renderer consumes. Renderers never re-derive a default.
//!
//! The pipeline (`crate::pipeline`) resolves every structurally sound profile once, before
//! validation: `resolve` is total (it never fails and checks nothing; an amount that does
//! not parse counts as zero), and validation then judges the values it decided, pointing at
//! the profile's own lines. Nothing is rendered from a deployment whose validation failed.

mod model;
#[cfg(test)]
mod tests;

pub use model::*;

use crate::memory;
use crate::profile::defaults::*;
use crate::profile::spec::{Profile, ResourceAmounts, Resources};
use crate::quantity::bytes;

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

/// The defaulted values that other defaults depend on, decided first.
struct Effective {
    redis_replicas: u32,
    sentinel_replicas: u32,
    down_after_milliseconds: u32,
    failover_timeout: u32,
    min_replicas_to_write: u32,
    rollout_wait_seconds: u32,
}

impl Effective {
    fn of(profile: &Profile) -> Self {
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
            min_replicas_to_write: spec
                .redis
                .as_ref()
                .and_then(|r| r.min_replicas_to_write)
                .unwrap_or_else(|| default_min_replicas_to_write(redis_replicas)),
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
    let prefix = spec
        .name_prefix
        .clone()
        .unwrap_or_else(|| DEFAULT_NAME_PREFIX.into());
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
            .unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
        master_name: spec.master_name.clone(),
        image: spec.image.clone().unwrap_or_else(|| DEFAULT_IMAGE.into()),
        development: spec.development.unwrap_or(DEFAULT_DEVELOPMENT),
        cluster_domain: spec
            .cluster_domain
            .clone()
            .unwrap_or_else(|| DEFAULT_CLUSTER_DOMAIN.into()),
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
        auth: if auth.and_then(|a| a.enabled).unwrap_or(DEFAULT_ENABLED) {
            Some(SecretRef {
                name: auth
                    .and_then(|a| a.secret_name.clone())
                    .unwrap_or_else(|| DEFAULT_SECRET_NAME.into()),
                key: auth
                    .and_then(|a| a.secret_key.clone())
                    .unwrap_or_else(|| DEFAULT_SECRET_KEY.into()),
            })
        } else {
            None
        },
        redis: Redis {
            replicas: eff.redis_replicas,
            storage_size: redis
                .and_then(|r| r.storage.as_ref())
                .and_then(|s| s.size.clone())
                .unwrap_or_else(|| DEFAULT_REDIS_STORAGE.into()),
            storage_class_name: redis
                .and_then(|r| r.storage.as_ref())
                .and_then(|s| s.storage_class_name.clone()),
            resources: redis_resources,
            min_replicas_to_write: eff.min_replicas_to_write,
            min_replicas_max_lag: redis
                .and_then(|r| r.min_replicas_max_lag)
                .unwrap_or(DEFAULT_MIN_REPLICAS_MAX_LAG),
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
                .unwrap_or(DEFAULT_MAXMEMORY_POLICY),
        },
        persistence: Persistence {
            rdb: persistence
                .and_then(|p| p.rdb.clone())
                .unwrap_or_else(default_rdb),
            aof_fsync: if aof.and_then(|a| a.enabled).unwrap_or(DEFAULT_ENABLED) {
                Some(aof.and_then(|a| a.fsync).unwrap_or(DEFAULT_FSYNC))
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
            parallel_syncs: sentinel
                .and_then(|s| s.parallel_syncs)
                .unwrap_or(DEFAULT_PARALLEL_SYNCS),
            resources: resources(
                sentinel.and_then(|s| s.resources.as_ref()),
                &default_sentinel_resources(),
            ),
            storage_size: sentinel
                .and_then(|s| s.storage.as_ref())
                .and_then(|s| s.size.clone())
                .unwrap_or_else(|| DEFAULT_SENTINEL_STORAGE.into()),
            storage_class_name: sentinel
                .and_then(|s| s.storage.as_ref())
                .and_then(|s| s.storage_class_name.clone()),
        },
        anti_affinity: spec.anti_affinity.unwrap_or(DEFAULT_ANTI_AFFINITY),
        zone_spread: spec.zone_spread.unwrap_or(DEFAULT_ZONE_SPREAD),
        clients: spec
            .clients
            .iter()
            .map(|c| Client {
                kind: c.kind,
                name: c.name.clone(),
                container: c.container.clone(),
                mode: c.mode.unwrap_or(DEFAULT_CLIENT_MODE),
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
            .filter(|m| m.enabled.unwrap_or(DEFAULT_ENABLED))
            .map(|m| Monitoring {
                exporter_image: m
                    .exporter_image
                    .clone()
                    .unwrap_or_else(|| DEFAULT_EXPORTER_IMAGE.into()),
                resources: resources(m.resources.as_ref(), &default_exporter_resources()),
                interval: m
                    .interval
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SCRAPE_INTERVAL.into()),
                labels: m.labels.clone(),
            }),
        network_policy: spec
            .network_policy
            .as_ref()
            .filter(|n| n.enabled.unwrap_or(DEFAULT_ENABLED))
            .map(|n| NetworkPolicy {
                client_pod_labels: n.client_pod_labels.clone(),
                monitoring_namespace: n
                    .monitoring_namespace
                    .clone()
                    .unwrap_or_else(|| DEFAULT_MONITORING_NAMESPACE.into()),
            }),
        backup: spec
            .backup
            .as_ref()
            .filter(|b| b.enabled.unwrap_or(DEFAULT_ENABLED))
            .map(|b| Backup {
                schedule: b
                    .schedule
                    .clone()
                    .unwrap_or_else(|| DEFAULT_BACKUP_SCHEDULE.into()),
                retention: b.retention.unwrap_or(DEFAULT_BACKUP_RETENTION),
                storage_size: b
                    .storage
                    .as_ref()
                    .and_then(|s| s.size.clone())
                    .unwrap_or_else(|| DEFAULT_BACKUP_STORAGE.into()),
                storage_class_name: b
                    .storage
                    .as_ref()
                    .and_then(|s| s.storage_class_name.clone()),
            }),
    }
}
