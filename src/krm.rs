//! The KRM function adapter (kpt `fn eval --exec`, Kptfile `exec:` pipelines, kustomize exec
//! functions): a `ResourceList` in, the same list with this profile's objects generated (and
//! its client workloads switched to Sentinel) out, following the KRM functions specification
//! (kubernetes-sigs/kustomize `cmd/config/docs/api-conventions/functions-spec.md`).
//!
//! Items keep the key order they came with: a function that reorders the keys of objects it
//! does not own would rewrite every file of the package.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Finding, Severity};
use crate::profile::load::{self, Source};
use k8s_openapi::api::core::v1::EnvVar;

use crate::render::clients::{self, ClientEnv};
use crate::render::{self, meta, serialize};
use crate::resolve::{self, Deployment};
use crate::{base, validate};

/// The file the generated objects belong to, beside the profile (`render --out` writes the
/// same name).
pub const GENERATED_FILE: &str = "redis-sentinel.yaml";
/// Marks every generated item with the profile instance (`<namespace>/<name>`) it came from.
/// A later run replaces exactly the items carrying its own instance, so running twice changes
/// nothing and two profiles in one package do not replace each other's objects.
pub const OWNER_ANNOTATION: &str = "redis-sentinel-gen/instance";
/// Where kpt and kustomize keep an item's file. Both spellings are set: kpt v1 reads the
/// `internal.` one, older orchestrators the legacy one, and kyaml rejects a mismatch.
const PATH_ANNOTATIONS: [&str; 2] = [
    "internal.config.kubernetes.io/path",
    "config.kubernetes.io/path",
];
/// The item's position within its file, same two spellings.
const INDEX_ANNOTATIONS: [&str; 2] = [
    "internal.config.kubernetes.io/index",
    "config.kubernetes.io/index",
];
/// What findings name when the profile's file is unknown.
const UNNAMED_CONFIG: &str = "functionConfig";

/// What one function call produced.
#[derive(Debug)]
pub struct Outcome {
    /// The output ResourceList; `None` when the input was not one (nothing safe to echo).
    pub output: Option<String>,
    /// Findings about the profile, also in the output's `results`.
    pub findings: Vec<Finding>,
    /// A failure that is not about the profile (the input, the rendering).
    pub problem: Option<String>,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        self.problem.is_some() || self.findings.iter().any(Finding::is_error)
    }

    fn problem(message: String) -> Outcome {
        Outcome {
            output: None,
            findings: Vec::new(),
            problem: Some(message),
        }
    }
}

/// Run the function on one serialized ResourceList.
pub fn process(input: &str) -> Outcome {
    let list: Yaml = match serde_saphyr::from_str(input) {
        Ok(list) => list,
        Err(e) => return Outcome::problem(format!("stdin is not a YAML ResourceList: {e}")),
    };
    if list.get("kind").and_then(Yaml::as_str) != Some("ResourceList") {
        return Outcome::problem(
            "stdin is not a ResourceList (kind: ResourceList, apiVersion: config.kubernetes.io/v1)"
                .into(),
        );
    }
    let items = match list.get("items") {
        Some(Yaml::Seq(items)) => items.clone(),
        None | Some(Yaml::Null) => Vec::new(),
        Some(_) => return Outcome::problem("the ResourceList's `items` is not a list".into()),
    };
    let api_version = list
        .get("apiVersion")
        .cloned()
        .unwrap_or_else(|| Yaml::Str("config.kubernetes.io/v1".into()));
    let function_config = list.get("functionConfig").cloned().unwrap_or(Yaml::Null);

    let mut run = Run {
        items,
        findings: Vec::new(),
        notes: Vec::new(),
        config_ref: resource_ref(&function_config),
        source_name: config_file(&function_config, &list),
    };
    let problem = run.apply(&function_config).err();
    let output = run.output_list(api_version, function_config);
    match output {
        Ok(output) => Outcome {
            output: Some(output),
            findings: run.findings,
            problem,
        },
        Err(e) => Outcome {
            output: None,
            findings: run.findings,
            problem: Some(format!("{e:#}")),
        },
    }
}

