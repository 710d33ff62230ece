//! The built objects judged the way a cluster would: env entries the API server refuses, the
//! switched env the shipped profile needs, and what the built NetworkPolicies admit.

use std::path::Path;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::Value;

use super::{BOTS, CRD_KINDS, NAMESPACE, bot, env_entry, find};
use crate::support::network_policy::{Cluster, Labels, Peer, labels};

/// Every env entry of every container (init containers too) of every pod template in
/// `objects` the API server would refuse: `value` beside `valueFrom`, or a `valueFrom` with
/// other than exactly one source. As "Kind/name/container/VAR: entry".
pub(super) fn refused_env_entries(objects: &[Value]) -> Vec<String> {
    let mut refused = Vec::new();
    for object in objects {
        let pod = match object["kind"].as_str() {
            Some("CronJob") => &object["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            _ => &object["spec"]["template"]["spec"],
        };
        for list in ["initContainers", "containers"] {
            for c in pod[list].as_array().into_iter().flatten() {
                for var in c["env"].as_array().into_iter().flatten() {
                    let value_set = var["value"].as_str().is_some_and(|v| !v.is_empty());
                    let sources = var["valueFrom"].as_object().map(serde_json::Map::len);
                    if (value_set && sources.is_some()) || sources.is_some_and(|n| n != 1) {
                        refused.push(format!(
                            "{}/{}/{}/{}: {var}",
                            object["kind"].as_str().unwrap_or_default(),
                            object["metadata"]["name"].as_str().unwrap_or_default(),
                            c["name"].as_str().unwrap_or_default(),
                            var["name"].as_str().unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    refused
}

/// What is wrong with the switched env of the shipped profile in `container`: it needs the
/// three Sentinel variables, the password from the Secret and nothing else, no `REDIS_ADDR`.
pub(super) fn switch_problems(what: &str, container: &Value) -> Vec<String> {
    let sentinels: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "redis-sentinel-{i}.redis-sentinel-headless.{NAMESPACE}.svc.cluster.local:26379"
            )
        })
        .collect();
    let expected = [
        (
            "REDIS_SENTINEL_ADDRS",
            Some(serde_json::json!({"name": "REDIS_SENTINEL_ADDRS", "value": sentinels.join(",")})),
        ),
        (
            "REDIS_MASTER_NAME",
            Some(serde_json::json!({"name": "REDIS_MASTER_NAME", "value": "welcomebot-master"})),
        ),
        (
            "REDIS_PASSWORD",
            Some(serde_json::json!({"name": "REDIS_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}}})),
        ),
        ("REDIS_ADDR", None),
    ];
    expected
        .into_iter()
        .filter(|(name, want)| env_entry(container, name) != want.as_ref())
        .map(|(name, want)| {
            format!(
                "{what}: {name} is {}, want {}",
                env_entry(container, name).map_or("absent".into(), Value::to_string),
                want.map_or("absent".into(), |w| w.to_string())
            )
        })
        .collect()
}

pub(super) fn pod_labels(workload: &Value) -> Labels {
    serde_json::from_value(workload["spec"]["template"]["metadata"]["labels"].clone())
        .unwrap_or_else(|e| panic!("pod labels of {workload}: {e}"))
}

/// The policies in `objects` as a cluster in the profile's namespace.
pub(super) fn cluster(objects: &[Value]) -> Cluster {
    let policies: Vec<NetworkPolicy> = objects
        .iter()
        .filter(|o| o["kind"] == "NetworkPolicy")
        .map(|o| serde_json::from_value(o.clone()).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert!(!policies.is_empty(), "the shipped profile renders policies");
    Cluster {
        policies,
        namespace: labels(&[("kubernetes.io/metadata.name", NAMESPACE)]),
    }
}

/// The pod labels of the Redis master and of the Sentinels in the rendered deployment.
fn targets(deployment: &[Value]) -> [(Labels, u16, &'static str); 2] {
    let of = |name: &str| {
        pod_labels(
            find(deployment, "StatefulSet", name)
                .unwrap_or_else(|| panic!("no StatefulSet {name}")),
        )
    };
    [
        (of("redis-master"), 6379, "redis-master:6379"),
        (of("redis-sentinel"), 26379, "redis-sentinel:26379"),
    ]
}

/// Each bot (its built pod labels) must reach Redis and Sentinel through `policies`; the old
/// Redis's pod, a pod of the namespace that is no client, must not. The bots not admitted.
pub(super) fn admission_problems(
    what: &str,
    built: &[Value],
    policies: &Cluster,
    deployment: &[Value],
) -> Vec<String> {
    let as_peer = |name: &'static str, workload: &Value| Peer {
        what: name,
        namespace: policies.namespace.clone(),
        pod: pod_labels(workload),
    };
    let mut problems = Vec::new();
    for (to, port, target) in targets(deployment) {
        for (name, _) in BOTS {
            let peer = as_peer(name, bot(built, name, what));
            if !policies.admits(&peer, &to, port) {
                problems.push(format!(
                    "{what}: {name} (pod labels {:?}) is not admitted to {target}",
                    peer.pod
                ));
            }
        }
        let old = find(built, "Deployment", "redis").map(|old| as_peer("old redis", old));
        if let Some(old) = old {
            assert!(
                !policies.admits(&old, &to, port),
                "{what}: {target} admits a pod that is no client"
            );
        }
    }
    problems
}

/// Write `objects` (CRDs left out) as a YAML stream kubernetes-validate reads.
pub(super) fn write_stream(path: &Path, objects: &[Value]) {
    let stream: Vec<String> = objects
        .iter()
        .filter(|o| !CRD_KINDS.iter().any(|kind| o["kind"] == *kind))
        .map(|o| format!("---\n{o}\n"))
        .collect();
    std::fs::write(path, stream.concat()).unwrap_or_else(|e| panic!("{e}"));
}
