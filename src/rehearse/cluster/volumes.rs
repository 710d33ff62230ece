//! A pod's volumes on the host, prepared as the kubelet prepares them: ConfigMap files,
//! emptyDirs and the claims that outlive the pod.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::Cluster;
use crate::rehearse::manifest::{PodPlan, Process, Source};

impl Cluster {
    /// Host directory behind a volume of `pod`.
    pub(super) fn volume_dir(&self, pod: &PodPlan, source: &Source) -> PathBuf {
        let dir = self.pod_dir(&pod.name);
        match source {
            Source::ConfigMap { volume, .. } => dir.join("configmaps").join(volume),
            Source::EmptyDir { volume } => dir.join("emptydirs").join(volume),
            Source::Claim { claim } => self
                .state
                .join("claims")
                .join(format!("{claim}-{}", pod.name)),
        }
    }

    /// `kubectl delete pvc`: the claim's volume is gone, and a pod that mounts it later starts
    /// with an empty one. Whether it existed; a claim a running pod mounts is refused.
    pub fn delete_claim(&mut self, pvc: &str) -> Result<bool> {
        for pod in &self.pods {
            let mounted = pod
                .claims
                .iter()
                .any(|c| format!("{c}-{}", pod.name) == pvc);
            if mounted && self.running.contains_key(&pod.name) {
                bail!(
                    "persistentvolumeclaim {pvc} is in use by running pod {}",
                    pod.name
                );
            }
        }
        let dir = self.state.join("claims").join(pvc);
        if !relative(pvc).is_ok_and(|p| p.components().count() == 1) || !dir.exists() {
            return Ok(false);
        }
        fs::remove_dir_all(&dir)?;
        Ok(true)
    }

    /// Prepare the volumes `process` mounts as the kubelet does at pod start: ConfigMap
    /// files fresh, emptyDirs fresh for a new pod (kept across a container restart), the
    /// PVC as the pod's last run left it.
    pub(super) fn prepare_volumes(
        &self,
        pod: &PodPlan,
        process: &Process,
        new_pod: bool,
    ) -> Result<()> {
        let fs_group = pod.spec.security_context.as_ref().and_then(|s| s.fs_group);
        let fs_group = fs_group.map(u32::try_from).transpose().context("fsGroup")?;
        for mount in &process.mounts {
            let dir = self.volume_dir(pod, &mount.source);
            match &mount.source {
                Source::ConfigMap { files, .. } => {
                    recreate_dir(&dir, 0o755, None)?;
                    for (path, content, mode) in files {
                        let file = dir.join(relative(path)?);
                        if let Some(parent) = file.parent() {
                            fs::create_dir_all(parent)?;
                        }
                        fs::write(&file, content)?;
                        fs::set_permissions(&file, fs::Permissions::from_mode(*mode))?;
                        std::os::unix::fs::chown(&file, None, fs_group)?;
                    }
                }
                Source::EmptyDir { .. } if new_pod || !dir.exists() => {
                    recreate_dir(&dir, 0o777, fs_group)?;
                }
                Source::EmptyDir { .. } => {}
                Source::Claim { .. } if dir.exists() => {}
                Source::Claim { .. } => recreate_dir(&dir, 0o755, fs_group)?,
            }
        }
        Ok(())
    }
}

/// A ConfigMap item path must stay inside its volume.
fn relative(path: &str) -> Result<&Path> {
    let p = Path::new(path);
    if p.components().all(|c| matches!(c, Component::Normal(_))) {
        Ok(p)
    } else {
        bail!("ConfigMap item path {path} leaves its volume")
    }
}

/// Remove and recreate `dir` with `mode`, group-owned by `fs_group` (setgid) when set, as the
/// kubelet prepares volumes for a pod with an `fsGroup`.
fn recreate_dir(dir: &Path, mode: u32, fs_group: Option<u32>) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    let mode = if fs_group.is_some() {
        mode | 0o2070
    } else {
        mode
    };
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))?;
    std::os::unix::fs::chown(dir, None, fs_group)?;
    Ok(())
}
