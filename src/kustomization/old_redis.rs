//! The old single Redis as the user's migration base defines it: the Service named by
//! `migration.from.host`, the one workload its selector picks, and that workload's Redis
//! container. The migration phases fence that workload (phase 2) and remove both (phase 3).
//!
//! Only what can be read without kustomize is read: the `resources` of the base's
//! kustomization that are local files or directories with a kustomization, recursively,
//! renamed by each kustomization's `namePrefix` and `nameSuffix`.
//! Remote resources, generators and the base's own patches are not applied; an old Redis
//! that only they define is "not found", and the profile must then name it in
//! `spec.migration.remove`.

use std::path::Path;

use serde_json::Value;

use super::{file_in, is_remote};
use crate::profile::spec::ObjectRef;

/// Workload kinds whose pod template a Service selector can pick.
const WORKLOAD_KINDS: [&str; 4] = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"];
/// How deep nested kustomizations are followed (a cycle stops here too).
const MAX_DEPTH: usize = 8;

/// The old Redis in the base.
#[derive(Debug, Clone)]
pub struct OldRedis {
    /// The Service `migration.from.host` names.
    pub service: String,
    /// The workload behind it.
    pub workload: ObjectRef,
    /// The Redis container: its index in the pod template and its name.
    pub container_index: usize,
    pub container: String,
    /// The container's `args` in the base (the fence is appended to them).
    pub args: Vec<String>,
    /// The container's `command` in the base (empty: the image's entrypoint).
    pub command: Vec<String>,
}

impl OldRedis {
    /// The shell (`sh`, `bash`, …) when the container starts Redis through `<shell> -c
    /// SCRIPT` and the script does not pass its arguments on (`"$@"`): the fence phase 2
    /// appends as args then becomes the script's `$0`, `$1`… and never reaches redis-server.
    pub fn shell_ignoring_args(&self) -> Option<&str> {
        const SHELLS: [&str; 6] = ["sh", "bash", "ash", "dash", "ksh", "zsh"];
        let line: Vec<&str> = self
            .command
            .iter()
            .chain(&self.args)
            .map(String::as_str)
            .collect();
        let shell = line.first()?.rsplit('/').next()?;
        if !SHELLS.contains(&shell) {
            return None;
        }
        // `-c`, alone or among other short options (`-ec`, `-xc`).
        let script = line.iter().position(|word| {
            word.strip_prefix('-').is_some_and(|flags| {
                flags.contains('c') && flags.chars().all(|f| f.is_ascii_alphabetic())
            })
        })?;
        let forwards = line
            .get(script + 1)
            .is_some_and(|text| text.contains("$@") || text.contains("${@}"));
        (!forwards).then_some(shell)
    }

    /// The Service and the workload, as objects for the last phase to remove.
    pub fn objects(&self) -> Vec<ObjectRef> {
        vec![
            self.workload.clone(),
            ObjectRef {
                kind: "Service".to_string(),
                name: self.service.clone(),
            },
        ]
    }
}

/// The old Redis behind `host:port` (`migration.from`) in the kustomization directory
/// `base`; why it cannot be found otherwise.
pub fn find(base: &Path, host: &str, port: u16) -> Result<OldRedis, String> {
    let mut objects = Vec::new();
    read_kustomization(base, 0, &mut objects)?;
    let service_name = host.split('.').next().unwrap_or_default().to_string();
    let service = objects
        .iter()
        .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == service_name.as_str())
        .ok_or_else(|| format!("the base has no Service `{service_name}`"))?;
    let selector = service["spec"]["selector"]
        .as_object()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the Service `{service_name}` has no selector"))?;
    let picked: Vec<&Value> = objects
        .iter()
        .filter(|o| WORKLOAD_KINDS.iter().any(|k| o["kind"] == *k))
        .filter(|o| {
            let labels = &o["spec"]["template"]["metadata"]["labels"];
            selector.iter().all(|(k, v)| labels[k] == *v)
        })
        .collect();
    let workload = match picked.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!(
                "no workload in the base matches the selector of `{service_name}`"
            ));
        }
        _ => {
            return Err(format!(
                "{} workloads in the base match the selector of `{service_name}`",
                picked.len()
            ));
        }
    };
    let workload_ref = ObjectRef {
        kind: workload["kind"].as_str().unwrap_or_default().to_string(),
        name: workload["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    let containers = workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .ok_or_else(|| {
            format!(
                "{} `{}` has no containers",
                workload_ref.kind, workload_ref.name
            )
        })?;
    let target = service_target_port(service, port);
    let index = match containers.len() {
        1 => 0,
        _ => containers
            .iter()
            .position(|c| serves(c, &target))
            .ok_or_else(|| {
                format!(
                    "no container of {} `{}` serves the port of `{service_name}`",
                    workload_ref.kind, workload_ref.name
                )
            })?,
    };
    let container = &containers[index];
    Ok(OldRedis {
        service: service_name,
        workload: workload_ref,
        container_index: index,
        container: container["name"].as_str().unwrap_or_default().to_string(),
        args: words(&container["args"]),
        command: words(&container["command"]),
    })
}

