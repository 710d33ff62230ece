//! A container resolved against its pod the way the kubelet resolves it: argv and env with
//! `$(VAR)` expansion, user and groups, and the volumes it mounts.

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::core::v1::Container;

use super::{IMAGE_PATH, IMAGE_WORKDIR, Manifests, PodPlan, Secrets};

/// Kubernetes' default file mode of ConfigMap volume files (0644).
const DEFAULT_CONFIGMAP_MODE: i32 = 0o644;

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
}
