//! The Sentinel pods: their ConfigMap and StatefulSet. A StatefulSet, not a Deployment: a
//! Sentinel's identity (`myid`, announced DNS name) must survive restarts, or dead identities
//! pile up as voters in every other Sentinel and failover loses its majority (DESIGN §2).

use anyhow::Result;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Container, ExecAction, Lifecycle, LifecycleHandler};

use crate::profile::defaults::SENTINEL_PORT;
use crate::render::meta::Role;
use crate::render::{config_files, layout, monitoring, pod};
use crate::resolve::Deployment;

/// Name of the Sentinel container and of its port (also `kubectl exec -c` in the runbook).
pub const CONTAINER: &str = "sentinel";

/// Sentinel holds no data and stops at once; 10 s is plenty.
const TERMINATION_GRACE_SECONDS: i64 = 10;
/// The part of the grace period the preStop hook may wait for a hand-over under way (one
/// takes 1–2 s); the rest is for Sentinel to exit.
pub const PRESTOP_WAIT_SECONDS: u32 = 7;
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
    let files = config_files::sentinel_files(dep)?;
    Ok(pod::config_map(
        dep,
        Role::Sentinel,
        &dep.names.sentinel_config,
        files,
    ))
}

/// The Sentinel StatefulSet.
pub fn statefulset(dep: &Deployment, config_checksum: &str) -> Result<StatefulSet> {
    let name = &dep.names.sentinel;
    pod::statefulset(
        dep,
        pod::StatefulSetParts {
            role: Role::Sentinel,
            name,
            replicas: dep.sentinel.replicas,
            // Gives every Sentinel its stable `<pod>.<sentinel headless>` name to announce.
            service_name: &dep.names.sentinel_headless,
            config_checksum,
            termination_grace_period_seconds: TERMINATION_GRACE_SECONDS,
            container: container(dep),
            sidecars: monitoring::exporter(dep, Role::Sentinel)
                .into_iter()
                .collect(),
            volumes: vec![
                pod::config_volume_with_executable(
                    &dep.names.sentinel_config,
                    &config_files::SENTINEL_FILES
                        .iter()
                        .map(|(key, _)| *key)
                        .collect::<Vec<_>>(),
                    layout::FENCE_REDIS,
                ),
                pod::empty_dir_volume(layout::VOLUME_TMP),
            ],
            // Sentinel's state (current master, epoch, known peers) must survive pod deletion
            // and a cold start of every pod: a Sentinel that forgot it falls back to the
            // initial master, whose stale data would then overwrite the newest by full resync.
            data_claim: pod::data_claim(
                dep,
                Role::Sentinel,
                &dep.sentinel.storage_size,
                dep.sentinel.storage_class_name.as_deref(),
            ),
        },
    )
}

fn container(dep: &Deployment) -> Container {
    Container {
        // Sentinel rewrites its config file (temp file + rename), so the live copy lives on the
        // writable `data` volume, never on the read-only ConfigMap or a `subPath` mount
        // (DESIGN §4.3).
        volume_mounts: Some(vec![
            pod::mount(layout::VOLUME_CONFIG, layout::CONFIG_DIR, true),
            pod::mount(layout::VOLUME_DATA, layout::DATA_DIR, false),
            pod::mount(layout::VOLUME_TMP, layout::TMP_DIR, false),
        ]),
        // No Sentinel leaves while a Redis master hands over: an image change rolls the
        // Sentinels and the Redis pods at once.
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(pod::script_command(layout::PRESTOP_SENTINEL, &[])),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
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
        ..pod::container(
            dep,
            CONTAINER,
            layout::START_SENTINEL,
            SENTINEL_PORT,
            &dep.sentinel.resources,
        )
    }
}
