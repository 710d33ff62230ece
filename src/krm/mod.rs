//! The KRM function adapter (kpt `fn eval --exec`, Kptfile `exec:` pipelines, kustomize exec
//! functions): a `ResourceList` in, the same list with this profile's objects generated (and
//! its client workloads switched to Sentinel) out, following the KRM functions specification
//! (kubernetes-sigs/kustomize `cmd/config/docs/api-conventions/functions-spec.md`).
//!
//! Items keep the key order they came with: a function that reorders the keys of objects it
//! does not own would rewrite every file of the package.

mod env_switch;
mod yaml_tree;

pub use yaml_tree::Yaml;

use crate::diagnostic::{Finding, Severity};
use crate::profile::load::{self, Source};
use crate::render::clients;
use crate::render::{self, serialize};
use crate::resolve::{self, Deployment};
use crate::validate;

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
        let generated = self.generate(&dep).map_err(|e| format!("{e:#}"))?;
        self.replace_owned(&owner(&dep), generated);
        self.switch_clients(&dep);
        Ok(())
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
                if !env_switch::switch_container(item, &client.container, &env) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::spec::{API_VERSION, KIND};

    #[test]
    fn generated_file_sits_beside_the_profile_inside_the_package() {
        assert_eq!(generated_path("profile.yaml"), "redis-sentinel.yaml");
        assert_eq!(generated_path("redis/p.yaml"), "redis/redis-sentinel.yaml");
        assert_eq!(generated_path("../p.yaml"), "redis-sentinel.yaml");
        assert_eq!(generated_path("/abs/p.yaml"), "redis-sentinel.yaml");
        assert_eq!(generated_path(UNNAMED_CONFIG), "redis-sentinel.yaml");
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
