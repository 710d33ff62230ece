//! Services: one headless Service per role, giving every pod its stable DNS name, and the
//! ClusterIP Service clients use to reach the Sentinels.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::profile::defaults::{REDIS_PORT, SENTINEL_PORT};
use crate::render::meta::{self, Role};
use crate::resolve::Deployment;

fn port(name: &str, number: u16) -> ServicePort {
    ServicePort {
        name: Some(name.to_string()),
        port: i32::from(number),
        target_port: Some(IntOrString::String(name.to_string())),
        protocol: Some("TCP".to_string()),
        ..Default::default()
    }
}

/// A headless Service governing a StatefulSet. `publishNotReadyAddresses` publishes a pod's DNS
/// record before it is ready: a booting Redis must be resolvable by the Sentinels that tell it
/// its role, and a Sentinel by its peers, or the first boot deadlocks on its own readiness.
fn headless(dep: &Deployment, role: Role, name: &str, port_name: &str, number: u16) -> Service {
    Service {
        metadata: meta::object_meta(dep, role, name),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(meta::role_selector_labels(dep, role)),
            ports: Some(vec![port(port_name, number)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Headless Service of every Redis pod, master and replicas.
pub fn redis_headless(dep: &Deployment) -> Service {
    headless(
        dep,
        Role::Redis,
        &dep.names.redis_headless,
        "redis",
        REDIS_PORT,
    )
}

/// Headless Service of the Sentinel pods.
pub fn sentinel_headless(dep: &Deployment) -> Service {
    headless(
        dep,
        Role::Sentinel,
        &dep.names.sentinel_headless,
        "sentinel",
        SENTINEL_PORT,
    )
}

/// The Service clients connect to for Sentinel discovery (`REDIS_SENTINEL_ADDRS`). Only ready
/// Sentinels are behind it.
pub fn sentinel_client(dep: &Deployment) -> Service {
    Service {
        metadata: meta::object_meta(dep, Role::Sentinel, &dep.names.sentinel),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(meta::role_selector_labels(dep, Role::Sentinel)),
            ports: Some(vec![port("sentinel", SENTINEL_PORT)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}