/// One call's state: the items as they will be returned and what to report.
struct Run {
    items: Vec<Yaml>,
    findings: Vec<Finding>,
    /// Results that are not about the profile (a client workload without its container).
    notes: Vec<Yaml>,
    config_ref: Option<Yaml>,
    source_name: String,
}

impl Run {
    /// Validate the profile and, if it is valid, generate and switch the clients. On any
    /// error the items stay exactly as they came in.
    fn apply(&mut self, function_config: &Yaml) -> Result<(), String> {
        if matches!(function_config, Yaml::Null) {
            self.findings.push(
                Finding::new(
                    Severity::Error,
                    UNNAMED_CONFIG,
                    "no functionConfig: the profile is the function's config",
                )
                .help("kpt fn eval --exec redis-sentinel-gen --fn-config PROFILE"),
            );
            return Ok(());
        }
        let text = serialize::document(function_config).map_err(|e| format!("{e:#}"))?;
        let source = Source {
            name: self.source_name.clone(),
            text,
        };
        let (loaded, mut findings) = match load::load(&source) {
            Ok(loaded) => {
                let findings = validate::validate(&loaded.profile, &loaded.map);
                (Some(loaded), findings)
            }
            Err(findings) => (None, findings),
        };
        // Positions refer to the functionConfig as re-serialized here, not to the user's file
        // (the orchestrator has already re-formatted it): naming the field is what holds.
        for finding in &mut findings {
            finding.pos = None;
        }
        let invalid = findings.iter().any(Finding::is_error);
        self.findings = findings;
        let Some(loaded) = loaded.filter(|_| !invalid) else {
            return Ok(());
        };
        let dep = resolve::resolve(&loaded.profile, &self.source_name);
        if self.client_containers_missing(&loaded, &dep) {
            return Ok(());
        }
        let generated = self.generate(&dep).map_err(|e| format!("{e:#}"))?;
        self.replace_owned(&owner(&dep), generated);
        self.switch_clients(&dep);
        Ok(())
    }

    /// Check `spec.clients` against the client workloads among the items (those the switch
    /// would edit), as `render --out` checks them against the migration base; true when a
    /// named container is missing (an error: the items then stay as they came).
    fn client_containers_missing(&mut self, loaded: &load::Loaded, dep: &Deployment) -> bool {
        let seen = base::Seen {
            workloads: self
                .items
                .iter()
                .filter(|item| {
                    item.get_path(&["metadata", "namespace"])
                        .and_then(Yaml::as_str)
                        .is_none_or(|ns| ns == dep.namespace)
                })
                .filter_map(base::Workload::of)
                .collect(),
            complete: true,
        };
        let mut findings =
            base::client_findings(&loaded.profile, &loaded.map, &seen, "the items", false);
        for finding in &mut findings {
            finding.pos = None;
        }
        let missing = findings.iter().any(Finding::is_error);
        self.findings.extend(findings);
        missing
    }

    /// The rendered objects as items, each marked with its owner and its place in the file.
    fn generate(&self, dep: &Deployment) -> anyhow::Result<Vec<Yaml>> {
        let stream = render::redis_sentinel_yaml(dep)?;
        let objects: Vec<Yaml> = serde_saphyr::from_multiple(&stream)
            .map_err(|e| anyhow::anyhow!("bug: rendered output does not parse back: {e}"))?;
        let file = generated_path(&self.source_name);
        let owner = owner(dep);
        Ok(objects
            .into_iter()
            .enumerate()
            .map(|(index, mut object)| {
                let annotations = object.map_at(&["metadata", "annotations"]);
                set(annotations, OWNER_ANNOTATION, Yaml::Str(owner.clone()));
                for key in PATH_ANNOTATIONS {
                    set(annotations, key, Yaml::Str(file.clone()));
                }
                for key in INDEX_ANNOTATIONS {
                    set(annotations, key, Yaml::Str(index.to_string()));
                }
                object
            })
            .collect())
    }

