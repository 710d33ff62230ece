//! Golden tests of `redis-sentinel.yaml`: one snapshot per profile (shipped and edge cases),
//! each parsed back into typed Kubernetes objects, re-serialized byte for byte, and checked
//! against the invariants of DESIGN §4.1, each a named rule (`broken_rules`), so a failure says
//! which rule broke.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PersistentVolumeClaim, PodSpec, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use redis_sentinel_gen::profile::spec::AntiAffinity;
use redis_sentinel_gen::render::monitoring::{PrometheusRule, ServiceMonitor};
use redis_sentinel_gen::render::{redis_sentinel_yaml, serialize};
use redis_sentinel_gen::resolve::{self, Deployment};
use sha2::{Digest, Sha256};

fn render(path: &Path) -> (Deployment, String) {
    let dep = support::resolve_profile(path);
    let rendered = redis_sentinel_yaml(&dep)
        .unwrap_or_else(|e| panic!("{} does not render: {e:#}", path.display()));
    (dep, rendered)
}

fn golden(pattern_name: &str, path: &Path) {
    let (dep, rendered) = render(path);
    // Determinism: a second load + render from scratch gives the same bytes.
    let (_, again) = render(path);
    assert_eq!(rendered, again, "two renders of {} differ", path.display());

    insta::assert_snapshot!(pattern_name, rendered);

    let manifest = Manifest::parse(&rendered);
    assert_eq!(
        manifest.reserialize(),
        rendered,
        "parsed objects do not re-serialize to the same bytes"
    );
    // The bytes are serde-saphyr's own: the render's YAML writer (render/emitter.rs) must
    // never drift from the library whose parser reads them back.
    assert_eq!(
        manifest.reserialize_by_serde_saphyr(),
        rendered,
        "serde-saphyr writes the parsed objects differently from the render"
    );
    let broken = broken_rules(&dep, &manifest);
    assert!(
        broken.is_empty(),
        "{} breaks {} rule(s):\n{}",
        path.display(),
        broken.len(),
        broken.join("\n")
    );
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../golden/manifests");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn shipped_profiles() {
    snapshot_settings().bind(|| {
        insta::glob!("../../profiles", "*.yaml", |path| golden("shipped", path));
    });
}

#[test]
fn edge_case_profiles() {
    snapshot_settings().bind(|| {
        insta::glob!("../profiles", "*.yaml", |path| golden("edge", path));
    });
}

// ---------------------------------------------------------------------------------------------
// Parsing the stream back into typed objects

/// One parsed document, typed by its `kind`.
#[expect(
    clippy::large_enum_variant,
    reason = "ten short-lived values per test; boxing would only add noise"
)]
enum Object {
    ConfigMap(ConfigMap),
    Service(Service),
    StatefulSet(StatefulSet),
    PodDisruptionBudget(PodDisruptionBudget),
    NetworkPolicy(NetworkPolicy),
    PersistentVolumeClaim(PersistentVolumeClaim),
    CronJob(CronJob),
    ServiceMonitor(ServiceMonitor),
    PrometheusRule(PrometheusRule),
}

