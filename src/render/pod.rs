//! Pod and container pieces shared by the Redis and Sentinel StatefulSets: the hardened
//! security contexts, the env every script relies on, probes and hooks that run ConfigMap
//! scripts, volumes, resources and anti-affinity.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvVar, EnvVarSource, ExecAction, KeyToPath, ObjectFieldSelector,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile,
    SecretKeySelector, SecurityContext, TopologySpreadConstraint, Volume, VolumeMount,
    VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::profile::defaults::{self, ContainerResources};
use crate::profile::spec::{AntiAffinity, ZoneSpread};
use crate::render::config_files::Files;
use crate::render::layout;
use crate::render::meta::{self, Role};
use crate::resolve::{self, Deployment};

/// Node label that makes anti-affinity spread pods over nodes.
const HOSTNAME_TOPOLOGY_KEY: &str = "kubernetes.io/hostname";
/// Well-known node label of the zone a node runs in.
const ZONE_TOPOLOGY_KEY: &str = "topology.kubernetes.io/zone";

/// `defaultMode` of the ConfigMap volume: read-only for everyone; scripts run through `sh`,
/// so they need no execute bit.
const CONFIG_FILE_MODE: i32 = 0o444;
/// A script another program executes directly: read and execute for everyone.
const EXECUTABLE_FILE_MODE: i32 = 0o555;

/// `["sh", "/config/<script>", args…]`: scripts are run through `sh` so that neither the
/// execute bit nor a shebang pointing at a missing bash matters.
pub fn script_command(script: &str, args: &[&str]) -> Vec<String> {
    ["sh".to_string(), format!("{}/{script}", layout::CONFIG_DIR)]
        .into_iter()
        .chain(args.iter().map(|a| (*a).to_string()))
        .collect()
}

/// A probe that runs `script arg` and allows `failures` × `period` seconds of failure.
pub fn exec_probe(script: &str, arg: &str, period: i32, timeout: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(script_command(script, &[arg])),
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(failures),
        success_threshold: Some(1),
        ..Default::default()
    }
}

fn field_env(name: &str, field_path: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: field_path.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn secret_env(name: &str, secret: &resolve::SecretRef) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.name.clone(),
                key: secret.key.clone(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Env of every Redis and Sentinel container: the pod's own name (its DNS identity) and IP,
/// and with auth on the password, twice: `REDISCLI_AUTH` makes `kubectl exec … redis-cli`
/// authenticate without the password appearing on a command line.
fn env(dep: &Deployment) -> Vec<EnvVar> {
    let mut env = vec![
        field_env(layout::ENV_POD_NAME, "metadata.name"),
        field_env(layout::ENV_POD_IP, "status.podIP"),
    ];
    if let Some(secret) = &dep.auth {
        env.push(secret_env(layout::ENV_PASSWORD, secret));
        env.push(secret_env(layout::ENV_REDISCLI_AUTH, secret));
    }
    env
}

/// Requests and limits, both always set: a pod without limits can starve its node, one
/// without requests is evicted first under pressure.
pub fn resources(r: &ContainerResources) -> ResourceRequirements {
    let amounts = |cpu: &str, memory: &str| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.to_string())),
            ("memory".to_string(), Quantity(memory.to_string())),
        ])
    };
    ResourceRequirements {
        requests: Some(amounts(&r.requests_cpu, &r.requests_memory)),
        limits: Some(amounts(&r.limits_cpu, &r.limits_memory)),
        ..Default::default()
    }
}

/// Container hardening: nothing is writable outside the mounted volumes, no capability, no
/// way to gain privileges.
pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_string()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Pod hardening: the `redis` user of the official images, volumes group-owned by its group.
/// `OnRootMismatch` avoids a recursive chown of a large data volume at every start.
pub fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(defaults::REDIS_UID),
        run_as_group: Some(defaults::REDIS_GID),
        fs_group: Some(defaults::REDIS_GID),
        fs_group_change_policy: Some("OnRootMismatch".to_string()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_string(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Keep pods of one role (all Redis pods, master and replicas alike; or all Sentinels) on
/// different nodes, so that losing a node loses at most one of them.
fn anti_affinity(dep: &Deployment, role: Role) -> Affinity {
    let term = PodAffinityTerm {
        label_selector: Some(meta::role_selector(dep, role)),
        topology_key: HOSTNAME_TOPOLOGY_KEY.to_string(),
        ..Default::default()
    };
    let pod_anti_affinity = match dep.anti_affinity {
        AntiAffinity::Preferred => PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    pod_affinity_term: term,
                    weight: 100,
                },
            ]),
            ..Default::default()
        },
        AntiAffinity::Required => PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term]),
            ..Default::default()
        },
    };
    Affinity {
        pod_anti_affinity: Some(pod_anti_affinity),
        ..Default::default()
    }
}

/// Spread the pods of one role over zones, so that losing a zone loses at most a minority
/// of the Sentinels (and not every Redis pod): with three Sentinels in one zone, that
/// zone's outage leaves no majority to fail over.
fn zone_spread(dep: &Deployment, role: Role) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        label_selector: Some(meta::role_selector(dep, role)),
        max_skew: 1,
        topology_key: ZONE_TOPOLOGY_KEY.to_string(),
        when_unsatisfiable: match dep.zone_spread {
            ZoneSpread::Preferred => "ScheduleAnyway",
            ZoneSpread::Required => "DoNotSchedule",
        }
        .to_string(),
        ..Default::default()
    }
}

