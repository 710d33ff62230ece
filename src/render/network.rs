//! NetworkPolicies: who may talk to the Redis, Sentinel and backup pods, and to whom they may
//! talk. Ingress and egress are both denied unless a rule below admits them.
//!
//! Who connects where (read from the templates, not guessed):
//! - 6379 (Redis): replicas replicate from the master, start scripts ask other Redis pods
//!   `INFO replication`, Sentinels monitor and reconfigure every Redis pod, the backup job
//!   dumps a replica, clients read and write.
//! - 26379 (Sentinel): Sentinels talk to each other; Redis start scripts ask the Sentinels
//!   who the master is and the master's preStop hook asks them for a failover; the backup
//!   job asks them which pods are replicas; clients discover the master.
//! - 9121 (metrics): only Prometheus, from the monitoring namespace. The exporter reaches its
//!   own Redis over localhost, which no NetworkPolicy filters.
//! - DNS: every pod resolves the pod DNS names of the others. Port 53 is allowed to any
//!   destination: the cluster DNS may be a Service, a node-local cache on a link-local address
//!   or a host-network pod, none of which a pod or namespace selector can name.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::profile::defaults::{METRICS_PORT, REDIS_PORT, SENTINEL_PORT};
use crate::render::meta::{self, Role};
use crate::resolve::{self, Deployment};

/// Label every namespace carries with its own name (Kubernetes ≥ 1.22).
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
const DNS_PORT: u16 = 53;

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".to_string()),
        ..Default::default()
    }
}

fn pods(selector: LabelSelector) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(selector),
        ..Default::default()
    }
}

fn role_pods(dep: &Deployment, role: Role) -> NetworkPolicyPeer {
    pods(meta::role_selector(dep, role))
}

/// The client pods: those carrying the label the client patches add (when the profile lists
/// clients), and those carrying `clientPodLabels` (when set) — pods the tool does not patch,
/// whose labels it cannot check.
fn client_pods(dep: &Deployment, policy: &resolve::NetworkPolicy) -> Vec<NetworkPolicyPeer> {
    let mut peers = Vec::new();
    if !dep.clients.is_empty() {
        let (key, value) = meta::client_label(dep);
        peers.push(pods(LabelSelector {
            match_labels: Some(BTreeMap::from([(key, value)])),
            ..Default::default()
        }));
    }
    if !policy.client_pod_labels.is_empty() {
        peers.push(pods(LabelSelector {
            match_labels: Some(policy.client_pod_labels.clone()),
            ..Default::default()
        }));
    }
    peers
}

/// Pods that may connect to `port` of this deployment: the roles named, the backup job when
/// there is one, and the client pods.
fn from(
    dep: &Deployment,
    policy: &resolve::NetworkPolicy,
    port: u16,
    roles: &[Role],
) -> NetworkPolicyIngressRule {
    let mut peers: Vec<NetworkPolicyPeer> = roles.iter().map(|r| role_pods(dep, *r)).collect();
    if dep.backup.is_some() {
        peers.push(role_pods(dep, Role::Backup));
    }
    peers.extend(client_pods(dep, policy));
    NetworkPolicyIngressRule {
        from: Some(peers),
        ports: Some(vec![tcp(port)]),
    }
}

/// Prometheus, from the monitoring namespace, to the exporter port (with monitoring on).
fn metrics_ingress(
    dep: &Deployment,
    policy: &resolve::NetworkPolicy,
) -> Option<NetworkPolicyIngressRule> {
    dep.monitoring.as_ref()?;
    Some(NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    NAMESPACE_NAME_LABEL.to_string(),
                    policy.monitoring_namespace.clone(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ports: Some(vec![tcp(METRICS_PORT)]),
    })
}

/// Egress of every pod of this deployment: Redis pods on 6379, Sentinels on 26379, DNS.
fn egress(dep: &Deployment) -> Vec<NetworkPolicyEgressRule> {
    vec![
        NetworkPolicyEgressRule {
            to: Some(vec![role_pods(dep, Role::Redis)]),
            ports: Some(vec![tcp(REDIS_PORT)]),
        },
        NetworkPolicyEgressRule {
            to: Some(vec![role_pods(dep, Role::Sentinel)]),
            ports: Some(vec![tcp(SENTINEL_PORT)]),
        },
        NetworkPolicyEgressRule {
            to: None,
            ports: Some(vec![
                NetworkPolicyPort {
                    port: Some(IntOrString::Int(i32::from(DNS_PORT))),
                    protocol: Some("UDP".to_string()),
                    ..Default::default()
                },
                tcp(DNS_PORT),
            ]),
        },
    ]
}

fn policy(
    dep: &Deployment,
    role: Role,
    name: &str,
    ingress: Vec<NetworkPolicyIngressRule>,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta::object_meta(dep, role, name),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(meta::role_selector(dep, role)),
            policy_types: Some(vec!["Ingress".to_string(), "Egress".to_string()]),
            ingress: Some(ingress),
            egress: Some(egress(dep)),
        }),
    }
}

/// The NetworkPolicies of the Redis pods, the Sentinel pods and (with backups on) the backup
/// pods; empty when the profile asks for none.
pub fn network_policies(dep: &Deployment) -> Vec<NetworkPolicy> {
    let Some(np) = &dep.network_policy else {
        return Vec::new();
    };
    let mut policies = vec![
        policy(
            dep,
            Role::Redis,
            &dep.names.redis_policy,
            std::iter::once(from(dep, np, REDIS_PORT, &[Role::Redis, Role::Sentinel]))
                .chain(metrics_ingress(dep, np))
                .collect(),
        ),
        policy(
            dep,
            Role::Sentinel,
            &dep.names.sentinel_policy,
            std::iter::once(from(dep, np, SENTINEL_PORT, &[Role::Sentinel, Role::Redis]))
                .chain(metrics_ingress(dep, np))
                .collect(),
        ),
    ];
    if dep.backup.is_some() {
        // Nothing connects to the backup job; it only dials out.
        policies.push(policy(
            dep,
            Role::Backup,
            &dep.names.backup_policy,
            Vec::new(),
        ));
    }
    policies
}