    /// Drop every item `owner` generated before and put `generated` where the first of them
    /// was (at the end on a first run), so a second run returns the same list.
    fn replace_owned(&mut self, owner: &str, generated: Vec<Yaml>) {
        let is_owned = |item: &Yaml| {
            item.get_path(&["metadata", "annotations", OWNER_ANNOTATION])
                .and_then(Yaml::as_str)
                == Some(owner)
        };
        let at = self.items.iter().position(is_owned);
        self.items.retain(|item| !is_owned(item));
        let at = at.map_or(self.items.len(), |at| at.min(self.items.len()));
        self.items.splice(at..at, generated);
    }

    /// Apply the env switch (`render::clients`, the same env the `clients/` patches set) to
    /// every client workload of the profile found among the items.
    fn switch_clients(&mut self, dep: &Deployment) {
        for client in &dep.clients {
            let env = clients::client_env(dep, client);
            let kind = clients::kind_name(client.kind);
            for item in &mut self.items {
                let matches = item.get("apiVersion").and_then(Yaml::as_str) == Some("apps/v1")
                    && item.get("kind").and_then(Yaml::as_str) == Some(kind)
                    && item.get_path(&["metadata", "name"]).and_then(Yaml::as_str)
                        == Some(client.name.as_str())
                    && item
                        .get_path(&["metadata", "namespace"])
                        .and_then(Yaml::as_str)
                        .is_none_or(|ns| ns == dep.namespace);
                if !matches {
                    continue;
                }
                if switch_container(item, &client.container, &env) {
                    // The label the NetworkPolicies admit, as the `clients/` patches add it.
                    let (label, value) = meta::client_label(dep);
                    let labels = item.map_at(&["spec", "template", "metadata", "labels"]);
                    set(labels, &label, Yaml::Str(value));
                } else {
                    self.notes.push(result(
                        "warning",
                        &format!(
                            "{kind} {} has no container `{}` (spec.clients); its env is unchanged",
                            client.name, client.container
                        ),
                        resource_ref(item),
                        None,
                        None,
                    ));
                }
            }
        }
    }

    fn output_list(&self, api_version: Yaml, function_config: Yaml) -> anyhow::Result<String> {
        let mut results: Vec<Yaml> = self
            .findings
            .iter()
            .map(|f| {
                result(
                    match f.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    },
                    &summary(f),
                    self.config_ref.clone(),
                    f.field.as_deref(),
                    Some(&f.file),
                )
            })
            .collect();
        results.extend(self.notes.iter().cloned());
        let mut list = vec![
            ("apiVersion".to_string(), api_version),
            ("kind".to_string(), Yaml::Str("ResourceList".into())),
            ("items".to_string(), Yaml::Seq(self.items.clone())),
        ];
        if !matches!(function_config, Yaml::Null) {
            list.push(("functionConfig".to_string(), function_config));
        }
        if !results.is_empty() {
            list.push(("results".to_string(), Yaml::Seq(results)));
        }
        let mut text = serialize::document(&Yaml::Map(list))?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }
}

/// `<namespace>/<name>`: the value of [`OWNER_ANNOTATION`] for this profile's objects.
fn owner(dep: &Deployment) -> String {
    format!("{}/{}", dep.namespace, dep.instance)
}

/// An env entry as an item field: `name` first, then `value` or
/// `valueFrom.secretKeyRef` (`name`, `key`), the order people write them in.
fn env_var_yaml(var: &EnvVar) -> Yaml {
    let mut entry = vec![("name".to_string(), Yaml::Str(var.name.clone()))];
    if let Some(value) = &var.value {
        entry.push(("value".to_string(), Yaml::Str(value.clone())));
    }
    if let Some(secret) = var
        .value_from
        .as_ref()
        .and_then(|from| from.secret_key_ref.as_ref())
    {
        let mut selector = vec![
            ("name".to_string(), Yaml::Str(secret.name.clone())),
            ("key".to_string(), Yaml::Str(secret.key.clone())),
        ];
        if let Some(optional) = secret.optional {
            selector.push(("optional".to_string(), Yaml::Bool(optional)));
        }
        entry.push((
            "valueFrom".to_string(),
            Yaml::map([("secretKeyRef", Yaml::Map(selector))]),
        ));
    }
    Yaml::Map(entry)
}

