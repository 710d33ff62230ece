//! Backups: a CronJob that streams an RDB snapshot from a healthy replica (never the master)
//! into a backup PersistentVolumeClaim and keeps the newest `spec.backup.retention` dumps,
//! with its ConfigMap (`backup.sh` and `lib.sh`).

use std::collections::BTreeMap;

use anyhow::Result;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvVar, PersistentVolumeClaim, PersistentVolumeClaimVolumeSource,
    PodSpec, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::profile::defaults::ContainerResources;
use crate::render::meta::{self, Role};
use crate::render::{config_files, layout, pod};
use crate::resolve::Deployment;

/// Name of the backup container.
const CONTAINER: &str = "backup";
/// Failed runs retried before the Job gives up (the next schedule tries again anyway).
const BACKOFF_LIMIT: i32 = 2;
/// A run that has not finished in an hour is stuck (a dump of a 5Gi dataset takes minutes).
const ACTIVE_DEADLINE_SECONDS: i64 = 3600;
/// Finished Jobs kept for `kubectl logs`.
const HISTORY: i32 = 3;

/// redis-cli streams the dump to disk: little CPU, a small buffer.
fn backup_resources() -> ContainerResources {
    ContainerResources {
        requests_cpu: "50m".into(),
        requests_memory: "32Mi".into(),
        limits_cpu: "500m".into(),
        limits_memory: "128Mi".into(),
    }
}

/// The backup ConfigMap, or `None` with backups off.
pub fn config_map(dep: &Deployment) -> Result<Option<ConfigMap>> {
    if dep.backup.is_none() {
        return Ok(None);
    }
    let files = config_files::backup_files(dep)?;
    Ok(Some(pod::config_map(
        dep,
        Role::Backup,
        &dep.names.backup_config,
        files,
    )))
}

/// The backup volume claim, or `None` with backups off. A plain PVC, not a claim template:
/// every run writes to the same volume, which outlives the Jobs.
pub fn volume_claim(dep: &Deployment) -> Option<PersistentVolumeClaim> {
    let backup = dep.backup.as_ref()?;
    let mut claim = pod::data_claim(
        dep,
        Role::Backup,
        &backup.storage_size,
        backup.storage_class_name.as_deref(),
    );
    claim.metadata = meta::object_meta(dep, Role::Backup, &dep.names.backup);
    Some(claim)
}

/// The backup CronJob, or `None` with backups off. The checksum of its ConfigMap rolls
/// nothing (a Job reads the ConfigMap at each run) and is therefore not annotated.
pub fn cron_job(dep: &Deployment) -> Option<CronJob> {
    let backup = dep.backup.as_ref()?;
    let mut env = vec![EnvVar {
        name: layout::ENV_BACKUP_DIR.to_string(),
        value: Some(layout::BACKUP_DIR.to_string()),
        ..Default::default()
    }];
    if let Some(secret) = &dep.auth {
        // redis-cli authenticates from REDISCLI_AUTH, never from a command-line password.
        env.push(pod::secret_env(layout::ENV_REDISCLI_AUTH, secret));
    }
    let container = Container {
        name: CONTAINER.to_string(),
        image: Some(dep.image.clone()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        command: Some(pod::script_command(layout::BACKUP_SH, &[])),
        env: Some(env),
        resources: Some(pod::resources(&backup_resources())),
        security_context: Some(pod::container_security_context()),
        volume_mounts: Some(vec![
            pod::mount(layout::VOLUME_CONFIG, layout::CONFIG_DIR, true),
            pod::mount(layout::VOLUME_BACKUP, layout::BACKUP_DIR, false),
            pod::mount(layout::VOLUME_TMP, layout::TMP_DIR, false),
        ]),
        ..Default::default()
    };
    let pod_spec = PodSpec {
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        security_context: Some(pod::pod_security_context()),
        restart_policy: Some("Never".to_string()),
        containers: vec![container],
        volumes: Some(vec![
            pod::config_volume(&dep.names.backup_config),
            Volume {
                name: layout::VOLUME_BACKUP.to_string(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: dep.names.backup.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            pod::empty_dir_volume(layout::VOLUME_TMP),
        ]),
        ..Default::default()
    };
    let labels: BTreeMap<String, String> = meta::labels(dep, Role::Backup);
    Some(CronJob {
        metadata: meta::object_meta(dep, Role::Backup, &dep.names.backup),
        spec: Some(CronJobSpec {
            schedule: backup.schedule.clone(),
            // Two dumps at once would fork two replicas and race on retention.
            concurrency_policy: Some("Forbid".to_string()),
            successful_jobs_history_limit: Some(HISTORY),
            failed_jobs_history_limit: Some(HISTORY),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    ..Default::default()
                }),
                spec: Some(JobSpec {
                    backoff_limit: Some(BACKOFF_LIMIT),
                    active_deadline_seconds: Some(ACTIVE_DEADLINE_SECONDS),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(labels),
                            ..Default::default()
                        }),
                        spec: Some(pod_spec),
                    },
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    })
}
