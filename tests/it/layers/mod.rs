//! The crate's modules are layered (issue 14): a module imports only from its own layer or
//! the layers below, and no top-level modules import each other in a circle. Read from the
//! source text of src/ (comments, string literals and `#[cfg(test)]` items left out), so it
//! needs no build and no Redis.

use std::collections::{BTreeMap, BTreeSet};

use crate::support;

mod scan;

use scan::{crate_modules, crate_references};

/// Bottom to top (numbered from 1 in messages, as in docs/CONTRIBUTING.md): each layer's
/// one-line description and its top-level modules. Every `mod` of src/lib.rs is in exactly
/// one; `main.rs` is a crate of its own, above them all.
const LAYERS: [(&str, &[&str]); 10] = [
    (
        "shared vocabulary: source positions, YAML trees, findings, quantities, memory \
         arithmetic, embedded templates",
        &[
            "position",
            "yaml_tree",
            "diagnostic",
            "quantity",
            "memory",
            "templates",
        ],
    ),
    (
        "what the user writes: spec types, loading, the JSON Schema, the defaults it states",
        &["profile"],
    ),
    (
        "the user's kustomize base as this tool reads it",
        &["kustomization"],
    ),
    (
        "defaults applied: the fully decided Deployment",
        &["resolve"],
    ),
    (
        "every finding about the decided values, with positions",
        &["validate"],
    ),
    (
        "the Deployment as Kubernetes objects and files",
        &["render"],
    ),
    (
        "the profile checked against the user's base, by the names and labels render gives",
        &["base"],
    ),
    (
        "load, resolve and validate once, for every adapter",
        &["pipeline"],
    ),
    (
        "where the output goes: stdout, a file tree, a check against disk",
        &["emit"],
    ),
    (
        "adapters and commands: the command line, KRM, kustomize, and what they run",
        &[
            "run",
            "krm",
            "kustomize",
            "plan",
            "init",
            "rehearse",
            "explain",
            "checklist",
            "next_steps",
            "cli",
        ],
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

#[test]
fn every_module_of_the_crate_has_one_place_in_the_layers() {
    let modules = crate_modules(&support::repo_root().join("src"));
    assert!(modules.len() > 20, "src/lib.rs declares {modules:?}");
    let placed: Vec<&str> = LAYERS.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    let unplaced: Vec<&String> = modules
        .iter()
        .filter(|m| !placed.contains(&m.as_str()))
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules of src/lib.rs in no layer of LAYERS (tests/it/layers.rs): {unplaced:?}; \
         place each in the lowest layer holding every module it imports"
    );
    let stale: Vec<&&str> = placed.iter().filter(|m| !modules.contains(**m)).collect();
    assert!(
        stale.is_empty(),
        "LAYERS names modules src/lib.rs does not declare: {stale:?}"
    );
    let mut seen = BTreeSet::new();
    let twice: Vec<&&str> = placed.iter().filter(|m| !seen.insert(**m)).collect();
    assert!(twice.is_empty(), "LAYERS places these twice: {twice:?}");
}

/// No import runs back up: a module names only modules of its own layer or one below.
#[test]
fn no_module_imports_from_a_higher_layer() {
    let src = support::repo_root().join("src");
    let modules = crate_modules(&src);
    let references = crate_references(&src);
    assert!(
        references.len() > 100,
        "only {} references between modules found: the scan is broken",
        references.len()
    );
    let mut upward = Vec::new();
    for (file, reference, from) in &references {
        if !modules.contains(&reference.module) {
            continue;
        }
        let (Some(low), Some(high)) = (layer_of(from), layer_of(&reference.module)) else {
            continue; // the test above names a module that is in no layer
        };
        if high > low {
            upward.push(format!(
                "{file}:{}: {from} (layer {}) imports {} (layer {})",
                reference.line,
                low + 1,
                reference.module,
                high + 1
            ));
        }
    }
    let legend: Vec<String> = LAYERS
        .iter()
        .enumerate()
        .map(|(n, (what, modules))| format!("  {}. {} — {what}", n + 1, modules.join(", ")))
        .collect();
    assert!(
        upward.is_empty(),
        "{} import(s) run up the layers:\n{}\nthe layers (tests/it/layers.rs), bottom to top:\n{}",
        upward.len(),
        upward.join("\n"),
        legend.join("\n")
    );
}

/// No module circle, within a layer either: the top-level modules' imports form no cycle.
#[test]
fn no_top_level_modules_import_each_other_in_a_circle() {
    let src = support::repo_root().join("src");
    let modules = crate_modules(&src);
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (file, reference, from) in crate_references(&src) {
        if modules.contains(&reference.module) {
            graph
                .entry(from)
                .or_default()
                .entry(reference.module)
                .or_insert(format!("{file}:{}", reference.line));
        }
    }
    for start in &modules {
        // A depth-first walk from `start`, keeping the path that reached each module.
        let mut pending = vec![(start.clone(), vec![start.clone()])];
        let mut visited = BTreeSet::new();
        while let Some((module, trail)) = pending.pop() {
            for (next, place) in graph.get(&module).into_iter().flatten() {
                let mut longer = trail.clone();
                longer.push(format!("{next} ({place})"));
                assert!(
                    next != start,
                    "top-level modules import each other in a circle: {}",
                    longer.join(" → ")
                );
                if visited.insert(next.clone()) {
                    pending.push((next.clone(), longer));
                }
            }
        }
    }
}
