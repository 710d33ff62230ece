//! The Redis data pods: their ConfigMap and the two StatefulSets, `redis-master` (one pod, the
//! master on first boot) and `redis-replica`. Both run the same start script, which decides
//! each pod's replication role at boot by asking the Sentinels; the split only makes
//! `redis-master-0` the initial master.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerPort, ExecAction, Lifecycle, LifecycleHandler, PodSpec,
    PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::render::meta::{self, Role};
use crate::render::{config_files, layout, pod};
use crate::resolve::{Deployment, REDIS_PORT};

/// Name of the Redis container and of its port.
const CONTAINER: &str = "redis";

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
    let data: BTreeMap<String, String> = config_files::redis_files(dep)?
        .into_iter()
        .map(|(key, content)| (key.to_string(), content))
        .collect();
    Ok(ConfigMap {
        metadata: meta::object_meta(dep, Role::Redis, &dep.names.redis_config),
        data: Some(data),
        ..Default::default()
    })
}

/// `redis-master`: one pod, the master when no Sentinel knows better (first boot).
pub fn master_statefulset(dep: &Deployment, config_checksum: &str) -> Result<StatefulSet> {
    statefulset(dep, &dep.names.redis_master, 1, config_checksum)
}

/// `redis-replica`: the read replicas and failover candidates.
pub fn replica_statefulset(dep: &Deployment, config_checksum: &str) -> Result<StatefulSet> {
    let replicas = i32::try_from(dep.redis.replicas).with_context(|| {
        format!(
            "bug: redis.replicas {} passed validation",
            dep.redis.replicas
        )
    })?;
    statefulset(dep, &dep.names.redis_replica, replicas, config_checksum)
}

fn statefulset(
    dep: &Deployment,
    name: &str,
    replicas: i32,
    config_checksum: &str,
) -> Result<StatefulSet> {
    let grace = dep.redis.termination_grace_period_seconds;
    Ok(StatefulSet {
        metadata: meta::object_meta(dep, Role::Redis, name),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            // Both StatefulSets share one headless Service: every Redis pod is
            // `<pod>.<redis headless>`, the name it announces and Sentinel tracks.
            service_name: Some(dep.names.redis_headless.clone()),
            // Boot order is irrelevant: each pod discovers its role from the Sentinels.
            pod_management_policy: Some("Parallel".to_string()),
            persistent_volume_claim_retention_policy: Some(pod::retain_claims()),
            selector: meta::statefulset_selector(dep, Role::Redis, name),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(meta::pod_labels(dep, Role::Redis, name)),
                    annotations: Some(pod::template_annotations(config_checksum)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    // Service links would put `REDIS_PORT=tcp://…` style variables into the
                    // container, clashing with the names Redis tooling reads.
                    enable_service_links: Some(false),
                    security_context: Some(pod::pod_security_context()),
                    // The preStop failover may wait for Sentinel; the grace period covers it
                    // plus the final save.
                    termination_grace_period_seconds: Some(i64::from(grace)),
                    affinity: Some(pod::anti_affinity(dep, Role::Redis)),
                    containers: vec![container(dep)],
                    volumes: Some(vec![
                        pod::config_volume(&dep.names.redis_config),
                        pod::empty_dir_volume(layout::VOLUME_RUN),
                        pod::empty_dir_volume(layout::VOLUME_TMP),
                    ]),
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![pod::data_claim(
                dep,
                Role::Redis,
                &dep.redis.storage_size,
                dep.redis.storage_class_name.as_deref(),
            )]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn container(dep: &Deployment) -> Container {
    Container {
        name: CONTAINER.to_string(),
        image: Some(dep.image.clone()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        command: Some(pod::script_command(layout::START_REDIS, &[])),
        ports: Some(vec![ContainerPort {
            name: Some(CONTAINER.to_string()),
            container_port: i32::from(REDIS_PORT),
            ..Default::default()
        }]),
        env: Some(pod::env(dep)),
        resources: Some(pod::resources(&dep.redis.resources)),
        security_context: Some(pod::container_security_context()),
        volume_mounts: Some(vec![
            pod::mount(layout::VOLUME_CONFIG, layout::CONFIG_DIR, true),
            pod::mount(layout::VOLUME_RUN, layout::RUN_DIR, false),
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
        ..Default::default()
    }
}