impl Object {
    fn parse(doc: &str) -> Object {
        let value: serde_json::Value = serde_saphyr::from_str(doc)
            .unwrap_or_else(|e| panic!("document is not YAML: {e}\n{doc}"));
        let kind = value["kind"].as_str().unwrap_or_default().to_string();
        // Read back by serde-saphyr's parser into the typed object, the document keeps its
        // whole value (nothing dropped or retyped); the render's bytes are that object's
        // (`Manifest::reserialize`).
        fn typed<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &str) -> T {
            let object: T = serde_saphyr::from_str(doc)
                .unwrap_or_else(|e| panic!("does not parse: {e}\n{doc}"));
            let untyped: serde_json::Value = serde_saphyr::from_str(doc)
                .unwrap_or_else(|e| panic!("document is not YAML: {e}\n{doc}"));
            assert_eq!(
                serde_json::to_value(&object).expect("a parsed object serializes"),
                untyped,
                "the document does not read back to the same value:\n{doc}"
            );
            object
        }
        match kind.as_str() {
            "ConfigMap" => Object::ConfigMap(typed(doc)),
            "Service" => Object::Service(typed(doc)),
            "StatefulSet" => Object::StatefulSet(typed(doc)),
            "PodDisruptionBudget" => Object::PodDisruptionBudget(typed(doc)),
            "NetworkPolicy" => Object::NetworkPolicy(typed(doc)),
            "PersistentVolumeClaim" => Object::PersistentVolumeClaim(typed(doc)),
            "CronJob" => Object::CronJob(typed(doc)),
            "ServiceMonitor" => Object::ServiceMonitor(typed(doc)),
            "PrometheusRule" => Object::PrometheusRule(typed(doc)),
            other => panic!("unexpected kind {other:?} in\n{doc}"),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Object::ConfigMap(_) => "ConfigMap",
            Object::Service(_) => "Service",
            Object::StatefulSet(_) => "StatefulSet",
            Object::PodDisruptionBudget(_) => "PodDisruptionBudget",
            Object::NetworkPolicy(_) => "NetworkPolicy",
            Object::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
            Object::CronJob(_) => "CronJob",
            Object::ServiceMonitor(_) => "ServiceMonitor",
            Object::PrometheusRule(_) => "PrometheusRule",
        }
    }

    fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::ConfigMap(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::PodDisruptionBudget(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
            Object::PersistentVolumeClaim(o) => &o.metadata,
            Object::CronJob(o) => &o.metadata,
            Object::ServiceMonitor(o) => &o.metadata,
            Object::PrometheusRule(o) => &o.metadata,
        }
    }

    /// The object as serde-saphyr itself writes it, with the render's options.
    fn serialize_by_serde_saphyr(&self) -> String {
        fn saphyr<T: serde::Serialize>(object: &T) -> String {
            serde_saphyr::to_string_with_options(object, serialize::options())
                .unwrap_or_else(|e| panic!("serde-saphyr cannot write a parsed object: {e}"))
        }
        match self {
            Object::ConfigMap(o) => saphyr(o),
            Object::Service(o) => saphyr(o),
            Object::StatefulSet(o) => saphyr(o),
            Object::PodDisruptionBudget(o) => saphyr(o),
            Object::NetworkPolicy(o) => saphyr(o),
            Object::PersistentVolumeClaim(o) => saphyr(o),
            Object::CronJob(o) => saphyr(o),
            Object::ServiceMonitor(o) => saphyr(o),
            Object::PrometheusRule(o) => saphyr(o),
        }
    }

    fn serialize(&self) -> String {
        match self {
            Object::ConfigMap(o) => serialize::document(o),
            Object::Service(o) => serialize::document(o),
            Object::StatefulSet(o) => serialize::document(o),
            Object::PodDisruptionBudget(o) => serialize::document(o),
            Object::NetworkPolicy(o) => serialize::document(o),
            Object::PersistentVolumeClaim(o) => serialize::document(o),
            Object::CronJob(o) => serialize::document(o),
            Object::ServiceMonitor(o) => serialize::document(o),
            Object::PrometheusRule(o) => serialize::document(o),
        }
        .unwrap_or_else(|e| panic!("parsed object does not serialize: {e:#}"))
    }

    fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }
}

/// `fn $method(&self, name) -> &$ty`: the object of kind `$variant` named `name`.
macro_rules! named {
    ($method:ident, $variant:ident, $ty:ty) => {
        fn $method(&self, name: &str) -> &$ty {
            self.objects
                .iter()
                .find_map(|o| match o {
                    Object::$variant(x) if x.metadata.name.as_deref() == Some(name) => Some(x),
                    _ => None,
                })
                .unwrap_or_else(|| panic!(concat!("no ", stringify!($variant), " {}"), name))
        }
    };
}

struct Manifest {
    header: String,
    objects: Vec<Object>,
}

impl Manifest {
    fn parse(rendered: &str) -> Manifest {
        let (header, body) = rendered
            .split_once('\n')
            .unwrap_or_else(|| panic!("no header line in\n{rendered}"));
        let body = body
            .strip_prefix("---\n")
            .unwrap_or_else(|| panic!("the first document does not follow the header"));
        // Block scalars are indented, so a line that is exactly `---` is always a separator.
        let docs: Vec<String> = body
            .split("\n---\n")
            .map(|d| {
                if d.ends_with('\n') {
                    d.to_string()
                } else {
                    format!("{d}\n")
                }
            })
            .collect();
        Manifest {
            header: header.to_string(),
            objects: docs.iter().map(|d| Object::parse(d)).collect(),
        }
    }

