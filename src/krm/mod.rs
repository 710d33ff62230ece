//! The KRM function adapter (kpt `fn eval --exec`, Kptfile `exec:` pipelines, kustomize exec
//! functions): a `ResourceList` in, the same list with this profile's objects generated (and
//! its client workloads switched to Sentinel) out, following the KRM functions specification
//! (kubernetes-sigs/kustomize `cmd/config/docs/api-conventions/functions-spec.md`).
//!
//! Items the function does not own go back as the text they came in (`resource_list`), so
//! their keys, scalars, tags, anchors and comments are exactly what the orchestrator sent. A
//! client workload it switches is read keeping every scalar's YAML 1.2 meaning and its tags
//! (`crate::yaml_tree`); only its comments are not kept.
//!
//! - `resource_list`: the list read as spans of its own text, and written back;
//! - `env_switch`: the Sentinel env set in a client container;
//! - `clients`: the client workloads among the items, checked and switched;
//! - `ownership`: which items this profile generated, and names it may not take;
//! - `paths`: the file each finding and each generated item belongs to;
//! - `results`: the `results` entries of the KRM spec;
//! - `output`: the output list, carried items as their own text.

mod clients;
mod env_switch;
mod output;
mod ownership;
mod paths;
mod resource_list;
mod results;

use resource_list::{Item, ResourceList};

use crate::diagnostic::{Finding, Severity};
use crate::pipeline;
use crate::profile::load::Source;
use crate::render::{self, serialize};
use crate::resolve::Deployment;
use crate::yaml_tree::Yaml;
use ownership::owner;
use paths::{config_file, generated_path};
use results::resource_ref;

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
/// (`tests/it/memory.rs` measures it).
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
