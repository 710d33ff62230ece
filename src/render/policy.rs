//! PodDisruptionBudgets: voluntary disruptions (node drains, cluster upgrades) take at most one
//! pod of a role at a time. One Sentinel down keeps the quorum of three or more; one Redis pod
//! down leaves the master or a failover candidate.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::render::meta::{self, Role};
use crate::resolve::Deployment;

fn budget(dep: &Deployment, role: Role, name: &str) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: meta::object_meta(dep, role, name),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(meta::role_selector(dep, role)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Budget of every Redis pod of the instance (master and replicas alike: roles move).
pub fn redis_budget(dep: &Deployment) -> PodDisruptionBudget {
    budget(dep, Role::Redis, &dep.names.redis_pdb)
}

/// Budget of the Sentinel pods.
pub fn sentinel_budget(dep: &Deployment) -> PodDisruptionBudget {
    budget(dep, Role::Sentinel, &dep.names.sentinel_pdb)
}
