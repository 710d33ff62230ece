//! The rules every Redis and Sentinel pod must keep (part of DESIGN §4.1).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;
use redis_sentinel_gen::profile::defaults;
use redis_sentinel_gen::profile::spec::AntiAffinity;
use redis_sentinel_gen::resolve::Deployment;

use super::manifest::{
    assert_script_exists, match_labels, mount_of, pod_spec, selects, sha256_hex,
};
use super::rules::Rules;

/// The rules every Redis and Sentinel pod must keep.
pub(super) fn check_pod(
    rules: &mut Rules,
    dep: &Deployment,
    sts: &StatefulSet,
    config_map: &ConfigMap,
    container_name: &str,
    role_pods: &[&BTreeMap<String, String>],
    port: i32,
) {
    let name = sts.metadata.name.as_deref().unwrap_or_default();
    let spec = sts.spec.as_ref().expect("spec");
    let pod = pod_spec(sts);
    rules.check(
        "pods start in parallel, without a service-account token or service links",
        name,
        || {
            assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
            assert_eq!(pod.automount_service_account_token, Some(false));
            assert_eq!(pod.enable_service_links, Some(false));
        },
    );

    rules.check(
        "the checksum/config annotation is the SHA-256 of the ConfigMap data as sorted JSON",
        name,
        || {
            let template = spec.template.metadata.as_ref().expect("template metadata");
            let data = config_map.data.as_ref().expect("ConfigMap data");
            let json = serde_json::to_vec(data).expect("data as JSON");
            assert_eq!(
                template
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("checksum/config")),
                Some(&sha256_hex(&json))
            );
        },
    );

    rules.check(
        "pods run as the Redis user and group, never root, with the RuntimeDefault seccomp profile",
        name,
        || {
            let psc = pod.security_context.as_ref().expect("pod securityContext");
            assert_eq!(psc.run_as_non_root, Some(true));
            assert_eq!(psc.run_as_user, Some(defaults::REDIS_UID));
            assert_eq!(psc.fs_group, Some(defaults::REDIS_GID));
            assert_eq!(
                psc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
                Some("RuntimeDefault")
            );
        },
    );

    rules.check(
        "anti-affinity spreads every pod of the role over hosts, as strongly as the profile asked",
        name,
        || {
            let anti = pod
                .affinity
                .as_ref()
                .and_then(|a| a.pod_anti_affinity.as_ref())
                .expect("pod anti-affinity");
            let term = match dep.anti_affinity {
                AntiAffinity::Preferred => {
                    assert!(
                        anti.required_during_scheduling_ignored_during_execution
                            .is_none()
                    );
                    let preferred = anti
                        .preferred_during_scheduling_ignored_during_execution
                        .as_ref()
                        .expect("preferred anti-affinity");
                    assert_eq!(preferred[0].weight, 100);
                    &preferred[0].pod_affinity_term
                }
                AntiAffinity::Required => {
                    assert!(
                        anti.preferred_during_scheduling_ignored_during_execution
                            .is_none()
                    );
                    &anti
                        .required_during_scheduling_ignored_during_execution
                        .as_ref()
                        .expect("required anti-affinity")[0]
                }
            };
            assert_eq!(term.topology_key, "kubernetes.io/hostname");
            let selector = match_labels(term.label_selector.as_ref().expect("selector"));
            assert!(role_pods.iter().all(|l| selects(selector, l)));
        },
    );

    rules.check(
        "the config volume is the pod's own ConfigMap, read-only (mode 0444)",
        name,
        || {
            let volumes = pod.volumes.as_ref().expect("volumes");
            assert!(
                volumes
                    .iter()
                    .any(|v| v.config_map.as_ref().is_some_and(|c| {
                        Some(&c.name) == config_map.metadata.name.as_ref()
                            && c.default_mode == Some(0o444)
                    }))
            );
        },
    );

    rules.check(
        "the metrics exporter runs exactly when monitoring is on, hardened, with resources, probes and a pinned image",
        name,
        || {
            assert_eq!(
                pod.containers.len(),
                1 + usize::from(dep.monitoring.is_some())
            );
            for sidecar in &pod.containers[1..] {
                assert_eq!(sidecar.name, "metrics");
                let sc = sidecar
                    .security_context
                    .as_ref()
                    .expect("sidecar securityContext");
                assert_eq!(sc.read_only_root_filesystem, Some(true));
                assert_eq!(sc.allow_privilege_escalation, Some(false));
                assert_eq!(
                    sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
                    Some(vec!["ALL".to_string()])
                );
                let resources = sidecar.resources.as_ref().expect("sidecar resources");
                assert!(resources.requests.is_some() && resources.limits.is_some());
                assert!(sidecar.readiness_probe.is_some() && sidecar.liveness_probe.is_some());
                let image = sidecar.image.as_deref().unwrap_or_default();
                assert!(
                    image.contains(':') || image.contains('@'),
                    "unpinned {image}"
                );
            }
        },
    );

    let c = &pod.containers[0];
    rules.check(
        "the main container runs the profile's image and scripts of its own ConfigMap (probes too), on its named port",
        name,
        || {
            assert_eq!(c.name, container_name);
            assert_eq!(c.image.as_ref(), Some(&dep.image));
            assert_eq!(c.image_pull_policy.as_deref(), Some("IfNotPresent"));
            assert!(c.args.is_none());
            assert_script_exists(c.command.as_ref().expect("command"), config_map);
            for probe in [&c.readiness_probe, &c.liveness_probe, &c.startup_probe]
                .into_iter()
                .flatten()
            {
                let command = probe
                    .exec
                    .as_ref()
                    .and_then(|e| e.command.as_ref())
                    .expect("exec probe");
                assert_script_exists(command, config_map);
            }
            assert!(c.readiness_probe.is_some() && c.liveness_probe.is_some());
            let ports = c.ports.as_ref().expect("ports");
            assert_eq!(
                (ports[0].container_port, ports[0].name.as_deref()),
                (port, Some(container_name))
            );
        },
    );

    rules.check(
        "the main container is hardened: read-only root, no privilege escalation, no capabilities, requests and limits",
        name,
        || {
            let sc = c
                .security_context
                .as_ref()
                .expect("container securityContext");
            assert_eq!(sc.read_only_root_filesystem, Some(true));
            assert_eq!(sc.allow_privilege_escalation, Some(false));
            assert_eq!(
                sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
                Some(vec!["ALL".to_string()])
            );
            let resources = c.resources.as_ref().expect("resources");
            assert!(resources.requests.is_some() && resources.limits.is_some());
        },
    );

    rules.check(
        "the pod knows its name and IP, and the password comes from the Secret exactly when auth is on, never inlined",
        name,
        || {
            let env = c.env.as_ref().expect("env");
            let field = |name: &str| {
                env.iter()
                    .find(|e| e.name == name)
                    .and_then(|e| e.value_from.as_ref())
                    .and_then(|v| v.field_ref.as_ref())
                    .map(|f| f.field_path.clone())
            };
            assert_eq!(field("POD_NAME").as_deref(), Some("metadata.name"));
            assert_eq!(field("POD_IP").as_deref(), Some("status.podIP"));
            for name in ["REDIS_PASSWORD", "REDISCLI_AUTH"] {
                let secret = env
                    .iter()
                    .find(|e| e.name == name)
                    .and_then(|e| e.value_from.as_ref())
                    .and_then(|v| v.secret_key_ref.as_ref())
                    .map(|s| (s.name.clone(), s.key.clone()));
                assert_eq!(
                    secret,
                    dep.auth.as_ref().map(|a| (a.name.clone(), a.key.clone())),
                    "{name} must come from the Secret exactly when auth is on"
                );
            }
            assert!(
                env.iter().all(|e| e.value.is_none()),
                "no literal env values (a password must never be inlined)"
            );
        },
    );

    rules.check(
        "mounts never use subPath; /config is read-only and every other mount writable",
        name,
        || {
            let mounts = c.volume_mounts.as_ref().expect("mounts");
            assert!(
                mounts
                    .iter()
                    .all(|m| m.sub_path.is_none() && m.sub_path_expr.is_none())
            );
            let config = mount_of(c, "/config");
            assert_eq!(config.read_only, Some(true));
            for m in mounts.iter().filter(|m| m.mount_path != "/config") {
                assert_ne!(m.read_only, Some(true), "{} must be writable", m.mount_path);
            }
        },
    );
}
