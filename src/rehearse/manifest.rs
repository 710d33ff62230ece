//! The rendered YAML stream as the emulated cluster reads it: ConfigMaps by name, and every
//! StatefulSet expanded into one [`PodPlan`] per pod, whose containers resolve to a
//! [`Process`] (argv, env, user, mounts) the way the kubelet would resolve them.
//!
//! Anything the emulation cannot reproduce faithfully is an error, never silently dropped:
//! a harness that quietly ignores part of a manifest proves nothing about it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, Service};

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
/// Kubernetes' default file mode of ConfigMap volume files (0644).
const DEFAULT_CONFIGMAP_MODE: i32 = 0o644;

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

/// A container resolved against its pod: everything needed to exec it.
pub struct Process {
    pub container: String,
    pub argv: Vec<String>,
    /// In Kubernetes order: image env first, then the container's `env` list.
    pub env: Vec<(String, String)>,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub workdir: String,
    pub mounts: Vec<Mount>,
    pub read_only_root: bool,
}

/// A volume mounted at `path` inside the container.
pub struct Mount {
    pub path: String,
    pub read_only: bool,
    pub source: Source,
}

/// Where a mounted volume's content comes from.
pub enum Source {
    /// ConfigMap files as (relative path, content, mode); always mounted read-only.
    ConfigMap {
        volume: String,
        files: Vec<(String, String, u32)>,
    },
    /// A directory that lives as long as the pod runs.
    EmptyDir { volume: String },
    /// The pod's PVC from a volumeClaimTemplate: survives restarts of the same pod.
    Claim { claim: String },
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

    fn config_map_files(&self, volume: &k8s_openapi::api::core::v1::Volume) -> Result<Source> {
        let source = volume
            .config_map
            .as_ref()
            .context("not a ConfigMap volume")?;
        let cm = self
            .config_maps
            .get(&source.name)
            .with_context(|| format!("ConfigMap {} is not in the rendered stream", source.name))?;
        let data = cm.data.clone().unwrap_or_default();
        let default_mode = source.default_mode.unwrap_or(DEFAULT_CONFIGMAP_MODE);
        let files = match &source.items {
            None => data
                .into_iter()
                .map(|(key, content)| (key, content, mode(default_mode)))
                .collect(),
            Some(items) => items
                .iter()
                .map(|item| {
                    let content = data.get(&item.key).with_context(|| {
                        format!("ConfigMap {} has no key {}", source.name, item.key)
                    })?;
                    let m = mode(item.mode.unwrap_or(default_mode));
                    Ok((item.path.clone(), content.clone(), m))
                })
                .collect::<Result<_>>()?,
        };
        Ok(Source::ConfigMap {
            volume: volume.name.clone(),
            files,
        })
    }
}

