//! Resources: volume sizes, CPU and memory requests within their limits, and a maxmemory
//! that fits the memory limit.

use super::Check;
use crate::memory;
use crate::profile::defaults::ContainerResources;
use crate::profile::spec::{ResourceAmounts, Resources};
use crate::quantity::{self, Quantity};
use crate::resolve;

/// The smallest volume accepted: anything below holds no Redis data set (an empty RDB file
/// and an AOF manifest alone take kilobytes), and `1m` — a thousandth of a byte — is a typo
/// for `1Mi`.
const MIN_STORAGE: &str = "1Mi";
const MIN_STORAGE_BYTES: i64 = 1024 * 1024;

const QUANTITY_EXAMPLES: &str =
    "a Kubernetes quantity such as 5Gi, 5G or 5000M (units Ki Mi Gi Ti Pi Ei, k M G T P E, m)";

impl Check<'_> {
    /// A PVC size: a Kubernetes quantity of whole bytes, at least [`MIN_STORAGE`].
    pub(super) fn storage_size(&mut self, path: &str, size: Option<&str>) {
        let Some(size) = size else { return };
        let problem = match Quantity::parse(size) {
            Ok(q) if q.is_whole() && q >= Quantity::units(MIN_STORAGE_BYTES) => return,
            Ok(q) if !q.is_whole() => "storage size is not a whole number of bytes".to_string(),
            Ok(_) => format!("storage size below {MIN_STORAGE}"),
            Err(e) => format!("storage size is not a Kubernetes quantity: {e}"),
        };
        self.error(path, problem, |f| {
            f.found(size).valid(format!(
                "{QUANTITY_EXAMPLES}; whole bytes, at least {MIN_STORAGE}"
            ))
        });
    }

    /// Every written amount is a quantity, and no request exceeds its limit (defaults
    /// included: a limit written below a default request is as wrong).
    pub(super) fn resources(
        &mut self,
        path: &str,
        written: Option<&Resources>,
        effective: fn(&resolve::Deployment) -> ContainerResources,
    ) {
        let none = ResourceAmounts::default();
        let requests = written.and_then(|r| r.requests.as_ref()).unwrap_or(&none);
        let limits = written.and_then(|r| r.limits.as_ref()).unwrap_or(&none);
        for (group, amounts) in [("request", requests), ("limit", limits)] {
            for (resource, value) in [("cpu", &amounts.cpu), ("memory", &amounts.memory)] {
                let Some(value) = value else { continue };
                let field = format!("{path}.{group}s.{resource}");
                let problem = match Quantity::parse(value) {
                    Ok(q) if q.is_negative() => Some("must not be negative".to_string()),
                    Ok(q) if resource == "memory" && !q.is_whole() => {
                        Some("is not a whole number of bytes".to_string())
                    }
                    Ok(_) => None,
                    Err(e) => Some(format!("is not a Kubernetes quantity: {e}")),
                };
                if let Some(problem) = problem {
                    let example = if resource == "cpu" {
                        "500m, 1 or 2"
                    } else {
                        "256Mi, 1Gi or 512M"
                    };
                    self.error(&field, format!("{resource} {group} {problem}"), |f| {
                        f.found(value)
                            .valid(format!("a Kubernetes quantity such as {example}"))
                    });
                }
            }
        }
        // An amount that does not parse was reported above and is skipped here.
        let dep = self.dep;
        let effective = effective(dep);
        for (resource, request, limit, limit_written) in [
            (
                "cpu",
                &effective.requests_cpu,
                &effective.limits_cpu,
                limits.cpu.is_some(),
            ),
            (
                "memory",
                &effective.requests_memory,
                &effective.limits_memory,
                limits.memory.is_some(),
            ),
        ] {
            let (Ok(request_q), Ok(limit_q)) = (Quantity::parse(request), Quantity::parse(limit))
            else {
                continue;
            };
            if request_q > limit_q {
                let group = if limit_written { "limits" } else { "requests" };
                self.error(
                    &format!("{path}.{group}.{resource}"),
                    format!("{resource} request {request} is above its limit {limit}"),
                    |f| {
                        f.found(if limit_written { limit } else { request }).valid(
                            "a request at most the limit: Kubernetes rejects the pod otherwise",
                        )
                    },
                );
            }
        }
    }

    /// `redis.maxmemory` fits the memory limit beside the replicas' output buffers and the
    /// process (`memory::budget`); above the default it leaves no room for a fork's
    /// copy-on-write, which is a warning, not an error (a mostly-read dataset copies little).
    pub(super) fn maxmemory(&mut self) {
        let redis = self.profile.spec.redis.as_ref();
        let dep = self.dep;
        let limit = &dep.redis.resources.limits_memory;
        if !Quantity::parse(limit).is_ok_and(|q| q > Quantity::units(0)) {
            return; // reported by the resources check
        }
        let budget = dep.redis.memory;
        let replicas = self.dep.redis.replicas;
        let shares = format!(
            "limit {limit} − {} for the process − {} × {} replica output buffers",
            memory::human(budget.reserve),
            replicas,
            memory::human(budget.replica_buffer_hard)
        );
        let Some(written) = redis.and_then(|r| r.maxmemory.as_deref()) else {
            if budget.maxmemory == 0 {
                self.error(
                    "spec.redis.resources.limits.memory",
                    format!("the memory limit {limit} leaves no room for a dataset"),
                    |f| {
                        f.found(limit).valid(format!(
                            "a larger limit: {shares} leaves {}",
                            memory::human(budget.ceiling)
                        ))
                    },
                );
            }
            return;
        };
        let path = "spec.redis.maxmemory";
        let bytes = match Quantity::parse(written) {
            Ok(q) if q >= Quantity::units(1) => quantity::bytes(written),
            Ok(_) => {
                self.error(
                    path,
                    "maxmemory must be positive (0 means no limit in Redis)",
                    |f| {
                        f.found(written).valid(format!(
                            "at most {}; or leave it out for the default {}",
                            memory::human(budget.ceiling),
                            memory::human(budget.maxmemory)
                        ))
                    },
                );
                return;
            }
            Err(e) => {
                self.error(
                    path,
                    format!("maxmemory is not a Kubernetes quantity: {e}"),
                    |f| f.found(written).valid(QUANTITY_EXAMPLES),
                );
                return;
            }
        };
        if bytes > budget.ceiling {
            self.error(
                path,
                format!("maxmemory {written} cannot fit the memory limit {limit}"),
                |f| {
                    f.found(written)
                        .valid(format!(
                            "at most {} ({shares}); the default {} also leaves room for a fork's copy-on-write",
                            memory::human(budget.ceiling),
                            memory::human(budget.maxmemory)
                        ))
                },
            );
        } else if bytes > budget.maxmemory {
            self.warning(
                path,
                format!(
                    "maxmemory {written} leaves less than the dataset's size for a fork's \
                     copy-on-write within the limit {limit}"
                ),
                |f| {
                    f.found(written).valid(format!(
                        "at most {} to be safe from OOMKills during saves and full syncs",
                        memory::human(budget.maxmemory)
                    ))
                },
            );
        }
    }
}
