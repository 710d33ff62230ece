//! The client-capable workloads of a base as its kustomizations name them: with their
//! containers and pod labels, to check the profile against before anything is written.
//!
//! Only what cannot add or rename a container is evaluated: `resources` (files and
//! directories, recursively), `namePrefix` / `nameSuffix`, `namespace` and the labels added to
//! pod templates. A kustomization with anything else that could (patches, components,
//! generators, transformers, remote resources) makes the view incomplete.

use std::collections::BTreeMap;
use std::path::Path;

use super::{FILES, is_remote};
use crate::yaml_tree::Yaml;

/// Kustomization fields that neither add nor rename a container nor rename a workload
/// beyond `namePrefix` / `nameSuffix`, which are applied here.
const HARMLESS_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "labels",
    "commonLabels",
    "commonAnnotations",
    "images",
    "replicas",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "buildMetadata",
    "sortOptions",
];
/// Nesting of kustomizations followed; deeper (or a cycle) leaves the view incomplete.
const MAX_DEPTH: usize = 16;
/// Resource files larger than this are not read (the view is then incomplete).
const MAX_FILE_BYTES: u64 = 4 << 20;

/// A client-capable workload of the base (`apps/v1` Deployment or StatefulSet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub kind: String,
    /// The name after the kustomizations' `namePrefix` / `nameSuffix`.
    pub name: String,
    /// Its namespace as written or set by a kustomization; `None`: the including one's.
    pub namespace: Option<String>,
    /// The labels of its pod template, with those the kustomizations add to templates.
    pub pod_labels: BTreeMap<String, String>,
    pub containers: Vec<Container>,
}

/// A container of a base workload: its name and its plain-valued env (`valueFrom` entries
/// have no text to name a host in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub env: Vec<(String, String)>,
}

impl Container {
    pub fn of(object: &Yaml) -> Option<Container> {
        let env = match object.get("env") {
            Some(Yaml::Seq(vars)) => vars
                .iter()
                .filter_map(|var| {
                    let name = var.get("name").and_then(Yaml::as_str)?;
                    let value = var.get("value").and_then(Yaml::as_str)?;
                    Some((name.to_string(), value.to_string()))
                })
                .collect(),
            _ => Vec::new(),
        };
        Some(Container {
            name: object.get("name").and_then(Yaml::as_str)?.to_string(),
            env,
        })
    }
}

impl Workload {
    /// `object` as a workload, when it is an `apps/v1` Deployment or StatefulSet.
    pub fn of(object: &Yaml) -> Option<Workload> {
        if object.get("apiVersion").and_then(Yaml::as_str) != Some("apps/v1") {
            return None;
        }
        let kind = object.get("kind").and_then(Yaml::as_str)?;
        if !matches!(kind, "Deployment" | "StatefulSet") {
            return None;
        }
        let containers = match object.get_path(&["spec", "template", "spec", "containers"]) {
            Some(Yaml::Seq(containers)) => containers.iter().filter_map(Container::of).collect(),
            _ => Vec::new(),
        };
        let pod_labels = match object.get_path(&["spec", "template", "metadata", "labels"]) {
            Some(Yaml::Map(labels)) => labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
            _ => BTreeMap::new(),
        };
        let text_at = |path: &[&str]| object.get_path(path).and_then(Yaml::as_str);
        Some(Workload {
            kind: kind.to_string(),
            name: text_at(&["metadata", "name"])?.to_string(),
            namespace: text_at(&["metadata", "namespace"]).map(str::to_string),
            pod_labels,
            containers,
        })
    }
}

/// What the tool saw of a base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub workloads: Vec<Workload>,
    /// False when something the tool does not evaluate could add a container or a workload.
    pub complete: bool,
}

/// The workloads of the kustomization in `dir`; `None` when there is none (a missing base is
/// reported by `validate::output_paths`).
pub fn read(dir: &Path) -> Option<Seen> {
    let mut seen = Seen {
        workloads: Vec::new(),
        complete: true,
    };
    read_kustomization(dir, 0, &mut seen)?;
    Some(seen)
}

/// Add the workloads of the kustomization in `dir` to `seen`, named as that kustomization
/// names them; `None` when `dir` holds no kustomization.
fn read_kustomization(dir: &Path, depth: usize, seen: &mut Seen) -> Option<()> {
    let text = FILES.iter().find_map(|name| read_small(&dir.join(name)))?;
    let Ok(kustomization) = serde_saphyr::from_str::<Yaml>(&text) else {
        seen.complete = false;
        return Some(());
    };
    let Yaml::Map(fields) = &kustomization else {
        seen.complete = false;
        return Some(());
    };
    if fields
        .iter()
        .any(|(key, _)| !HARMLESS_FIELDS.contains(&key.as_str()))
    {
        seen.complete = false;
    }
    let text_of = |key: &str| {
        kustomization
            .get(key)
            .and_then(Yaml::as_str)
            .unwrap_or_default()
    };
    let (prefix, suffix) = (text_of("namePrefix"), text_of("nameSuffix"));
    let mut found = Seen {
        workloads: Vec::new(),
        complete: true,
    };
    for key in ["resources", "bases"] {
        let Some(Yaml::Seq(entries)) = kustomization.get(key) else {
            continue;
        };
        for entry in entries {
            let Some(entry) = entry.as_str() else {
                found.complete = false;
                continue;
            };
            read_resource(dir, entry, depth, &mut found);
        }
    }
    seen.complete &= found.complete;
    let namespace = kustomization.get("namespace").and_then(Yaml::as_str);
    let template_labels = template_labels(&kustomization);
    seen.workloads
        .extend(found.workloads.into_iter().map(|mut w| {
            w.name = format!("{prefix}{}{suffix}", w.name);
            if let Some(namespace) = namespace {
                w.namespace = Some(namespace.to_string());
            }
            w.pod_labels.extend(template_labels.clone());
            w
        }));
    Some(())
}

/// The labels a kustomization adds to pod templates: `commonLabels`, and the `labels` entries
/// with `includeSelectors` or `includeTemplates`.
fn template_labels(kustomization: &Yaml) -> BTreeMap<String, String> {
    let pairs = |map: Option<&Yaml>| match map {
        Some(Yaml::Map(pairs)) => pairs
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    let mut labels: BTreeMap<String, String> = pairs(kustomization.get("commonLabels"))
        .into_iter()
        .collect();
    if let Some(Yaml::Seq(entries)) = kustomization.get("labels") {
        for entry in entries {
            let on = |key: &str| matches!(entry.get(key), Some(Yaml::Bool(true)));
            if on("includeSelectors") || on("includeTemplates") {
                labels.extend(pairs(entry.get("pairs")));
            }
        }
    }
    labels
}

/// One `resources` entry: a file of objects, or a directory with a kustomization.
fn read_resource(dir: &Path, entry: &str, depth: usize, seen: &mut Seen) {
    let path = dir.join(entry);
    let remote = is_remote(entry);
    if remote || depth >= MAX_DEPTH {
        seen.complete = false;
    } else if path.is_dir() {
        if read_kustomization(&path, depth + 1, seen).is_none() {
            seen.complete = false;
        }
    } else {
        let objects =
            read_small(&path).and_then(|text| serde_saphyr::from_multiple::<Yaml>(&text).ok());
        match objects {
            Some(objects) => seen
                .workloads
                .extend(objects.iter().filter_map(Workload::of)),
            None => seen.complete = false,
        }
    }
}
fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    std::fs::read_to_string(path).ok()
}
