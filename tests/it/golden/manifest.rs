//! The rendered stream parsed back into typed Kubernetes objects, and serialized again: the
//! bytes must come back the same. Also the accessors the rules read the objects with.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::CronJob;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMap, Container, PersistentVolumeClaim, PodSpec, Service, VolumeMount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use redis_sentinel_gen::render::monitoring::{PrometheusRule, ServiceMonitor};
use redis_sentinel_gen::render::serialize;
use sha2::{Digest, Sha256};

/// One parsed document, typed by its `kind`.
#[expect(
    clippy::large_enum_variant,
    reason = "ten short-lived values per test; boxing would only add noise"
)]
pub(super) enum Object {
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

    pub(super) fn kind(&self) -> &'static str {
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

    pub(super) fn metadata(&self) -> &ObjectMeta {
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

    pub(super) fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }
}

/// `fn $method(&self, name) -> &$ty`: the object of kind `$variant` named `name`.
macro_rules! named {
    ($method:ident, $variant:ident, $ty:ty) => {
        pub(super) fn $method(&self, name: &str) -> &$ty {
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

pub(super) struct Manifest {
    pub(super) header: String,
    pub(super) objects: Vec<Object>,
}

impl Manifest {
    pub(super) fn parse(rendered: &str) -> Manifest {
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

    pub(super) fn reserialize(&self) -> String {
        let docs: Vec<String> = self.objects.iter().map(Object::serialize).collect();
        serialize::stream(&self.header, &docs)
    }

    pub(super) fn reserialize_by_serde_saphyr(&self) -> String {
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

/// Whether `selector` (matchLabels only: the renderer uses nothing else) selects `labels`.
pub(super) fn selects(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

pub(super) fn match_labels(selector: &LabelSelector) -> &BTreeMap<String, String> {
    assert!(
        selector.match_expressions.is_none(),
        "selectors use matchLabels only"
    );
    selector
        .match_labels
        .as_ref()
        .expect("selector has matchLabels")
}

pub(super) fn pod_labels(sts: &StatefulSet) -> &BTreeMap<String, String> {
    sts.spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.as_ref())
        .expect("pod template has labels")
}

pub(super) fn pod_spec(sts: &StatefulSet) -> &PodSpec {
    sts.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("StatefulSet has a pod spec")
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn mount_of<'a>(container: &'a Container, path: &str) -> &'a VolumeMount {
    container
        .volume_mounts
        .as_ref()
        .and_then(|mounts| mounts.iter().find(|m| m.mount_path == path))
        .unwrap_or_else(|| panic!("container {} mounts nothing at {path}", container.name))
}

/// A `["sh", "/config/<file>", …]` command must name a file of the mounted ConfigMap.
pub(super) fn assert_script_exists(command: &[String], config_map: &ConfigMap) {
    assert_eq!(command[0], "sh");
    let file = command[1]
        .strip_prefix("/config/")
        .unwrap_or_else(|| panic!("{command:?} does not run a /config script"));
    let data = config_map.data.as_ref().expect("ConfigMap data");
    assert!(data.contains_key(file), "{file} is not in the ConfigMap");
}