/// A container's `args` or `command` as words (a non-string entry as its JSON text).
fn words(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|words| {
            words
                .iter()
                .map(|word| match word {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `targetPort` of the Service port `port` (a number or a port name); the port itself
/// when the Service does not say.
fn service_target_port(service: &Value, port: u16) -> Value {
    service["spec"]["ports"]
        .as_array()
        .and_then(|ports| ports.iter().find(|p| p["port"] == port))
        .map(|p| match &p["targetPort"] {
            Value::Null => p["port"].clone(),
            target => target.clone(),
        })
        .unwrap_or_else(|| Value::from(port))
}

/// Whether `container` exposes `target` (a port number or name).
fn serves(container: &Value, target: &Value) -> bool {
    container["ports"].as_array().is_some_and(|ports| {
        ports
            .iter()
            .any(|p| p["containerPort"] == *target || p["name"] == *target)
    })
}

/// Every object of the kustomization in `dir` and of the kustomizations it lists, named as
/// kustomize names them: each kustomization's `namePrefix` and `nameSuffix` applied to what
/// it lists, the inner ones first (`init --from-base` reads those names from kustomize's own
/// output, and the migration's patches meet the objects under them).
fn read_kustomization(dir: &Path, depth: usize, objects: &mut Vec<Value>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "kustomizations nested deeper than {MAX_DEPTH} at {}",
            dir.display()
        ));
    }
    let file =
        file_in(dir).ok_or_else(|| format!("{} has no kustomization.yaml", dir.display()))?;
    let kustomization: Value = parse_one(&file)?;
    let resources = kustomization["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut listed = Vec::new();
    for resource in resources.iter().filter_map(Value::as_str) {
        if is_remote(resource) {
            continue;
        }
        let path = dir.join(resource);
        if path.is_dir() {
            read_kustomization(&path, depth + 1, &mut listed)?;
        } else if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let documents: Vec<Value> = serde_saphyr::from_multiple(&text)
                .map_err(|e| format!("{} is not YAML: {e}", path.display()))?;
            listed.extend(documents.into_iter().filter(Value::is_object));
        }
    }
    let affix = |key: &str| kustomization[key].as_str().unwrap_or_default().to_string();
    let (prefix, suffix) = (affix("namePrefix"), affix("nameSuffix"));
    if !(prefix.is_empty() && suffix.is_empty()) {
        for object in &mut listed {
            if let Some(name) = object["metadata"]["name"].as_str() {
                object["metadata"]["name"] = Value::from(format!("{prefix}{name}{suffix}"));
            }
        }
    }
    objects.extend(listed);
    Ok(())
}

fn parse_one(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| format!("{} is not YAML: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old(command: &[&str], args: &[&str]) -> OldRedis {
        let words = |list: &[&str]| list.iter().map(|w| w.to_string()).collect();
        OldRedis {
            service: "redis".into(),
            workload: ObjectRef {
                kind: "Deployment".into(),
                name: "redis".into(),
            },
            container_index: 0,
            container: "redis".into(),
            args: words(args),
            command: words(command),
        }
    }

    #[test]
    fn a_shell_script_that_drops_its_arguments_is_named() {
        let script = "exec redis-server --requirepass \"$PW\"";
        assert_eq!(
            old(&["sh", "-c", script], &[]).shell_ignoring_args(),
            Some("sh")
        );
        assert_eq!(
            old(&["/bin/bash", "-c", script], &[]).shell_ignoring_args(),
            Some("bash")
        );
        assert_eq!(
            old(&["sh"], &["-c", script]).shell_ignoring_args(),
            Some("sh")
        );
        assert_eq!(
            old(&["sh", "-ec"], &[script]).shell_ignoring_args(),
            Some("sh")
        );
        assert_eq!(old(&["sh", "/start.sh"], &[]).shell_ignoring_args(), None);
        for passes_on in ["exec redis-server \"$@\"", "exec redis-server ${@}"] {
            assert_eq!(
                old(&["sh", "-c", passes_on], &[]).shell_ignoring_args(),
                None
            );
        }
        assert_eq!(
            old(&[], &["--appendonly", "yes"]).shell_ignoring_args(),
            None
        );
        assert_eq!(
            old(&["redis-server", "/etc/redis.conf"], &[]).shell_ignoring_args(),
            None
        );
        assert_eq!(
            old(&["docker-entrypoint.sh", "redis-server"], &[]).shell_ignoring_args(),
            None
        );
    }
}
