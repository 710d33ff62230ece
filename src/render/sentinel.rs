//! The Sentinel pods: their ConfigMap and StatefulSet. A StatefulSet, not a Deployment: a
//! Sentinel's identity (`myid`, announced DNS name) must survive restarts, or dead identities
//! pile up as voters in every other Sentinel and failover loses its majority (DESIGN §2).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Container, ContainerPort, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::render::meta::{self, Role};
use crate::render::{config_files, layout, pod};
use crate::resolve::{Deployment, SENTINEL_PORT};

/// Name of the Sentinel container and of its port.
const CONTAINER: &str = "sentinel";

/// Sentinel holds no data and stops at once; 10 s is plenty.
const TERMINATION_GRACE_SECONDS: i64 = 10;
/// Readiness: out of the client Service after 10 s of failure.
const READINESS_PERIOD_SECONDS: i32 = 5;
const READINESS_FAILURES: i32 = 2;
/// Liveness: restart after a minute without an answer. The start script may spend a while
/// asking peers for the master before Sentinel listens, so the first failures are expected.
const LIVENESS_PERIOD_SECONDS: i32 = 10;
const LIVENESS_FAILURES: i32 = 6;
const PROBE_TIMEOUT_SECONDS: i32 = 5;

/// The Sentinel ConfigMap: the `sentinel.conf` template and the Sentinel scripts.
pub fn config_map(dep: &Deployment) -> Result<ConfigMap> {
    let data: BTreeMap<String, String> = config_files::sentinel_files(dep)?
        .into_iter()
        .map(|(key, content)| (key.to_string(), content))
        .collect();
    Ok(ConfigMap {
        metadata: meta::object_meta(dep, Role::Sentinel, &dep.names.sentinel_config),
        data: Some(data),
        ..Default::default()
    })
}

/// The Sentinel StatefulSet.
pub fn statefulset(dep: &Deployment, config_checksum: &str) -> Result<StatefulSet> {
    let name = &dep.names.sentinel;
    let replicas = i32::try_from(dep.sentinel.replicas).with_context(|| {
        format!(
            "bug: sentinel.replicas {} passed validation",
            dep.sentinel.replicas
        )
    })?;
    Ok(StatefulSet {
        metadata: meta::object_meta(dep, Role::Sentinel, name),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            // Gives every Sentinel its stable `<pod>.<sentinel headless>` name to announce.
            service_name: Some(dep.names.sentinel_headless.clone()),
            // Sentinels find each other and the master at start; none waits for another.
            pod_management_policy: Some("Parallel".to_string()),
            persistent_volume_claim_retention_policy: Some(pod::retain_claims()),
            selector: meta::statefulset_selector(dep, Role::Sentinel, name),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(meta::pod_labels(dep, Role::Sentinel, name)),
                    annotations: Some(pod::template_annotations(config_checksum)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    // Service links would put `REDIS_SENTINEL_PORT=tcp://…` style variables
                    // into the container.
                    enable_service_links: Some(false),
                    security_context: Some(pod::pod_security_context()),
                    termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
                    affinity: Some(pod::anti_affinity(dep, Role::Sentinel)),
                    containers: vec![container(dep)],
                    volumes: Some(vec![
                        pod::config_volume(&dep.names.sentinel_config),
                        pod::empty_dir_volume(layout::VOLUME_TMP),
                    ]),
                    ..Default::default()
                }),
            },
            // Sentinel's state (current master, epoch, known peers) must survive pod deletion
            // and a cold start of every pod: a Sentinel that forgot it falls back to the
            // initial master, whose stale data would then overwrite the newest by full resync.
            volume_claim_templates: Some(vec![pod::data_claim(
                dep,
                Role::Sentinel,
                &dep.sentinel.storage_size,
                dep.sentinel.storage_class_name.as_deref(),
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
        command: Some(pod::script_command(layout::START_SENTINEL, &[])),
        ports: Some(vec![ContainerPort {
            name: Some(CONTAINER.to_string()),
            container_port: i32::from(SENTINEL_PORT),
            ..Default::default()
        }]),
        env: Some(pod::env(dep)),
        resources: Some(pod::resources(&dep.sentinel.resources)),
        security_context: Some(pod::container_security_context()),
        // Sentinel rewrites its config file (temp file + rename), so the live copy lives on the
        // writable `data` volume, never on the read-only ConfigMap or a `subPath` mount
        // (DESIGN §4.3).
        volume_mounts: Some(vec![
            pod::mount(layout::VOLUME_CONFIG, layout::CONFIG_DIR, true),
            pod::mount(layout::VOLUME_DATA, layout::DATA_DIR, false),
            pod::mount(layout::VOLUME_TMP, layout::TMP_DIR, false),
        ]),
        readiness_probe: Some(pod::exec_probe(
            layout::PROBE_SENTINEL,
            "readiness",
            READINESS_PERIOD_SECONDS,
            PROBE_TIMEOUT_SECONDS,
            READINESS_FAILURES,
        )),
        liveness_probe: Some(pod::exec_probe(
            layout::PROBE_SENTINEL,
            "liveness",
            LIVENESS_PERIOD_SECONDS,
            PROBE_TIMEOUT_SECONDS,
            LIVENESS_FAILURES,
        )),
        ..Default::default()
    }
}