/// Apply `env` to the container named `container` of a workload: its variables set (existing
/// entries replaced where they stand, so a second run changes nothing), the ones it removes
/// gone. False when the workload has no such container.
fn switch_container(workload: &mut Yaml, container: &str, env: &ClientEnv) -> bool {
    let Some(Yaml::Seq(containers)) =
        workload.get_path_mut(&["spec", "template", "spec", "containers"])
    else {
        return false;
    };
    let Some(target) = containers
        .iter_mut()
        .find(|c| c.get("name").and_then(Yaml::as_str) == Some(container))
    else {
        return false;
    };
    let Yaml::Map(fields) = target else {
        return false;
    };
    if !fields
        .iter()
        .any(|(k, v)| k == "env" && matches!(v, Yaml::Seq(_)))
    {
        fields.retain(|(k, _)| k != "env");
        fields.push(("env".to_string(), Yaml::Seq(Vec::new())));
    }
    let Some(Yaml::Seq(vars)) = target.get_mut("env") else {
        return false;
    };
    let name_of = |var: &Yaml| var.get("name").and_then(Yaml::as_str).map(str::to_string);
    vars.retain(|var| name_of(var).is_none_or(|name| !env.remove.contains(&name.as_str())));
    for set in &env.set {
        let var = env_var_yaml(set);
        match vars
            .iter_mut()
            .find(|v| name_of(v).as_deref() == Some(set.name.as_str()))
        {
            Some(existing) => *existing = var,
            None => vars.push(var),
        }
    }
    true
}

/// The file findings name: the functionConfig's own path annotation, else the path of the
/// package item that is the same object (kpt's `--fn-config` passes the config without its
/// path, but the profile is usually also in the package), else "functionConfig".
fn config_file(function_config: &Yaml, list: &Yaml) -> String {
    if let Some(path) = path_annotation(function_config) {
        return path;
    }
    fn identity(item: &Yaml) -> [Option<&str>; 4] {
        [
            item.get("apiVersion").and_then(Yaml::as_str),
            item.get("kind").and_then(Yaml::as_str),
            item.get_path(&["metadata", "name"]).and_then(Yaml::as_str),
            item.get_path(&["metadata", "namespace"])
                .and_then(Yaml::as_str),
        ]
    }
    let wanted = identity(function_config);
    let matching: Vec<String> = match list.get("items") {
        Some(Yaml::Seq(items)) => items
            .iter()
            .filter(|item| identity(item) == wanted)
            .filter_map(path_annotation)
            .collect(),
        _ => Vec::new(),
    };
    match matching.as_slice() {
        [only] => only.clone(),
        _ => UNNAMED_CONFIG.to_string(),
    }
}

fn path_annotation(object: &Yaml) -> Option<String> {
    PATH_ANNOTATIONS.iter().find_map(|key| {
        object
            .get_path(&["metadata", "annotations", key])
            .and_then(Yaml::as_str)
            .map(str::to_string)
    })
}

/// `redis-sentinel.yaml` in the profile's directory of the package. A profile outside the
/// package (or one whose path climbs out of it) puts it at the package root.
fn generated_path(source_name: &str) -> String {
    let dir = match source_name.rsplit_once('/') {
        Some((dir, _)) if source_name != UNNAMED_CONFIG => dir,
        _ => "",
    };
    let escapes = dir.starts_with('/') || dir.split('/').any(|part| part == "..");
    if dir.is_empty() || escapes {
        GENERATED_FILE.to_string()
    } else {
        format!("{dir}/{GENERATED_FILE}")
    }
}

/// The one-line result message: the finding with what was found and what is valid.
fn summary(finding: &Finding) -> String {
    let mut message = finding.message.clone();
    for (label, text) in [
        ("found", &finding.found),
        ("valid", &finding.valid),
        ("help", &finding.help),
    ] {
        if let Some(text) = text {
            message.push_str(&format!("; {label}: {text}"));
        }
    }
    message
}

