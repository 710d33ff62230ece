//! Pod and container pieces shared by the Redis and Sentinel StatefulSets: the hardened
//! security contexts, the env every script relies on, probes and hooks that run ConfigMap
//! scripts, volumes, resources and anti-affinity.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSetPersistentVolumeClaimRetentionPolicy;
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    ExecAction, ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PodAffinityTerm, PodAntiAffinity, PodSecurityContext, Probe, ResourceRequirements,
    SeccompProfile, SecretKeySelector, SecurityContext, Volume, VolumeMount,
    VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::profile::spec::AntiAffinity;
use crate::render::layout;
use crate::render::meta::{self, Role};
use crate::resolve::{self, ContainerResources, Deployment};

/// Node label that makes anti-affinity spread pods over nodes.
const HOSTNAME_TOPOLOGY_KEY: &str = "kubernetes.io/hostname";

/// `defaultMode` of the ConfigMap volume: read-only for everyone; scripts run through `sh`,
/// so they need no execute bit.
const CONFIG_FILE_MODE: i32 = 0o444;

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

fn secret_env(name: &str, secret: &resolve::SecretRef) -> EnvVar {
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
pub fn env(dep: &Deployment) -> Vec<EnvVar> {
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
        run_as_user: Some(resolve::REDIS_UID),
        run_as_group: Some(resolve::REDIS_GID),
        fs_group: Some(resolve::REDIS_GID),
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
pub fn anti_affinity(dep: &Deployment, role: Role) -> Affinity {
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
pub fn retain_claims() -> StatefulSetPersistentVolumeClaimRetentionPolicy {
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
pub fn template_annotations(checksum: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(meta::CHECKSUM_ANNOTATION.to_string(), checksum.to_string())])
}