    fn reserialize(&self) -> String {
        let docs: Vec<String> = self.objects.iter().map(Object::serialize).collect();
        serialize::stream(&self.header, &docs)
    }

    fn reserialize_by_serde_saphyr(&self) -> String {
        let docs: Vec<String> = self
            .objects
            .iter()
            .map(Object::serialize_by_serde_saphyr)
            .collect();
        serialize::stream(&self.header, &docs)
    }

    named!(config_map, ConfigMap, ConfigMap);
    named!(service, Service, Service);
    named!(stateful_set, StatefulSet, StatefulSet);
    named!(budget, PodDisruptionBudget, PodDisruptionBudget);
}

// ---------------------------------------------------------------------------------------------
// DESIGN §4.1 invariants

/// Whether `selector` (matchLabels only: the renderer uses nothing else) selects `labels`.
fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn match_labels(selector: &LabelSelector) -> &BTreeMap<String, String> {
    assert!(
        selector.match_expressions.is_none(),
        "selectors use matchLabels only"
    );
    selector
        .match_labels
        .as_ref()
        .expect("selector has matchLabels")
}

fn pod_labels(sts: &StatefulSet) -> &BTreeMap<String, String> {
    sts.spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.as_ref())
        .expect("pod template has labels")
}

fn pod_spec(sts: &StatefulSet) -> &PodSpec {
    sts.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("StatefulSet has a pod spec")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The checks of one rendered manifest, each under the name of the rule of DESIGN §4.1 it
/// belongs to. Every rule is checked, and a failure lists each rule that broke with its
/// message, so it says which promise the output stopped keeping, not only which line failed.
#[derive(Default)]
struct Rules {
    broken: Vec<String>,
}

impl Rules {
    /// Run `check` as the rule `name` (about `what`, when the rule holds for several objects).
    fn check(&mut self, name: &str, what: &str, check: impl FnOnce()) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            let what = if what.is_empty() {
                String::new()
            } else {
                format!(" ({what})")
            };
            self.broken
                .push(format!("rule broken: {name}{what}:\n  {message}"));
        }
    }
}

