//! Names, labels, selectors and checksums shared by every Kubernetes object of a deployment.
//!
//! Two label sets matter and must not be confused:
//! - the *role* selector (`app.kubernetes.io/name` + `app.kubernetes.io/instance`) matches every
//!   pod of one role of this instance; Services, PodDisruptionBudgets and anti-affinity use it;
//! - the *StatefulSet* selector adds `redis-sentinel-gen/statefulset`, so the master and replica
//!   StatefulSets never claim each other's pods. A StatefulSet selector is immutable, so it is
//!   built only from names, never from anything that could change between releases.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use sha2::{Digest, Sha256};

use crate::resolve::Deployment;

/// Value of `app.kubernetes.io/managed-by`.
pub const MANAGED_BY: &str = "redis-sentinel-gen";
/// Value of `app.kubernetes.io/part-of`: Redis and Sentinel pods together form one
/// Redis Sentinel deployment.
pub const PART_OF: &str = "redis-sentinel";
/// Label that tells the pods of one StatefulSet apart from the other pods of the same role.
pub const STATEFULSET_LABEL: &str = "redis-sentinel-gen/statefulset";
/// Prefix of the label the client patches add to every client pod template, and the
/// NetworkPolicies admit: `client.redis-sentinel-gen/<instance>: "true"`. The tool owns it, so
/// admission never depends on labels a base may or may not carry. The instance is in the key,
/// not the value, so one client can carry the labels of several deployments in its namespace.
pub const CLIENT_LABEL_PREFIX: &str = "client.redis-sentinel-gen";
/// Pod template annotation holding [`config_checksum`] of the ConfigMap the pods mount.
pub const CHECKSUM_ANNOTATION: &str = "checksum/config";

/// The two kinds of pod. The component label names the role a pod has for its whole life:
/// never `master` / `replica`, because a Redis pod's replication role changes at failover and
/// a label that says `master` would then lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Redis,
    Sentinel,
    /// The pods of the backup CronJob.
    Backup,
}

impl Role {
    /// `app` label: the runbook and existing tooling select on `app=redis` / `app=redis-sentinel`.
    pub fn app(self) -> &'static str {
        match self {
            Role::Redis => "redis",
            Role::Sentinel => "redis-sentinel",
            Role::Backup => "redis-backup",
        }
    }

    /// `app.kubernetes.io/component`.
    pub fn component(self) -> &'static str {
        match self {
            Role::Redis => "redis",
            Role::Sentinel => "sentinel",
            Role::Backup => "backup",
        }
    }
}

fn string_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// Every label an object or pod of `role` carries.
pub fn labels(dep: &Deployment, role: Role) -> BTreeMap<String, String> {
    string_map(&[
        ("app", role.app()),
        ("app.kubernetes.io/name", role.app()),
        ("app.kubernetes.io/instance", &dep.instance),
        ("app.kubernetes.io/component", role.component()),
        ("app.kubernetes.io/part-of", PART_OF),
        ("app.kubernetes.io/managed-by", MANAGED_BY),
    ])
}

/// The label (key, value) that admits a client pod to this instance's Redis and Sentinels.
pub fn client_label(dep: &Deployment) -> (String, String) {
    (
        format!("{CLIENT_LABEL_PREFIX}/{}", dep.instance),
        "true".to_string(),
    )
}

/// Labels matching every pod of `role` in this instance (Services, PDBs, anti-affinity).
pub fn role_selector_labels(dep: &Deployment, role: Role) -> BTreeMap<String, String> {
    instance_role_selector_labels(&dep.instance, role)
}

/// [`role_selector_labels`] of the instance named `instance`, for checks that run before a
/// profile is resolved (another workload in the base carrying them).
pub fn instance_role_selector_labels(instance: &str, role: Role) -> BTreeMap<String, String> {
    string_map(&[
        ("app.kubernetes.io/name", role.app()),
        ("app.kubernetes.io/instance", instance),
    ])
}

/// [`role_selector_labels`] as a `LabelSelector`.
pub fn role_selector(dep: &Deployment, role: Role) -> LabelSelector {
    LabelSelector {
        match_labels: Some(role_selector_labels(dep, role)),
        ..Default::default()
    }
}

/// Selector of the StatefulSet `statefulset`: the role selector plus the StatefulSet's name.
pub fn statefulset_selector(dep: &Deployment, role: Role, statefulset: &str) -> LabelSelector {
    let mut labels = role_selector_labels(dep, role);
    labels.insert(STATEFULSET_LABEL.to_string(), statefulset.to_string());
    LabelSelector {
        match_labels: Some(labels),
        ..Default::default()
    }
}

/// Labels of the pods of the StatefulSet `statefulset`: a superset of its selector.
pub fn pod_labels(dep: &Deployment, role: Role, statefulset: &str) -> BTreeMap<String, String> {
    let mut labels = labels(dep, role);
    labels.insert(STATEFULSET_LABEL.to_string(), statefulset.to_string());
    labels
}

/// Metadata of a namespaced object of `role`.
pub fn object_meta(dep: &Deployment, role: Role, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(dep.namespace.clone()),
        labels: Some(labels(dep, role)),
        ..Default::default()
    }
}

/// SHA-256 (lower-case hex) of a ConfigMap's `data`, taken over its JSON form (keys sorted,
/// strings escaped by one fixed rule), so that anyone can recompute it from the rendered
/// object. Any change to any file changes the pod template annotation and so rolls the pods.
pub fn config_checksum(data: &BTreeMap<String, String>) -> anyhow::Result<String> {
    // The JSON goes straight into the hash: the files are most of the rendered bytes, and a
    // copy of them would only be allocated, written and freed.
    // serde_json writes an escaped string in many small pieces; the buffer hands the hash
    // whole blocks.
    let mut hasher = std::io::BufWriter::with_capacity(16 * 1024, Hashing(Sha256::new()));
    serde_json::to_writer(&mut hasher, data)?;
    let digest = hasher
        .into_inner()
        .map_err(|e| e.into_error())?
        .0
        .finalize();
    let mut hex = String::with_capacity(2 * digest.len());
    for byte in digest {
        write!(hex, "{byte:02x}")?;
    }
    Ok(hex)
}

/// Bytes written to it are hashed.
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_sha256_of_the_sorted_json_data() {
        let data = string_map(&[("b", "2"), ("a", "1")]);
        // sha256 of `{"a":"1","b":"2"}`, computed with `printf '%s' '{"a":"1","b":"2"}' | sha256sum`.
        assert_eq!(
            config_checksum(&data).unwrap(),
            "21f76dfbfe6dfe21f762080ef484112cf2952974cef30741fd1931e1c6d92112"
        );
    }
}
