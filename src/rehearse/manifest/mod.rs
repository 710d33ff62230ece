//! The rendered YAML stream as the emulated cluster reads it: ConfigMaps by name, and every
//! StatefulSet expanded into one [`PodPlan`] per pod, whose containers resolve to a
//! [`Process`] (argv, env, user, mounts) the way the kubelet would resolve them (in
//! `process`).
//!
//! Anything the emulation cannot reproduce faithfully is an error, never silently dropped:
//! a harness that quietly ignores part of a manifest proves nothing about it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, Service};

mod process;

pub use process::{Mount, Process, Source};

/// Secret values by (Secret name, key): the emulated cluster's Secrets.
pub type Secrets = BTreeMap<(String, String), String>;

/// What the Redis image contributes besides its binaries (which the host's Debian packages
/// replace): its `PATH`, its `WORKDIR` and its `/data` directory owned by the `redis` user
/// (uid 999, gid 1000 in the alpine image). The image sets no `USER`, so a container without
/// `runAsUser` runs as root.
const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const IMAGE_WORKDIR: &str = "/data";
pub const IMAGE_DATA_OWNER: (u32, u32) = (999, 1000);

/// Kubernetes' default when a pod spec names no grace period.
const DEFAULT_GRACE_SECONDS: i64 = 30;

/// The objects of a rendered stream that the emulation runs.
pub struct Manifests {
    config_maps: BTreeMap<String, ConfigMap>,
    stateful_sets: Vec<StatefulSet>,
    services: Vec<ServiceName>,
}

/// A Service as cluster DNS sees it: its names answer with the addresses of the pods its
/// selector matches (a headless Service's records; for a ClusterIP Service the emulation has
/// no virtual IP, so its name answers with the pods' addresses too).
#[derive(Debug, Clone)]
pub struct ServiceName {
    pub name: String,
    pub namespace: String,
    pub selector: BTreeMap<String, String>,
}

/// One pod of a StatefulSet, with its place in the emulated network.
#[derive(Clone)]
pub struct PodPlan {
    /// `<statefulset>-<ordinal>`, also the pod's hostname.
    pub name: String,
    pub stateful_set: String,
    pub namespace: String,
    /// `<pod>.<serviceName>.<namespace>.svc.<cluster domain>`.
    pub fqdn: String,
    /// The names Kubernetes DNS would also answer for this pod through the search path.
    pub short_names: Vec<String>,
    pub ip: Ipv4Addr,
    pub spec: PodSpec,
    /// The pod template's labels: what Service selectors match.
    pub labels: BTreeMap<String, String>,
    /// Names of the StatefulSet's volumeClaimTemplates: volumes backed by a per-pod PVC.
    pub claims: Vec<String>,
    /// The pod template this pod was made from, as JSON: two pods of a StatefulSet differ
    /// in it exactly when the controller's revision hash differs, which is what a rolling
    /// update replaces.
    pub revision: String,
}

impl Manifests {
    /// Read a rendered `redis-sentinel.yaml` stream. Objects other than ConfigMaps and
    /// StatefulSets are parsed by their own tests; they play no part in running pods.
    pub fn parse(rendered: &str) -> Result<Self> {
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(rendered).context("rendered output is not YAML")?;
        let mut config_maps = BTreeMap::new();
        let mut stateful_sets = Vec::new();
        let mut services = Vec::new();
        for doc in docs {
            match doc.get("kind").and_then(|k| k.as_str()) {
                Some("ConfigMap") => {
                    let cm: ConfigMap =
                        serde_json::from_value(doc).context("a rendered ConfigMap")?;
                    let name = cm.metadata.name.clone().context("ConfigMap without name")?;
                    config_maps.insert(name, cm);
                }
                Some("StatefulSet") => {
                    stateful_sets
                        .push(serde_json::from_value(doc).context("a rendered StatefulSet")?);
                }
                Some("Service") => {
                    let svc: Service = serde_json::from_value(doc).context("a rendered Service")?;
                    let selector = svc.spec.and_then(|s| s.selector).unwrap_or_default();
                    // A Service without a selector has no pods behind it to answer with.
                    if !selector.is_empty() {
                        services.push(ServiceName {
                            name: svc.metadata.name.context("Service without name")?,
                            namespace: svc.metadata.namespace.unwrap_or_else(|| "default".into()),
                            selector,
                        });
                    }
                }
                _ => {}
            }
        }
        if stateful_sets.is_empty() {
            bail!("the rendered stream holds no StatefulSet");
        }
        Ok(Manifests {
            config_maps,
            stateful_sets,
            services,
        })
    }

    /// The Services whose names cluster DNS answers.
    pub fn services(&self) -> &[ServiceName] {
        &self.services
    }