/// A `results` entry of the KRM spec.
fn result(
    severity: &str,
    message: &str,
    resource: Option<Yaml>,
    field: Option<&str>,
    file: Option<&str>,
) -> Yaml {
    let mut entry = vec![
        ("message".to_string(), Yaml::Str(message.to_string())),
        ("severity".to_string(), Yaml::Str(severity.to_string())),
    ];
    if let Some(resource) = resource {
        entry.push(("resourceRef".to_string(), resource));
    }
    if let Some(field) = field {
        entry.push((
            "field".to_string(),
            Yaml::map([("path", Yaml::Str(field.into()))]),
        ));
    }
    if let Some(file) = file {
        entry.push((
            "file".to_string(),
            Yaml::map([("path", Yaml::Str(file.into()))]),
        ));
    }
    Yaml::Map(entry)
}

/// `resourceRef` of an object: apiVersion, kind, name and namespace when present.
fn resource_ref(object: &Yaml) -> Option<Yaml> {
    let mut entries = Vec::new();
    for (key, path) in [
        ("apiVersion", &["apiVersion"][..]),
        ("kind", &["kind"]),
        ("name", &["metadata", "name"]),
        ("namespace", &["metadata", "namespace"]),
    ] {
        if let Some(value) = object.get_path(path).and_then(Yaml::as_str) {
            entries.push((key.to_string(), Yaml::Str(value.to_string())));
        }
    }
    (!entries.is_empty()).then_some(Yaml::Map(entries))
}

fn set(map: &mut Vec<(String, Yaml)>, key: &str, value: Yaml) {
    match map.iter_mut().find(|(k, _)| k == key) {
        Some((_, existing)) => *existing = value,
        None => map.push((key.to_string(), value)),
    }
}

/// A YAML value that keeps mapping keys in the order they were written.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    fn map<const N: usize>(entries: [(&str, Yaml); N]) -> Yaml {
        Yaml::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_path(&self, path: &[&str]) -> Option<&Yaml> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    fn get_path_mut(&mut self, path: &[&str]) -> Option<&mut Yaml> {
        path.iter().try_fold(self, |node, key| node.get_mut(key))
    }

    /// The mapping at `path`, created (replacing a non-mapping or null) where missing.
    fn map_at(&mut self, path: &[&str]) -> &mut Vec<(String, Yaml)> {
        let mut node = self;
        for key in path {
            if !matches!(node, Yaml::Map(_)) {
                *node = Yaml::Map(Vec::new());
            }
            let Yaml::Map(entries) = node else {
                unreachable!("just made a mapping")
            };
            let at = match entries.iter().position(|(k, _)| k == key) {
                Some(at) => at,
                None => {
                    entries.push(((*key).to_string(), Yaml::Map(Vec::new())));
                    entries.len() - 1
                }
            };
            node = &mut entries[at].1;
        }
        if !matches!(node, Yaml::Map(_)) {
            *node = Yaml::Map(Vec::new());
        }
        match node {
            Yaml::Map(entries) => entries,
            _ => unreachable!("just made a mapping"),
        }
    }
}

