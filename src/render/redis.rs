//! The Redis data pods: their ConfigMap and the two StatefulSets, `redis-master` (one pod, the
//! master on first boot) and `redis-replica`. Both run the same start script, which decides
//! each pod's replication role at boot by asking the Sentinels; the split only makes
//! `redis-master-0` the initial master.

use anyhow::Result;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Container, ExecAction, Lifecycle, LifecycleHandler};

use crate::profile::defaults::REDIS_PORT;
use crate::render::meta::Role;
use crate::render::{config_files, layout, monitoring, pod};
use crate::resolve::Deployment;

/// Name of the Redis container and of its port (also `kubectl exec -c` in the runbook).
pub const CONTAINER: &str = "redis";

/// Startup probe: loading a large AOF or RDB takes minutes, and liveness must not kill Redis
/// while it loads. 5 s × 120 = up to 10 minutes.
const STARTUP_PERIOD_SECONDS: i32 = 5;
const STARTUP_FAILURES: i32 = 120;
/// Readiness: taken out of the Services after 10 s of failure.
const READINESS_PERIOD_SECONDS: i32 = 5;
const READINESS_FAILURES: i32 = 2;
/// Liveness: restart only after a full minute without an answer; a restart of a busy master
/// costs a failover, which is worse than a slow answer.
const LIVENESS_PERIOD_SECONDS: i32 = 10;
const LIVENESS_FAILURES: i32 = 6;
/// Each probe run: `redis-cli` answers in milliseconds unless Redis is blocked.
const PROBE_TIMEOUT_SECONDS: i32 = 5;

/// The Redis ConfigMap: `redis.conf` and the Redis scripts.
pub fn config_map(dep: &Deployment) -> Result<ConfigMap> {
    let files = config_files::redis_files(dep)?;
    Ok(pod::config_map(
        dep,
        Role::Redis,
        &dep.names.redis_config,
        files,
    ))
}

/// `redis-master`: one pod, the master when no Sentinel knows better (first boot).
pub fn master_statefulset(dep: &Deployment, config_checksum: &str) -> Result<StatefulSet> {
    statefulset(dep, &dep.names.redis_master, 1, config_checksum)
}

/// `redis-replica`: the read replicas and failover candidates.
pub fn replica_statefulset(dep: &Deployment, config_checksum: &str) -> Result<StatefulSet> {
    statefulset(
        dep,
        &dep.names.redis_replica,
        dep.redis.replicas,
        config_checksum,
    )
}

fn statefulset(
    dep: &Deployment,
    name: &str,
    replicas: u32,
    config_checksum: &str,
) -> Result<StatefulSet> {
    pod::statefulset(
        dep,
        pod::StatefulSetParts {
            role: Role::Redis,
            name,
            replicas,
            // Both StatefulSets share one headless Service: every Redis pod is
            // `<pod>.<redis headless>`, the name it announces and Sentinel tracks.
            service_name: &dep.names.redis_headless,
            config_checksum,
            // The preStop failover may wait for Sentinel; the grace period covers it plus the
            // final save.
            termination_grace_period_seconds: i64::from(dep.redis.termination_grace_period_seconds),
            container: container(dep),
            sidecars: monitoring::exporter(dep, Role::Redis).into_iter().collect(),
            volumes: vec![
                pod::config_volume(&dep.names.redis_config),
                pod::empty_dir_volume(layout::VOLUME_TMP),
            ],
            data_claim: pod::data_claim(
                dep,
                Role::Redis,
                &dep.redis.storage_size,
                dep.redis.storage_class_name.as_deref(),
            ),
        },
    )
}

fn container(dep: &Deployment) -> Container {
    Container {
        volume_mounts: Some(vec![
            pod::mount(layout::VOLUME_CONFIG, layout::CONFIG_DIR, true),
            pod::mount(layout::VOLUME_DATA, layout::DATA_DIR, false),
            pod::mount(layout::VOLUME_TMP, layout::TMP_DIR, false),
        ]),
        // On the master: pause writes, ask Sentinel for a failover, wait until the Sentinels
        // name the new master (DESIGN §4.4). On a replica: a short wait for the stream tail.
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(pod::script_command(layout::PRESTOP_REDIS, &[])),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        startup_probe: Some(pod::exec_probe(
            layout::PROBE_REDIS,
            "startup",
            STARTUP_PERIOD_SECONDS,
            PROBE_TIMEOUT_SECONDS,
            STARTUP_FAILURES,
        )),
        readiness_probe: Some(pod::exec_probe(
            layout::PROBE_REDIS,
            "readiness",
            READINESS_PERIOD_SECONDS,
            PROBE_TIMEOUT_SECONDS,
            READINESS_FAILURES,
        )),
        liveness_probe: Some(pod::exec_probe(
            layout::PROBE_REDIS,
            "liveness",
            LIVENESS_PERIOD_SECONDS,
            PROBE_TIMEOUT_SECONDS,
            LIVENESS_FAILURES,
        )),
        ..pod::container(
            dep,
            CONTAINER,
            layout::START_REDIS,
            REDIS_PORT,
            &dep.redis.resources,
        )
    }
}