/// The ConfigMap volume, read-only for everyone.
pub fn config_volume(config_map: &str) -> Volume {
    Volume {
        name: layout::VOLUME_CONFIG.to_string(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.to_string(),
            default_mode: Some(CONFIG_FILE_MODE),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The ConfigMap volume with every file in `keys` read-only for everyone, except `executable`,
/// which may also be executed: a program (Sentinel) runs it directly, not through `sh`.
pub fn config_volume_with_executable(config_map: &str, keys: &[&str], executable: &str) -> Volume {
    let items = keys
        .iter()
        .map(|key| KeyToPath {
            key: key.to_string(),
            path: key.to_string(),
            mode: (*key == executable).then_some(EXECUTABLE_FILE_MODE),
        })
        .collect();
    let mut volume = config_volume(config_map);
    if let Some(source) = volume.config_map.as_mut() {
        source.items = Some(items);
    }
    volume
}

/// A pod-lifetime scratch volume.
pub fn empty_dir_volume(name: &str) -> Volume {
    Volume {
        name: name.to_string(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

/// The `data` volume claim template of a StatefulSet of `role`: Redis data, or Sentinel's
/// rewritten config (current master and epoch), both of which must survive the pod.
pub fn data_claim(
    dep: &Deployment,
    role: Role,
    size: &str,
    storage_class_name: Option<&str>,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(layout::VOLUME_DATA.to_string()),
            labels: Some(meta::labels(dep, role)),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_string()]),
            storage_class_name: storage_class_name.map(str::to_string),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(size.to_string()),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Keep the claims when the StatefulSet is deleted or scaled down: the state outlives the
/// StatefulSet, and deleting a PVC is the operator's decision.
fn retain_claims() -> StatefulSetPersistentVolumeClaimRetentionPolicy {
    StatefulSetPersistentVolumeClaimRetentionPolicy {
        when_deleted: Some("Retain".to_string()),
        when_scaled: Some("Retain".to_string()),
    }
}

/// A whole-volume mount. There is deliberately no `subPath` variant: a `subPath` mount of a
/// ConfigMap never sees updates, and a file Sentinel rewrites by rename cannot be one.
pub fn mount(volume: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: volume.to_string(),
        mount_path: path.to_string(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

/// Pod template annotations: the checksum of the mounted ConfigMap, so that a config change
/// changes the pod template and rolls the pods.
fn template_annotations(checksum: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(meta::CHECKSUM_ANNOTATION.to_string(), checksum.to_string())])
}

/// A ConfigMap holding the config files of `role`.
pub fn config_map(dep: &Deployment, role: Role, name: &str, files: Files) -> ConfigMap {
    ConfigMap {
        metadata: meta::object_meta(dep, role, name),
        data: Some(
            files
                .into_iter()
                .map(|(key, content)| (key.to_string(), content))
                .collect(),
        ),
        ..Default::default()
    }
}

/// What is the same in every container: the image, the start script as command, one named
/// port, the env every script relies on, resources and the hardened security context. The
/// caller adds its mounts, probes and hooks.
pub fn container(
    dep: &Deployment,
    name: &str,
    start_script: &str,
    port: u16,
    resources: &ContainerResources,
) -> Container {
    Container {
        name: name.to_string(),
        image: Some(dep.image.clone()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        command: Some(script_command(start_script, &[])),
        ports: Some(vec![ContainerPort {
            name: Some(name.to_string()),
            container_port: i32::from(port),
            ..Default::default()
        }]),
        env: Some(env(dep)),
        resources: Some(self::resources(resources)),
        security_context: Some(container_security_context()),
        ..Default::default()
    }
}

/// What differs between the StatefulSets of this deployment.
pub struct StatefulSetParts<'a> {
    pub role: Role,
    pub name: &'a str,
    pub replicas: u32,
    /// The headless Service that gives each pod its stable DNS name.
    pub service_name: &'a str,
    /// Checksum of the mounted ConfigMap (see [`template_annotations`]).
    pub config_checksum: &'a str,
    pub termination_grace_period_seconds: i64,
    pub container: Container,
    /// Containers beside the main one (the metrics exporter), already hardened.
    pub sidecars: Vec<Container>,
    pub volumes: Vec<Volume>,
    pub data_claim: PersistentVolumeClaim,
}

/// A StatefulSet of this deployment. Shared by every role: pods start in parallel (each finds
/// its role or the master at boot, none waits for another), claims are retained, the pod is
/// hardened, spread by anti-affinity, and rolled by the config checksum.
pub fn statefulset(dep: &Deployment, parts: StatefulSetParts<'_>) -> Result<StatefulSet> {
    let StatefulSetParts {
        role,
        name,
        replicas,
        service_name,
        config_checksum,
        termination_grace_period_seconds,
        container,
        sidecars,
        volumes,
        data_claim,
    } = parts;
    let replicas = i32::try_from(replicas)
        .with_context(|| format!("bug: {name} has {replicas} replicas after validation"))?;
    Ok(StatefulSet {
        metadata: meta::object_meta(dep, role, name),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(service_name.to_string()),
            pod_management_policy: Some("Parallel".to_string()),
            persistent_volume_claim_retention_policy: Some(retain_claims()),
            selector: meta::statefulset_selector(dep, role, name),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(meta::pod_labels(dep, role, name)),
                    annotations: Some(template_annotations(config_checksum)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    // Service links would put `REDIS_PORT=tcp://…` style variables into the
                    // container, clashing with the names Redis tooling reads.
                    enable_service_links: Some(false),
                    security_context: Some(pod_security_context()),
                    termination_grace_period_seconds: Some(termination_grace_period_seconds),
                    affinity: Some(anti_affinity(dep, role)),
                    topology_spread_constraints: Some(vec![zone_spread(dep, role)]),
                    containers: std::iter::once(container).chain(sidecars).collect(),
                    volumes: Some(volumes),
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![data_claim]),
            ..Default::default()
        }),
        ..Default::default()
    })
}
