//! A small evaluator of the NetworkPolicy semantics the renderer uses (matchLabels pod and
//! namespace selectors, numbered ports): a peer reaches a pod's port when some policy that
//! selects the pod has an ingress rule naming that port and matching the peer.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub type Labels = BTreeMap<String, String>;

/// A pod somewhere in the cluster: its namespace's labels and its own.
#[derive(Clone, Debug)]
pub struct Peer {
    pub what: &'static str,
    pub namespace: Labels,
    pub pod: Labels,
}

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn matches(selector: &LabelSelector, labels: &Labels) -> bool {
    assert!(
        selector.match_expressions.is_none(),
        "the renderer uses matchLabels only"
    );
    selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v))
}

fn peer_matches(peer: &NetworkPolicyPeer, from: &Peer, policy_namespace: &Labels) -> bool {
    assert!(peer.ip_block.is_none(), "no ipBlock peers are rendered");
    let namespace_ok = match &peer.namespace_selector {
        Some(selector) => matches(selector, &from.namespace),
        // No namespaceSelector: the policy's own namespace only.
        None => from.namespace == *policy_namespace,
    };
    let pod_ok = peer
        .pod_selector
        .as_ref()
        .is_none_or(|selector| matches(selector, &from.pod));
    namespace_ok && pod_ok
}

fn port_matches(ports: Option<&Vec<NetworkPolicyPort>>, port: u16, protocol: &str) -> bool {
    ports.is_none_or(|ports| {
        ports.iter().any(|p| {
            p.protocol.as_deref().unwrap_or("TCP") == protocol
                && p.port
                    .as_ref()
                    .is_none_or(|n| *n == IntOrString::Int(i32::from(port)))
        })
    })
}

pub struct Cluster {
    pub policies: Vec<NetworkPolicy>,
    /// Labels of the namespace the policies are in.
    pub namespace: Labels,
}

impl Cluster {
    pub fn selecting<'a>(&'a self, pod: &'a Labels) -> impl Iterator<Item = &'a NetworkPolicy> {
        self.policies.iter().filter(|p| {
            matches(
                p.spec
                    .as_ref()
                    .and_then(|s| s.pod_selector.as_ref())
                    .expect("podSelector"),
                pod,
            )
        })
    }

    /// Whether `from` may open a TCP connection to `port` of the pod labelled `to`.
    pub fn admits(&self, from: &Peer, to: &Labels, port: u16) -> bool {
        let policies: Vec<_> = self.selecting(to).collect();
        assert!(!policies.is_empty(), "no policy selects {to:?}");
        policies.iter().any(|p| {
            let spec = p.spec.as_ref().expect("spec");
            assert!(
                spec.policy_types
                    .as_ref()
                    .is_some_and(|t| t.iter().any(|t| t == "Ingress"))
            );
            spec.ingress.iter().flatten().any(|rule| {
                port_matches(rule.ports.as_ref(), port, "TCP")
                    && rule.from.as_ref().is_some_and(|peers| {
                        peers
                            .iter()
                            .any(|peer| peer_matches(peer, from, &self.namespace))
                    })
            })
        })
    }

    /// Whether the pod `from` may connect out to `to` on `port`/`protocol`.
    pub fn allows_egress(&self, from: &Labels, to: &Peer, port: u16, protocol: &str) -> bool {
        let policies: Vec<_> = self.selecting(from).collect();
        assert!(!policies.is_empty(), "no policy selects {from:?}");
        policies.iter().any(|p| {
            let spec = p.spec.as_ref().expect("spec");
            assert!(
                spec.policy_types
                    .as_ref()
                    .is_some_and(|t| t.iter().any(|t| t == "Egress"))
            );
            spec.egress.iter().flatten().any(|rule| {
                port_matches(rule.ports.as_ref(), port, protocol)
                    && rule.to.as_ref().is_none_or(|peers| {
                        peers
                            .iter()
                            .any(|peer| peer_matches(peer, to, &self.namespace))
                    })
            })
        })
    }
}