impl Serialize for Yaml {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Yaml::Null => serializer.serialize_unit(),
            Yaml::Bool(b) => serializer.serialize_bool(*b),
            Yaml::Int(i) => serializer.serialize_i64(*i),
            Yaml::Uint(u) => serializer.serialize_u64(*u),
            Yaml::Float(f) => serializer.serialize_f64(*f),
            Yaml::Str(s) => serializer.serialize_str(s),
            Yaml::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Yaml::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Yaml, D::Error> {
        deserializer.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Yaml, E> {
        Ok(Yaml::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Yaml, E> {
        Ok(Yaml::Uint(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Yaml, E> {
        Ok(Yaml::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Yaml, E> {
        Ok(Yaml::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Yaml::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Yaml, Yaml>()? {
            let key = match key {
                Yaml::Str(s) => s,
                Yaml::Int(i) => i.to_string(),
                Yaml::Uint(u) => u.to_string(),
                Yaml::Bool(b) => b.to_string(),
                Yaml::Float(f) => f.to_string(),
                Yaml::Null => "null".to_string(),
                Yaml::Seq(_) | Yaml::Map(_) => {
                    return Err(de::Error::custom("a mapping key must be a scalar"));
                }
            };
            entries.push((key, value));
        }
        Ok(Yaml::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::spec::{API_VERSION, KIND};

    #[test]
    fn key_order_and_scalar_types_survive_a_round_trip() {
        let text = "kind: X\napiVersion: v1\ndata:\n  z: '1'\n  a: 1\n  b: true\n  c: \"yes\"\n  \
                    n: null\n";
        let value: Yaml = serde_saphyr::from_str(text).unwrap();
        let back = serialize::document(&value).unwrap();
        let again: Yaml = serde_saphyr::from_str(&back).unwrap();
        assert_eq!(value, again);
        assert!(back.starts_with("kind: X\napiVersion: v1\n"), "{back}");
        assert_eq!(again.get_path(&["data", "z"]), Some(&Yaml::Str("1".into())));
        assert_eq!(
            again.get_path(&["data", "c"]),
            Some(&Yaml::Str("yes".into()))
        );
    }

    #[test]
    fn generated_file_sits_beside_the_profile_inside_the_package() {
        assert_eq!(generated_path("profile.yaml"), "redis-sentinel.yaml");
        assert_eq!(generated_path("redis/p.yaml"), "redis/redis-sentinel.yaml");
        assert_eq!(generated_path("../p.yaml"), "redis-sentinel.yaml");
        assert_eq!(generated_path("/abs/p.yaml"), "redis-sentinel.yaml");
        assert_eq!(generated_path(UNNAMED_CONFIG), "redis-sentinel.yaml");
    }

    #[test]
    fn the_switch_replaces_in_place_and_removes_the_old_address() {
        let mut workload: Yaml = serde_saphyr::from_str(
            "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n        env:\n        \
             - {name: A, value: a}\n        - {name: REDIS_ADDR, value: r:6379}\n        \
             - {name: REDIS_MASTER_NAME, value: old}\n",
        )
        .unwrap();
        let plain = |name: &str, value: &str| EnvVar {
            name: name.to_string(),
            value: Some(value.to_string()),
            ..Default::default()
        };
        let env = ClientEnv {
            set: vec![
                plain(clients::ENV_SENTINEL_ADDRS, "s"),
                plain(clients::ENV_MASTER_NAME, "m"),
            ],
            remove: vec![clients::ENV_ADDR],
        };
        assert!(switch_container(&mut workload, "app", &env));
        let once = workload.clone();
        assert!(switch_container(&mut workload, "app", &env));
        assert_eq!(once, workload, "not idempotent");
        let names: Vec<_> = match workload
            .get_path(&["spec", "template", "spec", "containers"])
            .and_then(|c| match c {
                Yaml::Seq(c) => c.first(),
                _ => None,
            })
            .and_then(|c| c.get("env"))
        {
            Some(Yaml::Seq(vars)) => vars
                .iter()
                .filter_map(|v| v.get("name").and_then(Yaml::as_str))
                .collect(),
            other => panic!("no env: {other:?}"),
        };
        assert_eq!(names, ["A", "REDIS_MASTER_NAME", "REDIS_SENTINEL_ADDRS"]);
        assert!(!switch_container(&mut workload, "other", &env));
    }

    #[test]
    fn not_a_resource_list_is_a_problem_without_output() {
        let outcome = process("apiVersion: v1\nkind: ConfigMap\n");
        assert!(outcome.failed());
        assert!(outcome.output.is_none());
    }

    #[test]
    fn a_profile_of_the_wrong_kind_is_an_error_result() {
        let outcome = process(&format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n\
             functionConfig:\n  apiVersion: {API_VERSION}x\n  kind: {KIND}\n  metadata: {{name: a}}\n"
        ));
        assert!(outcome.failed());
        let output = outcome.output.unwrap_or_default();
        assert!(output.contains("severity: error"), "{output}");
        assert!(output.contains("path: apiVersion"), "{output}");
    }
}