/// The rules of DESIGN §4.1 that `m` breaks, each named, with its message; empty when it
/// keeps them all.
fn broken_rules(dep: &Deployment, m: &Manifest) -> Vec<String> {
    let mut rules = Rules::default();
    let n = &dep.names;
    rules.check(
        "the header names the profile it was generated from",
        "",
        || {
            assert_eq!(
                m.header,
                format!(
                    "# generated by redis-sentinel-gen from {} — do not edit",
                    dep.source
                )
            );
        },
    );

    rules.check(
        "objects come in the documented order; monitoring, network policy and backup objects only when asked for",
        "",
        || {
            let order: Vec<(&str, &str)> =
                m.objects.iter().map(|o| (o.kind(), o.name())).collect();
            let (monitoring, policies, backup) = (
                dep.monitoring.is_some(),
                dep.network_policy.is_some(),
                dep.backup.is_some(),
            );
            let expected: Vec<(&str, &str)> = [
                (true, "ConfigMap", n.redis_config.as_str()),
                (true, "ConfigMap", n.sentinel_config.as_str()),
                (backup, "ConfigMap", n.backup_config.as_str()),
                (policies, "NetworkPolicy", n.redis_policy.as_str()),
                (policies, "NetworkPolicy", n.sentinel_policy.as_str()),
                (
                    policies && backup,
                    "NetworkPolicy",
                    n.backup_policy.as_str(),
                ),
                (true, "Service", n.redis_headless.as_str()),
                (true, "Service", n.sentinel_headless.as_str()),
                (true, "Service", n.sentinel.as_str()),
                (monitoring, "Service", n.redis_metrics.as_str()),
                (monitoring, "Service", n.sentinel_metrics.as_str()),
                (backup, "PersistentVolumeClaim", n.backup.as_str()),
                (true, "StatefulSet", n.redis_master.as_str()),
                (true, "StatefulSet", n.redis_replica.as_str()),
                (true, "StatefulSet", n.sentinel.as_str()),
                (backup, "CronJob", n.backup.as_str()),
                (true, "PodDisruptionBudget", n.redis_pdb.as_str()),
                (true, "PodDisruptionBudget", n.sentinel_pdb.as_str()),
                (monitoring, "ServiceMonitor", n.monitoring.as_str()),
                (monitoring, "PrometheusRule", n.monitoring.as_str()),
            ]
            .into_iter()
            .filter(|(present, _, _)| *present)
            .map(|(_, kind, name)| (kind, name))
            .collect();
            assert_eq!(order, expected);
        },
    );
    // The rules below look objects up by name: without them in place there is nothing to check.
    if !rules.broken.is_empty() {
        return rules.broken;
    }

    for object in &m.objects {
        rules.check(
            "every object is in the profile's namespace, managed by redis-sentinel-gen, of this instance",
            &format!("{} {}", object.kind(), object.name()),
            || {
                let meta = object.metadata();
                assert_eq!(meta.namespace.as_deref(), Some(dep.namespace.as_str()));
                let labels = meta.labels.as_ref().expect("every object is labelled");
                assert_eq!(
                    labels
                        .get("app.kubernetes.io/managed-by")
                        .map(String::as_str),
                    Some("redis-sentinel-gen")
                );
                assert_eq!(
                    labels.get("app.kubernetes.io/instance"),
                    Some(&dep.instance)
                );
            },
        );
    }

    let master = m.stateful_set(&n.redis_master);
    let replica = m.stateful_set(&n.redis_replica);
    let sentinel = m.stateful_set(&n.sentinel);
    let redis_pods = [pod_labels(master), pod_labels(replica)];
    let sentinel_pods = pod_labels(sentinel);

    rules.check(
        "pods are labelled by role for life (app, name, component), never master or replica",
        "",
        || {
            for labels in redis_pods {
                assert_eq!(labels["app"], "redis");
                assert_eq!(labels["app.kubernetes.io/name"], "redis");
                assert_eq!(labels["app.kubernetes.io/component"], "redis");
            }
            assert_eq!(sentinel_pods["app"], "redis-sentinel");
            assert_eq!(sentinel_pods["app.kubernetes.io/name"], "redis-sentinel");
            assert_eq!(sentinel_pods["app.kubernetes.io/component"], "sentinel");
        },
    );

    let all_pods = [pod_labels(master), pod_labels(replica), sentinel_pods];
    for (i, sts) in [master, replica, sentinel].into_iter().enumerate() {
        let name = sts.metadata.name.as_deref().unwrap_or_default();
        rules.check(
            "each StatefulSet selects its own pods and no other",
            name,
            || {
                let selector = match_labels(&sts.spec.as_ref().expect("spec").selector);
                for (j, labels) in all_pods.iter().enumerate() {
                    assert_eq!(
                        selects(selector, labels),
                        i == j,
                        "selector of {name} vs pods of StatefulSet #{j}"
                    );
                }
            },
        );
    }

    for (service, governed, role_pods, other_pods) in [
        (
            &n.redis_headless,
            vec![master, replica],
            &redis_pods[..],
            &[sentinel_pods][..],
        ),
        (
            &n.sentinel_headless,
            vec![sentinel],
            &[sentinel_pods][..],
            &redis_pods[..],
        ),
    ] {
        rules.check(
            "each headless Service governs its StatefulSets, publishes not-ready pods (stable DNS names during boot) and selects every pod of its role and no other",
            service,
            || {
                let svc = m.service(service).spec.as_ref().expect("Service spec");
                assert_eq!(svc.cluster_ip.as_deref(), Some("None"));
                assert_eq!(svc.publish_not_ready_addresses, Some(true));
                let selector = svc.selector.as_ref().expect("Service selector");
                assert!(role_pods.iter().all(|l| selects(selector, l)));
                assert!(!other_pods.iter().any(|l| selects(selector, l)));
                for sts in governed {
                    assert_eq!(
                        sts.spec.as_ref().and_then(|s| s.service_name.as_deref()),
                        Some(service.as_str())
                    );
                }
            },
        );
    }
    rules.check(
        "the client Service is a ClusterIP on port 26379 that selects the Sentinels",
        &n.sentinel,
        || {
            let client = m.service(&n.sentinel).spec.as_ref().expect("Service spec");
            assert_eq!(client.type_.as_deref(), Some("ClusterIP"));
            assert_ne!(client.cluster_ip.as_deref(), Some("None"));
            assert!(selects(
                client.selector.as_ref().expect("selector"),
                sentinel_pods
            ));
            let ports = client.ports.as_ref().expect("ports");
            assert_eq!(ports[0].port, 26379);
        },
    );

    for (budget, role_pods, other_pods) in [
        (&n.redis_pdb, &redis_pods[..], &[sentinel_pods][..]),
        (&n.sentinel_pdb, &[sentinel_pods][..], &redis_pods[..]),
    ] {
        rules.check(
            "each PodDisruptionBudget lets one pod of its role go at a time and selects every pod of its role and no other",
            budget,
            || {
                let spec = m.budget(budget).spec.as_ref().expect("PDB spec");
                assert_eq!(spec.max_unavailable, Some(IntOrString::Int(1)));
                let selector = match_labels(spec.selector.as_ref().expect("PDB selector"));
                assert!(role_pods.iter().all(|l| selects(selector, l)));
                assert!(!other_pods.iter().any(|l| selects(selector, l)));
            },
        );
    }

    rules.check(
        "one master pod; replica and Sentinel counts are the profile's",
        "",
        || {
            let replicas = |sts: &StatefulSet| sts.spec.as_ref().and_then(|s| s.replicas);
            assert_eq!(replicas(master), Some(1));
            assert_eq!(replicas(replica), Some(dep.redis.replicas as i32));
            assert_eq!(replicas(sentinel), Some(dep.sentinel.replicas as i32));
        },
    );

    let redis_cm = m.config_map(&n.redis_config);
    let sentinel_cm = m.config_map(&n.sentinel_config);
    for sts in [master, replica] {
        let name = sts.metadata.name.as_deref().unwrap_or_default();
        check_pod(&mut rules, dep, sts, redis_cm, "redis", &redis_pods, 6379);
        let pod = pod_spec(sts);
        let redis = &pod.containers[0];
        rules.check(
            "a Redis pod stops safely: a preStop failover script, a grace period longer than a failover, a startup probe",
            name,
            || {
                let pre_stop = redis
                    .lifecycle
                    .as_ref()
                    .and_then(|l| l.pre_stop.as_ref())
                    .and_then(|h| h.exec.as_ref())
                    .and_then(|e| e.command.as_ref())
                    .expect("Redis has an exec preStop hook");
                assert_script_exists(pre_stop, redis_cm);
                let grace = pod.termination_grace_period_seconds.expect("grace period");
                assert!(
                    grace * 1000 >= i64::from(dep.sentinel.failover_timeout),
                    "grace {grace}s shorter than failover timeout {}ms",
                    dep.sentinel.failover_timeout
                );
                assert!(redis.startup_probe.is_some(), "Redis needs a startup probe");
            },
        );
        rules.check(
            "Redis data lives on a retained ReadWriteOnce claim of the profile's class and size, mounted at /data",
            name,
            || {
                let claims = sts
                    .spec
                    .as_ref()
                    .and_then(|s| s.volume_claim_templates.as_ref())
                    .expect("Redis has a volume claim template");
                assert_eq!(claims.len(), 1);
                let claim = claims[0].spec.as_ref().expect("claim spec");
                assert_eq!(claim.access_modes, Some(vec!["ReadWriteOnce".to_string()]));
                assert_eq!(claim.storage_class_name, dep.redis.storage_class_name);
                assert_eq!(
                    claim
                        .resources
                        .as_ref()
                        .and_then(|r| r.requests.as_ref())
                        .map(|r| &r["storage"].0),
                    Some(&dep.redis.storage_size)
                );
                let retention = sts
                    .spec
                    .as_ref()
                    .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
                    .expect("PVC retention policy");
                assert_eq!(retention.when_deleted.as_deref(), Some("Retain"));
                assert_eq!(retention.when_scaled.as_deref(), Some("Retain"));
                let mount = mount_of(redis, "/data");
                assert_eq!(
                    mount.name,
                    claims[0].metadata.name.clone().unwrap_or_default()
                );
            },
        );
    }
    check_pod(
        &mut rules,
        dep,
        sentinel,
        sentinel_cm,
        "sentinel",
        &[sentinel_pods],
        26379,
    );
    // Sentinel rewrites its config, and the current master and epoch in it must survive a
    // restart of every pod.
    rules.check(
        "Sentinel state survives a restart of every pod: /data is a writable, retained ReadWriteOnce claim of the profile's class and size, never a pod volume",
        &n.sentinel,
        || {
            let sentinel_pod = pod_spec(sentinel);
            let data = mount_of(&sentinel_pod.containers[0], "/data");
            assert_ne!(data.read_only, Some(true));
            assert!(
                sentinel_pod
                    .volumes
                    .as_ref()
                    .is_none_or(|v| v.iter().all(|v| v.name != data.name)),
                "Sentinel data must not be a pod volume (an emptyDir forgets the master)"
            );
            let sentinel_spec = sentinel.spec.as_ref().expect("Sentinel StatefulSet spec");
            let claims = sentinel_spec
                .volume_claim_templates
                .as_ref()
                .expect("Sentinel has a volume claim template");
            assert_eq!(claims.len(), 1);
            assert_eq!(claims[0].metadata.name.as_deref(), Some(data.name.as_str()));
            let claim = claims[0].spec.as_ref().expect("claim spec");
            assert_eq!(claim.access_modes, Some(vec!["ReadWriteOnce".to_string()]));
            assert_eq!(claim.storage_class_name, dep.sentinel.storage_class_name);
            assert_eq!(
                claim
                    .resources
                    .as_ref()
                    .and_then(|r| r.requests.as_ref())
                    .map(|r| &r["storage"].0),
                Some(&dep.sentinel.storage_size)
            );
            let retention = sentinel_spec
                .persistent_volume_claim_retention_policy
                .as_ref()
                .expect("Sentinel PVC retention policy");
            assert_eq!(retention.when_deleted.as_deref(), Some("Retain"));
            assert_eq!(retention.when_scaled.as_deref(), Some("Retain"));
        },
    );
    rules.broken
}