fn mode(m: i32) -> u32 {
    u32::try_from(m).unwrap_or(0) & 0o7777
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

    /// Resolve `container` as the kubelet would: env, command and args, user, mounts.
    pub fn process(
        &self,
        container: &Container,
        manifests: &Manifests,
        secrets: &Secrets,
    ) -> Result<Process> {
        let what = format!("{} container {}", self.name, container.name);
        let env = self.env(container, secrets).context(what.clone())?;
        if container.command.is_none() {
            bail!("{what}: no command; the image's entrypoint is not emulated");
        }
        let argv = container
            .command
            .iter()
            .flatten()
            .chain(container.args.iter().flatten())
            .map(|a| expand(a, &env))
            .collect();
        let (uid, gid, groups) = self.user(container).context(what.clone())?;
        let mounts = self.mounts(container, manifests).context(what)?;
        let sc = container.security_context.as_ref();
        Ok(Process {
            container: container.name.clone(),
            argv,
            env,
            uid,
            gid,
            groups,
            workdir: container
                .working_dir
                .clone()
                .unwrap_or_else(|| IMAGE_WORKDIR.into()),
            mounts,
            read_only_root: sc
                .and_then(|s| s.read_only_root_filesystem)
                .unwrap_or(false),
        })
    }

    /// The image's env, then the container's `env` list in order: literal values with
    /// `$(VAR)` expansion against the variables before them, downward API, Secrets.
    fn env(&self, container: &Container, secrets: &Secrets) -> Result<Vec<(String, String)>> {
        if container.env_from.is_some() {
            bail!("envFrom is not emulated");
        }
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), IMAGE_PATH.into()),
            ("HOSTNAME".into(), self.name.clone()),
        ];
        for var in container.env.iter().flatten() {
            let value = match (&var.value, &var.value_from) {
                (_, Some(from)) => self
                    .env_source(from, secrets)
                    .with_context(|| format!("env {}", var.name))?,
                (Some(v), None) => expand(v, &env),
                (None, None) => String::new(),
            };
            env.retain(|(k, _)| k != &var.name);
            env.push((var.name.clone(), value));
        }
        Ok(env)
    }

    /// (uid, gid, supplementary groups) from the container's security context over the
    /// pod's; the image's default user is root.
    fn user(&self, container: &Container) -> Result<(u32, u32, Vec<u32>)> {
        let pod_sc = self.spec.security_context.as_ref();
        let sc = container.security_context.as_ref();
        let uid = sc
            .and_then(|s| s.run_as_user)
            .or(pod_sc.and_then(|s| s.run_as_user))
            .unwrap_or(0);
        let gid = sc
            .and_then(|s| s.run_as_group)
            .or(pod_sc.and_then(|s| s.run_as_group))
            .unwrap_or(0);
        let run_as_non_root = sc
            .and_then(|s| s.run_as_non_root)
            .or(pod_sc.and_then(|s| s.run_as_non_root));
        if run_as_non_root == Some(true) && uid == 0 {
            // The kubelet refuses to start such a container (CreateContainerConfigError).
            bail!("runAsNonRoot is set but the container would run as root");
        }
        let groups = pod_sc
            .and_then(|s| s.fs_group)
            .into_iter()
            .chain(
                pod_sc
                    .and_then(|s| s.supplemental_groups.clone())
                    .into_iter()
                    .flatten(),
            )
            .map(id)
            .collect::<Result<Vec<u32>>>()?;
        Ok((id(uid)?, id(gid)?, groups))
    }

    /// The container's volume mounts with where each volume's content comes from.
    fn mounts(&self, container: &Container, manifests: &Manifests) -> Result<Vec<Mount>> {
        let mut mounts = Vec::new();
        for vm in container.volume_mounts.iter().flatten() {
            if vm.sub_path.is_some() || vm.sub_path_expr.is_some() {
                // A subPath mount is a snapshot the kubelet never updates, and Sentinel
                // cannot rename over it; the manifests must not use one (DESIGN §4.1.3).
                bail!("subPath mount at {} is not emulated", vm.mount_path);
            }
            let source = if self.claims.contains(&vm.name) {
                Source::Claim {
                    claim: vm.name.clone(),
                }
            } else {
                let volume = self
                    .spec
                    .volumes
                    .iter()
                    .flatten()
                    .find(|v| v.name == vm.name)
                    .with_context(|| format!("mount of undeclared volume {}", vm.name))?;
                if volume.config_map.is_some() {
                    manifests.config_map_files(volume)?
                } else if volume.empty_dir.is_some() {
                    Source::EmptyDir {
                        volume: volume.name.clone(),
                    }
                } else {
                    bail!(
                        "volume {} is of a kind the emulation does not support",
                        vm.name
                    );
                }
            };
            mounts.push(Mount {
                path: vm.mount_path.clone(),
                read_only: vm.read_only.unwrap_or(false),
                source,
            });
        }
        Ok(mounts)
    }

    fn env_source(
        &self,
        from: &k8s_openapi::api::core::v1::EnvVarSource,
        secrets: &Secrets,
    ) -> Result<String> {
        if let Some(field) = &from.field_ref {
            return match field.field_path.as_str() {
                "metadata.name" => Ok(self.name.clone()),
                "metadata.namespace" => Ok(self.namespace.clone()),
                "status.podIP" => Ok(self.ip.to_string()),
                other => Err(anyhow!("fieldRef {other} is not emulated")),
            };
        }
        if let Some(key_ref) = &from.secret_key_ref {
            return secrets
                .get(&(key_ref.name.clone(), key_ref.key.clone()))
                .cloned()
                .with_context(|| format!("no Secret {} with key {}", key_ref.name, key_ref.key));
        }
        bail!("only fieldRef and secretKeyRef are emulated")
    }
}

fn id(n: i64) -> Result<u32> {
    u32::try_from(n).with_context(|| format!("{n} is not a valid uid/gid"))
}

/// `redis:7.2.5-alpine`, `docker.io/library/redis@sha256:…`: the repository is `redis`.
fn is_redis_image(image: &str) -> bool {
    let without_digest = image.split('@').next().unwrap_or("");
    let last = without_digest.rsplit('/').next().unwrap_or("");
    last.split(':').next() == Some("redis")
}

/// Kubernetes' `$(VAR)` expansion of env values, command and args: a defined variable is
/// replaced, an undefined reference stays as written, `$$` is a literal `$`.
fn expand(input: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|b| b.split_once(')')) {
            match env.iter().find(|(k, _)| k == name) {
                Some((_, value)) => out.push_str(value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_kubernetes_rules() {
        let env = vec![("POD_NAME".to_string(), "redis-0".to_string())];
        assert_eq!(expand("$(POD_NAME).svc", &env), "redis-0.svc");
        assert_eq!(
            expand("$(MISSING) $$(POD_NAME) $x $(", &env),
            "$(MISSING) $(POD_NAME) $x $("
        );
    }

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
