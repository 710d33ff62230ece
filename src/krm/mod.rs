//! The KRM function adapter (kpt `fn eval --exec`, Kptfile `exec:` pipelines, kustomize exec
//! functions): a `ResourceList` in, the same list with this profile's objects generated (and
//! its client workloads switched to Sentinel) out, following the KRM functions specification
//! (kubernetes-sigs/kustomize `cmd/config/docs/api-conventions/functions-spec.md`).
//!
//! Items the function does not own go back as the text they came in (`resource_list`), so
//! their keys, scalars, tags, anchors and comments are exactly what the orchestrator sent. A
//! client workload it switches is read keeping every scalar's YAML 1.2 meaning and its tags
//! (`yaml_tree`); only its comments are not kept.

mod env_switch;
mod resource_list;
mod yaml_tree;

pub use yaml_tree::Yaml;

use resource_list::{Header, Item, ResourceList};

use crate::diagnostic::{Finding, Severity};
use crate::profile::load::{self, Source};
use crate::render::clients;
use crate::render::tree::GENERATED_FILE;
use crate::render::{self, meta, serialize};
use crate::resolve::Deployment;
use crate::{base, pipeline};

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
/// The largest ResourceList read from stdin. It carries every object of the kustomize or kpt
/// pipeline, not just the profile, so it may exceed the profile's 1 MiB; the cap keeps
/// `krm < /dev/zero` from reading without end, and a list at the cap under 100 MB of memory
/// (`tests/memory.rs` measures it).
pub const MAX_INPUT_BYTES: usize = 8 * 1024 * 1024;
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
    let list = match resource_list::read(input) {
        Ok(list) => list,
        Err(problem) => return Outcome::problem(problem),
    };
    let function_config = list
        .function_config
        .as_ref()
        .filter(|config| !is_null_text(config.node));
    let mut run = Run {
        out: (0..list.items.len()).map(Out::Carried).collect(),
        findings: Vec::new(),
        notes: Vec::new(),
        config_ref: function_config.and_then(|config| resource_ref(&config.header)),
        source_name: config_file(function_config, &list.items),
        list: &list,
    };
    let problem = run.apply(function_config).err();
    match run.output_list() {
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

/// `~`, `null` or nothing: no functionConfig at all.
fn is_null_text(node: &str) -> bool {
    matches!(node.trim(), "" | "~" | "null" | "Null" | "NULL")
}

/// What goes into the output list, in order.
enum Out {
    /// An input item, written back as its own text.
    Carried(usize),
    /// A generated object, serialized.
    Generated(String),
    /// A client workload with its env switched, read as written and written back.
    Switched(Box<Yaml>),
}

/// One call's state: the items as they will be returned and what to report.
struct Run<'l, 'a> {
    list: &'l ResourceList<'a>,
    out: Vec<Out>,
    findings: Vec<Finding>,
    /// Results that are not about the profile (a client workload without its container, a
    /// name taken by an object the function does not own).
    notes: Vec<Yaml>,
    config_ref: Option<Yaml>,
    source_name: String,
}

impl Run<'_, '_> {
    /// Validate the profile and, if it is valid, generate and switch the clients. On any
    /// error the items stay exactly as they came in.
    fn apply(&mut self, function_config: Option<&Item<'_>>) -> Result<(), String> {
        let Some(function_config) = function_config else {
            self.findings.push(
                Finding::new(
                    Severity::Error,
                    UNNAMED_CONFIG,
                    "no functionConfig: the profile is the function's config",
                )
                .help("kpt fn eval --exec redis-sentinel-gen --fn-config PROFILE"),
            );
            return Ok(());
        };
        // The profile's own text, read by the loader and validation the CLI uses: the same
        // YAML 1.2 rules, the same size and alias limits, the same findings.
        let source = Source {
            name: self.source_name.clone(),
            text: resource_list::standalone(function_config),
        };
        let pipeline::Checked {
            loaded,
            mut findings,
        } = pipeline::check(&source);
        // Positions refer to the functionConfig as the orchestrator re-formatted it, not to
        // the user's file: naming the field is what holds.
        for finding in &mut findings {
            finding.pos = None;
        }
        let invalid = findings.iter().any(Finding::is_error);
        self.findings = findings;
        let Some((loaded, dep)) = loaded.filter(|_| !invalid) else {
            return Ok(());
        };
        if self.client_containers_missing(&loaded, &dep) {
            return Ok(());
        }
        let generated = self.generate(&dep).map_err(|e| format!("{e:#}"))?;
        let owner = owner(&dep);
        if self.refuse_foreign_namesakes(&owner, &generated) {
            return Err(
                "the package holds objects with the names of generated ones that this profile \
                 does not own (see the results); nothing was changed"
                    .into(),
            );
        }
        let generated = generated
            .iter()
            .map(serialize::document)
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(|e| format!("{e:#}"))?;
        self.replace_owned(&owner, generated);
        self.switch_clients(&dep);
        Ok(())
    }

    /// Check `spec.clients` against the client workloads among the items (those the switch
    /// would edit), as `render --out` checks them against the migration base; true when a
    /// named container is missing (an error: the items then stay as they came).
    fn client_containers_missing(&mut self, loaded: &load::Loaded, dep: &Deployment) -> bool {
        let workloads = self
            .list
            .items
            .iter()
            .filter(|item| {
                let header = &item.header;
                header.api_version.as_deref() == Some("apps/v1")
                    && matches!(header.kind.as_deref(), Some("Deployment" | "StatefulSet"))
                    && header
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| ns == dep.namespace)
            })
            .filter_map(|item| Yaml::read_lossless(&resource_list::standalone(item)).ok())
            .filter_map(|object| base::Workload::of(&object))
            .collect();
        let seen = base::Seen {
            workloads,
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

    /// An input object with the kind, name and namespace of a generated one that this
    /// instance did not generate (written by hand, or by another profile) would be either
    /// overwritten or duplicated: both are wrong, so each is an error naming both objects and
    /// nothing changes. True when there was one.
    fn refuse_foreign_namesakes(&mut self, owner: &str, generated: &[Yaml]) -> bool {
        let mut refused = false;
        for object in generated {
            let field = |path: &[&str]| object.get_path(path).and_then(Yaml::as_str);
            let (Some(kind), Some(name)) = (field(&["kind"]), field(&["metadata", "name"])) else {
                continue;
            };
            let namespace = field(&["metadata", "namespace"]);
            for item in &self.list.items {
                let header = &item.header;
                let same = header.kind.as_deref() == Some(kind)
                    && header.name.as_deref() == Some(name)
                    && (header.namespace.is_none() || header.namespace.as_deref() == namespace);
                let theirs = header.annotation(OWNER_ANNOTATION);
                if !same || theirs == Some(owner) {
                    continue;
                }
                let whose = match theirs {
                    Some(other) => format!("it was generated for the profile instance {other}"),
                    None => format!(
                        "it was not generated by redis-sentinel-gen (no {OWNER_ANNOTATION} \
                         annotation)"
                    ),
                };
                let place = path_of(header).map_or(String::new(), |path| format!(" in {path}"));
                let message = format!(
                    "{kind} {}{name}{place} has the name of the {kind} this profile generates \
                     ({kind} {}/{name} from {}), and {whose}; nothing was changed: rename or \
                     remove one of them",
                    header
                        .namespace
                        .as_deref()
                        .map_or(String::new(), |ns| format!("{ns}/")),
                    namespace.unwrap_or("-"),
                    self.source_name,
                );
                self.notes.push(result(
                    "error",
                    &message,
                    resource_ref(header),
                    None,
                    path_of(header).as_deref(),
                ));
                refused = true;
            }
        }
        refused
    }

    /// Drop every item `owner` generated before and put `generated` where the first of them
    /// was (at the end on a first run), so a second run returns the same list.
    fn replace_owned(&mut self, owner: &str, generated: Vec<String>) {
        let items = &self.list.items;
        let is_owned = |out: &Out| match out {
            Out::Carried(index) => items[*index].header.annotation(OWNER_ANNOTATION) == Some(owner),
            _ => false,
        };
        let at = self.out.iter().position(is_owned);
        self.out.retain(|out| !is_owned(out));
        let at = at.map_or(self.out.len(), |at| at.min(self.out.len()));
        self.out
            .splice(at..at, generated.into_iter().map(Out::Generated));
    }

    /// Apply the env switch (`render::clients`, the same env the `clients/` patches set) to
    /// every client workload of the profile found among the items.
    fn switch_clients(&mut self, dep: &Deployment) {
        for client in &dep.clients {
            let env = clients::client_env(dep, client);
            let kind = clients::kind_name(client.kind);
            for out in &mut self.out {
                let Out::Carried(index) = out else {
                    continue;
                };
                let item = &self.list.items[*index];
                let header = &item.header;
                let matches = header.api_version.as_deref() == Some("apps/v1")
                    && header.kind.as_deref() == Some(kind)
                    && header.name.as_deref() == Some(client.name.as_str())
                    && header
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| ns == dep.namespace);
                if !matches {
                    continue;
                }
                let mut workload = match Yaml::read_lossless(&resource_list::standalone(item)) {
                    Ok(workload) => workload,
                    Err(why) => {
                        self.notes.push(result(
                            "error",
                            &format!(
                                "{kind} {} cannot be switched to Sentinel: {why}",
                                client.name
                            ),
                            resource_ref(header),
                            None,
                            path_of(header).as_deref(),
                        ));
                        continue;
                    }
                };
                if env_switch::switch_container(&mut workload, &client.container, &env) {
                    // The label the NetworkPolicies admit, as the `clients/` patches add it.
                    let (label, value) = meta::client_label(dep);
                    let labels = workload.map_at(&["spec", "template", "metadata", "labels"]);
                    set(labels, &label, Yaml::Str(value));
                    *out = Out::Switched(Box::new(workload));
                } else {
                    self.notes.push(result(
                        "warning",
                        &format!(
                            "{kind} {} has no container `{}` (spec.clients); its env is unchanged",
                            client.name, client.container
                        ),
                        resource_ref(header),
                        None,
                        None,
                    ));
                }
            }
        }
    }

    /// The output list: the items in their new order (carried ones as their own text), the
    /// functionConfig as it came, and the results.
    fn output_list(&self) -> anyhow::Result<String> {
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
        let list = self.list;
        let dash = list.dash_column;
        let mut text = String::with_capacity(
            list.items
                .iter()
                .map(|item| item.unit.len() + 1)
                .sum::<usize>()
                + 4096,
        );
        text.push_str(list.prefix);
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        let api_version = list
            .api_version
            .clone()
            .unwrap_or_else(|| "config.kubernetes.io/v1".into());
        text.push_str(&format!(
            "apiVersion: {}\nkind: ResourceList\n",
            Yaml::Str(api_version).to_block(0).trim_end()
        ));
        text.push_str(if self.out.is_empty() {
            "items: []\n"
        } else {
            "items:\n"
        });
        for out in &self.out {
            match out {
                Out::Carried(index) => {
                    let item = &list.items[*index];
                    if item.block_unit {
                        text.push_str(item.unit);
                        if !text.ends_with('\n') {
                            text.push('\n');
                        }
                    } else {
                        resource_list::place(item.node, item.column, false, "- ", &mut text);
                    }
                }
                Out::Generated(document) => push_item(&mut text, document, dash),
                Out::Switched(workload) => push_item(&mut text, &workload.to_block(0), dash),
            }
        }
        if let Some(config) = &list.function_config {
            resource_list::place(
                config.node,
                config.column,
                config.block_node,
                "functionConfig: ",
                &mut text,
            );
        }
        if !results.is_empty() {
            text.push_str("results:\n");
            text.push_str(&serialize::document(&Yaml::Seq(results))?);
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
        Ok(text)
    }
}

/// A document (block YAML at column 0) as an entry of the items list, its `-` at `dash`.
fn push_item(text: &mut String, document: &str, dash: usize) {
    for (index, line) in document.lines().enumerate() {
        if index == 0 {
            text.push_str(&" ".repeat(dash));
            text.push_str("- ");
        } else if !line.is_empty() {
            text.push_str(&" ".repeat(dash + 2));
        }
        text.push_str(line);
        text.push('\n');
    }
}

/// `<namespace>/<name>`: the value of [`OWNER_ANNOTATION`] for this profile's objects.
fn owner(dep: &Deployment) -> String {
    format!("{}/{}", dep.namespace, dep.instance)
}

/// The file findings name: the functionConfig's own path annotation, else the path of the
/// package item that is the same object (kpt's `--fn-config` passes the config without its
/// path, but the profile is usually also in the package), else "functionConfig".
fn config_file(function_config: Option<&Item<'_>>, items: &[Item<'_>]) -> String {
    let Some(config) = function_config else {
        return UNNAMED_CONFIG.to_string();
    };
    if let Some(path) = path_of(&config.header) {
        return path;
    }
    let identity = |header: &Header| {
        (
            header.api_version.clone(),
            header.kind.clone(),
            header.name.clone(),
            header.namespace.clone(),
        )
    };
    let wanted = identity(&config.header);
    let matching: Vec<String> = items
        .iter()
        .filter(|item| identity(&item.header) == wanted)
        .filter_map(|item| path_of(&item.header))
        .collect();
    match matching.as_slice() {
        [only] => only.clone(),
        _ => UNNAMED_CONFIG.to_string(),
    }
}

fn path_of(header: &Header) -> Option<String> {
    PATH_ANNOTATIONS
        .iter()
        .find_map(|key| header.annotation(key).map(str::to_string))
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
fn resource_ref(header: &Header) -> Option<Yaml> {
    let mut entries = Vec::new();
    for (key, value) in [
        ("apiVersion", &header.api_version),
        ("kind", &header.kind),
        ("name", &header.name),
        ("namespace", &header.namespace),
    ] {
        if let Some(value) = value {
            entries.push((key.to_string(), Yaml::Str(value.clone())));
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
