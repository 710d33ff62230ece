//! Conformance of `redis-sentinel.yaml` with the Kubernetes OpenAPI schemas: every profile
//! (shipped and edge cases) rendered and checked by `kubernetes-validate --strict` (unknown
//! fields rejected) for the oldest and newest Kubernetes versions the README claims.
//!
//! kubernetes-validate reads YAML with PyYAML, a YAML 1.1 reader: an unquoted `off` or `yes`
//! in the output would reach the schema as a boolean and fail here too.

use crate::support;

use std::path::PathBuf;
use std::process::Command;

use redis_sentinel_gen::render::redis_sentinel_yaml;

/// Oldest and newest supported Kubernetes versions (README "Supported versions").
const KUBERNETES_VERSIONS: &[&str] = &["1.29.0", "1.37.0"];

/// Prometheus Operator CRDs: no Kubernetes OpenAPI schema knows them, so they are left out
/// here, explicitly; tests/it/monitoring.rs checks them (typed parse, `promtool check rules`).
const CRD_KINDS: &[&str] = &["ServiceMonitor", "PrometheusRule"];

/// `rendered` without the documents of [`CRD_KINDS`].
fn without_crds(rendered: &str) -> String {
    rendered
        .split_inclusive("\n---\n")
        .filter(|doc| {
            !CRD_KINDS
                .iter()
                .any(|kind| doc.lines().any(|l| l == format!("kind: {kind}")))
        })
        .collect::<String>()
        .trim_end_matches("---\n")
        .to_string()
}

/// Each rendered file with the number of YAML documents (objects) in it.
fn rendered_files() -> Vec<(PathBuf, usize)> {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance");
    std::fs::create_dir_all(&out_dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", out_dir.display()));
    support::shipped_profiles()
        .into_iter()
        .chain(support::edge_profiles())
        .map(|profile| {
            let dep = support::resolve_profile(&profile);
            let yaml = without_crds(
                &redis_sentinel_yaml(&dep)
                    .unwrap_or_else(|e| panic!("{} does not render: {e:#}", profile.display())),
            );
            let stem = profile
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned());
            let file = out_dir.join(format!("{}.yaml", stem.unwrap_or_default()));
            std::fs::write(&file, &yaml)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
            (file, yaml.lines().filter(|l| *l == "---").count())
        })
        .collect()
}

#[test]
fn every_profile_validates_strictly_against_the_kubernetes_schemas() {
    let Some(validator) = support::require_tool("kubernetes-validate") else {
        return;
    };
    let rendered = rendered_files();
    let files: Vec<&PathBuf> = rendered.iter().map(|(file, _)| file).collect();
    let objects: usize = rendered.iter().map(|(_, count)| count).sum();
    for version in KUBERNETES_VERSIONS {
        let output = Command::new(&validator)
            .args(["--strict", "--no-warn", "--kubernetes-version", version])
            .args(&files)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", validator.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "kubernetes-validate --strict for Kubernetes {version} failed:\n{stdout}\n{stderr}"
        );
        // Every object reported as passed: proves every document was read and checked.
        let passed = stdout
            .lines()
            .filter(|l| l.contains(" passed for resource "))
            .count();
        assert_eq!(
            passed, objects,
            "expected every object of every file to pass for {version}:\n{stdout}\n{stderr}"
        );
    }
}