    /// Every pod of every StatefulSet, in stream order then ordinal order, with consecutive
    /// addresses from `first_ip`.
    pub fn pods(&self, first_ip: Ipv4Addr, cluster_domain: &str) -> Result<Vec<PodPlan>> {
        let mut pods = Vec::new();
        for sts in &self.stateful_sets {
            let sts_name = sts
                .metadata
                .name
                .clone()
                .context("StatefulSet without name")?;
            let namespace = sts
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into());
            let spec = sts
                .spec
                .as_ref()
                .with_context(|| format!("{sts_name}: no spec"))?;
            let service = spec.service_name.clone().with_context(|| {
                format!("{sts_name}: no serviceName, so its pods have no DNS names")
            })?;
            let pod_spec = spec
                .template
                .spec
                .clone()
                .with_context(|| format!("{sts_name}: no pod template spec"))?;
            let labels = spec
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default();
            let revision = serde_json::to_string(&spec.template)
                .with_context(|| format!("{sts_name}: pod template"))?;
            let claims = spec
                .volume_claim_templates
                .iter()
                .flatten()
                .map(|pvc| {
                    pvc.metadata
                        .name
                        .clone()
                        .context("unnamed volumeClaimTemplate")
                })
                .collect::<Result<Vec<_>>>()?;
            for ordinal in 0..spec.replicas.unwrap_or(1) {
                let name = format!("{sts_name}-{ordinal}");
                let offset = u32::try_from(pods.len()).context("too many pods")?;
                let ip = Ipv4Addr::from(u32::from(first_ip) + offset);
                pods.push(PodPlan {
                    fqdn: format!("{name}.{service}.{namespace}.svc.{cluster_domain}"),
                    short_names: vec![
                        format!("{name}.{service}.{namespace}.svc"),
                        format!("{name}.{service}.{namespace}"),
                        format!("{name}.{service}"),
                    ],
                    name,
                    stateful_set: sts_name.clone(),
                    namespace: namespace.clone(),
                    ip,
                    spec: pod_spec.clone(),
                    labels: labels.clone(),
                    claims: claims.clone(),
                    revision: revision.clone(),
                });
            }
        }
        Ok(pods)
    }
}

impl PodPlan {
    /// `terminationGracePeriodSeconds`: how long a stop waits after SIGTERM.
    pub fn grace(&self) -> Duration {
        let secs = self
            .spec
            .termination_grace_period_seconds
            .unwrap_or(DEFAULT_GRACE_SECONDS);
        Duration::from_secs(u64::try_from(secs).unwrap_or(0))
    }

    /// The ports the pod's containers declare.
    pub fn ports(&self) -> Vec<u16> {
        self.spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| u16::try_from(p.container_port).ok())
            .collect()
    }

    /// Init containers (run to completion, in order) and the one main container of the Redis
    /// image, which the local binaries replace. Sidecars of other images (a metrics
    /// exporter) only observe Redis; they are not run, and [`PodPlan::sidecars`] names them
    /// so the report can say so. An init container of another image would change what Redis
    /// starts with, so it is an error.
    pub fn containers(&self) -> Result<(Vec<&Container>, &Container)> {
        let init: Vec<&Container> = self.spec.init_containers.iter().flatten().collect();
        for c in &init {
            let image = c.image.as_deref().unwrap_or("");
            if !is_redis_image(image) {
                bail!(
                    "{}: init container {} uses image {image:?}, which the emulation cannot replace",
                    self.name,
                    c.name
                );
            }
        }
        let main: Vec<&Container> = self
            .spec
            .containers
            .iter()
            .filter(|c| is_redis_image(c.image.as_deref().unwrap_or("")))
            .collect();
        let [main] = main.as_slice() else {
            bail!(
                "{}: {} containers use the Redis image; exactly one is emulated",
                self.name,
                main.len()
            );
        };
        Ok((init, main))
    }

    /// `container (image)` of every main container that is not run (not the Redis image).
    pub fn sidecars(&self) -> Vec<String> {
        self.spec
            .containers
            .iter()
            .filter(|c| !is_redis_image(c.image.as_deref().unwrap_or("")))
            .map(|c| format!("{} ({})", c.name, c.image.as_deref().unwrap_or("")))
            .collect()
    }
}

/// `redis:7.2.5-alpine`, `docker.io/library/redis@sha256:…`: the repository is `redis`.
fn is_redis_image(image: &str) -> bool {
    let without_digest = image.split('@').next().unwrap_or("");
    let last = without_digest.rsplit('/').next().unwrap_or("");
    last.split(':').next() == Some("redis")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_redis_repository_counts_as_the_redis_image() {
        assert!(is_redis_image("redis:7.2.5-alpine"));
        assert!(is_redis_image("docker.io/library/redis@sha256:0123"));
        assert!(!is_redis_image("oliver006/redis_exporter:v1.62.0"));
        assert!(!is_redis_image("busybox"));
    }

    #[test]
    fn services_select_pods_by_their_template_labels() {
        let stream = "\
apiVersion: v1
kind: Service
metadata: {name: db, namespace: ns}
spec: {clusterIP: None, selector: {app: redis}}
---
apiVersion: v1
kind: Service
metadata: {name: external, namespace: ns}
spec: {type: ExternalName, externalName: example.org}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: redis, namespace: ns}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: redis}}
  template:
    metadata: {labels: {app: redis, tier: data}}
    spec: {containers: [{name: redis, image: 'redis:7.2.5'}]}
";
        let manifests = Manifests::parse(stream).unwrap();
        let services = manifests.services();
        assert_eq!(services.len(), 1, "a Service without selector has no pods");
        assert_eq!(services[0].name, "db");
        let pods = manifests
            .pods(Ipv4Addr::new(127, 0, 2, 1), "cluster.local")
            .unwrap();
        assert_eq!(pods.len(), 2);
        assert_eq!(pods[1].fqdn, "redis-1.db.ns.svc.cluster.local");
        assert_eq!(pods[1].ip, Ipv4Addr::new(127, 0, 2, 2));
        assert!(
            services[0]
                .selector
                .iter()
                .all(|(k, v)| pods[1].labels.get(k) == Some(v))
        );
    }
}
