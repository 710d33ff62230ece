//! `init --from-base DIR`: what a starter profile can learn from the user's existing kustomize
//! base, built with the real `kubectl kustomize`: the old single Redis (a Service in the base
//! that the clients reach through `REDIS_ADDR` or `REDIS_URL`), the workload behind it, the
//! client containers, and the namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PodTemplateSpec, Service};
use serde_json::Value;

/// The env variables through which the clients of a single Redis find it today.
const ADDR_VARS: [&str; 2] = ["REDIS_ADDR", "REDIS_URL"];

/// `(kind, name, container)` of a client container.
pub type ClientRef = (String, String, String);

/// What the base says about the migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    pub namespace: Option<String>,
    /// The old Redis Service and the port the clients use.
    pub from_host: String,
    pub from_port: u16,
    /// `(kind, name)` of the objects of the old Redis: its workloads and its Service.
    pub remove: Vec<(String, String)>,
    /// `(kind, name, container)` of every client container.
    pub clients: Vec<ClientRef>,
}

/// A workload of the base that runs pods.
struct Workload {
    kind: &'static str,
    name: String,
    template: PodTemplateSpec,
}

/// Build `dir` with `kubectl kustomize` and learn from its objects.
pub fn learn(dir: &Path) -> Result<Learned> {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .context("cannot run `kubectl kustomize` (is kubectl installed and on PATH?)")?;
    if !output.status.success() {
        bail!(
            "`kubectl kustomize {}` failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    let built = String::from_utf8(output.stdout).context("kubectl kustomize printed non-UTF-8")?;
    learn_from_objects(&built).with_context(|| format!("in the base {}", dir.display()))
}

/// Learn from `built`, a stream of Kubernetes objects.
pub fn learn_from_objects(built: &str) -> Result<Learned> {
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(built).context("the built base is not a YAML stream")?;
    let mut services: Vec<Service> = Vec::new();
    let mut workloads: Vec<Workload> = Vec::new();
    for doc in documents.into_iter().filter(|d| !d.is_null()) {
        let kind = doc
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let object = |what: &str| format!("a {what} in the base does not parse");
        match kind.as_str() {
            "Service" => {
                services.push(serde_json::from_value(doc).with_context(|| object("Service"))?)
            }
            "Deployment" => {
                let d: Deployment =
                    serde_json::from_value(doc).with_context(|| object("Deployment"))?;
                if let Some(template) = d.spec.map(|s| s.template) {
                    workloads.push(Workload {
                        kind: "Deployment",
                        name: d.metadata.name.unwrap_or_default(),
                        template,
                    });
                }
            }
            "StatefulSet" => {
                let s: StatefulSet =
                    serde_json::from_value(doc).with_context(|| object("StatefulSet"))?;
                if let Some(template) = s.spec.map(|s| s.template) {
                    workloads.push(Workload {
                        kind: "StatefulSet",
                        name: s.metadata.name.unwrap_or_default(),
                        template,
                    });
                }
            }
            _ => {}
        }
    }

    // Every container that names a Service of the base in REDIS_ADDR / REDIS_URL.
    let service_names: BTreeSet<String> = services
        .iter()
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    let mut uses: BTreeMap<(String, u16), Vec<ClientRef>> = BTreeMap::new();
    for workload in &workloads {
        let containers = workload.template.spec.iter().flat_map(|s| &s.containers);
        for container in containers {
            for var in container.env.iter().flatten() {
                if !ADDR_VARS.contains(&var.name.as_str()) {
                    continue;
                }
                let Some((host, port)) = var.value.as_deref().and_then(host_and_port) else {
                    continue;
                };
                let service = host.split('.').next().unwrap_or(&host).to_string();
                if service_names.contains(&service) {
                    let client = (
                        workload.kind.to_string(),
                        workload.name.clone(),
                        container.name.clone(),
                    );
                    let users = uses.entry((service, port)).or_default();
                    if !users.contains(&client) {
                        users.push(client);
                    }
                }
            }
        }
    }
    let ((from_host, from_port), clients) = match uses.len() {
        1 => uses.pop_first().context("one entry")?,
        0 => bail!(
            "no container of the base sets {} to a Service of the base; name the old Redis in \
             spec.migration.from by hand",
            ADDR_VARS.join(" or ")
        ),
        _ => {
            let found: Vec<String> = uses.keys().map(|(h, p)| format!("{h}:{p}")).collect();
            bail!(
                "the clients use more than one Redis of the base ({}); a profile migrates one: \
                 run init without --from-base and fill in spec.migration by hand",
                found.join(", ")
            )
        }
    };

    let service = services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(from_host.as_str()))
        .context("the Service vanished")?;
    let selector: BTreeMap<String, String> = service
        .spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default();
    let mut remove: Vec<(String, String)> = Vec::new();
    if !selector.is_empty() {
        for workload in &workloads {
            let labels = workload
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.as_ref());
            let selected =
                labels.is_some_and(|labels| selector.iter().all(|(k, v)| labels.get(k) == Some(v)));
            if selected {
                remove.push((workload.kind.to_string(), workload.name.clone()));
            }
        }
    }
    remove.push(("Service".to_string(), from_host.clone()));

    Ok(Learned {
        namespace: service.metadata.namespace.clone(),
        from_host,
        from_port,
        remove,
        clients,
    })
}

/// `host:port` or `redis://[user:password@]host[:port][/db]` (also `rediss://`): the host and
/// the port (6379 when the URL names none).
fn host_and_port(value: &str) -> Option<(String, u16)> {
    let (rest, url) = match value.split_once("://") {
        Some((scheme, rest)) if scheme == "redis" || scheme == "rediss" => (rest, true),
        Some(_) => return None,
        None => (value, false),
    };
    let authority = rest.split('/').next()?;
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None if url => (authority, 6379),
        None => return None,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_urls_give_host_and_port() {
        let cases = [
            ("redis-service:6379", Some(("redis-service", 6379))),
            (
                "cache.shop.svc.cluster.local:6380",
                Some(("cache.shop.svc.cluster.local", 6380)),
            ),
            ("redis://cache:6380/0", Some(("cache", 6380))),
            ("redis://:s3cret@cache/2", Some(("cache", 6379))),
            ("rediss://user:p@ss@cache:7000", Some(("cache", 7000))),
            ("http://cache:80", None),
            ("cache", None),
        ];
        for (value, expected) in cases {
            let got = host_and_port(value);
            assert_eq!(
                got.as_ref().map(|(h, p)| (h.as_str(), *p)),
                expected,
                "{value}"
            );
        }
    }
}