fn mount_of<'a>(
    container: &'a Container,
    path: &str,
) -> &'a k8s_openapi::api::core::v1::VolumeMount {
    container
        .volume_mounts
        .as_ref()
        .and_then(|mounts| mounts.iter().find(|m| m.mount_path == path))
        .unwrap_or_else(|| panic!("container {} mounts nothing at {path}", container.name))
}

/// A `["sh", "/config/<file>", …]` command must name a file of the mounted ConfigMap.
fn assert_script_exists(command: &[String], config_map: &ConfigMap) {
    assert_eq!(command[0], "sh");
    let file = command[1]
        .strip_prefix("/config/")
        .unwrap_or_else(|| panic!("{command:?} does not run a /config script"));
    let data = config_map.data.as_ref().expect("ConfigMap data");
    assert!(data.contains_key(file), "{file} is not in the ConfigMap");
}

/// The rules every Redis and Sentinel pod must keep.
fn check_pod(
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
            assert_eq!(psc.run_as_user, Some(resolve::REDIS_UID));
            assert_eq!(psc.fs_group, Some(resolve::REDIS_GID));
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

/// A deliberately broken manifest is reported under the name of the rule it breaks, and only
/// that rule: the names are what a failure of the golden tests says.
#[test]
fn a_broken_rule_is_reported_by_its_name() {
    let (dep, rendered) = render(&support::repo_root().join("profiles/welcomebot.yaml"));
    let mut manifest = Manifest::parse(&rendered);
    assert_eq!(broken_rules(&dep, &manifest), Vec::<String>::new());
    for object in &mut manifest.objects {
        if let Object::PodDisruptionBudget(budget) = object
            && budget.metadata.name.as_deref() == Some(dep.names.sentinel_pdb.as_str())
        {
            budget.spec.as_mut().expect("PDB spec").max_unavailable = Some(IntOrString::Int(2));
        }
    }
    let broken = broken_rules(&dep, &manifest);
    assert_eq!(broken.len(), 1, "{broken:#?}");
    assert!(
        broken[0].starts_with(&format!(
            "rule broken: each PodDisruptionBudget lets one pod of its role go at a time and selects every pod of its role and no other ({}):",
            dep.names.sentinel_pdb
        )),
        "{}",
        broken[0]
    );
}
