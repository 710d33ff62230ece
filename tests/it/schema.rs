//! The profile's JSON Schema, proven with a real consumer: check-jsonschema accepts every
//! shipped profile against `schema/redis-sentinel.schema.json` and rejects a misspelt key.
//! (That the committed file equals `redis-sentinel-gen schema` is a unit test of
//! `profile::schema`.)

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCHEMA_LINE: &str = "# yaml-language-server: $schema=../schema/redis-sentinel.schema.json";

fn schema_file() -> PathBuf {
    support::repo_root().join("schema/redis-sentinel.schema.json")
}

fn check_jsonschema(tool: &Path, files: &[PathBuf]) -> Output {
    Command::new(tool)
        .arg("--schemafile")
        .arg(schema_file())
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run check-jsonschema: {e}"))
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn shipped_profiles_pass_check_jsonschema() {
    let Some(tool) = support::require_tool("check-jsonschema") else {
        return;
    };
    let profiles = support::shipped_profiles();
    let output = check_jsonschema(&tool, &profiles);
    assert!(output.status.success(), "{}", said(&output));
}

#[test]
fn a_misspelt_key_fails_check_jsonschema() {
    let Some(tool) = support::require_tool("check-jsonschema") else {
        return;
    };
    let original = std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let misspelt = support::replace_once(&original, "quorum:", "quorom:");
    assert_ne!(
        original, misspelt,
        "the reference profile has no quorum to misspell"
    );
    let dir = std::env::temp_dir().join(format!("rsg-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("misspelt.yaml");
    std::fs::write(&file, misspelt).unwrap_or_else(|e| panic!("{e}"));
    let output = check_jsonschema(&tool, &[file]);
    let said = said(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("'quorom' was unexpected"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shipped_profiles_name_the_schema_for_editors() {
    for profile in support::shipped_profiles() {
        let text = std::fs::read_to_string(&profile).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            text.lines().next(),
            Some(SCHEMA_LINE),
            "{} does not start with the yaml-language-server line",
            profile.display()
        );
    }
}

/// The bad profiles the schema cannot reject, each with the reason only the tool can. Every
/// other file in `tests/bad/` must be rejected by check-jsonschema too.
const ONLY_THE_TOOL_CHECKS: &[(&str, &str)] = &[
    (
        "alias-bomb",
        "check-jsonschema expands the aliases (billions of values) and never finishes; only the \
         tool's cap of 100000 values stops it, so this file is not given to it",
    ),
    (
        "grace-period-below-rollout-wait",
        "it compares two written values (terminationGracePeriodSeconds against rolloutWaitSeconds)",
    ),
    (
        "client-is-generated-statefulset",
        "the generated objects' names depend on namePrefix",
    ),
    (
        "duplicate-clients",
        "uniqueness of one field of list items (uniqueItems compares whole items)",
    ),
    (
        "failover-timeout-not-above-down-after",
        "comparing two written numbers (draft-07 has no $data)",
    ),
    (
        "merge-key",
        "the YAML loader applies `<<` merges before the schema sees the data",
    ),
    (
        "migration-source-is-metrics-service",
        "the generated Services' names depend on namePrefix and namespace",
    ),
    (
        "migration-source-is-new-redis",
        "the generated names depend on namePrefix and namespace",
    ),
    (
        "migration-source-is-sentinel-metrics-service",
        "the generated Services' names depend on namePrefix and namespace",
    ),
    (
        "number-float-tag",
        "JSON Schema counts the float 3.0 as an integer",
    ),
    (
        "number-leading-zero",
        "a YAML 1.2 loader reads 010 as 10 before the schema sees it",
    ),
    (
        "number-leading-zeros",
        "a YAML 1.2 loader reads 007 as 7 before the schema sees it",
    ),
    ("number-negative-zero", "-0 is 0 once loaded"),
    (
        "request-one-byte-above-limit",
        "comparing two quantities in different units",
    ),
];

/// Every bad profile through check-jsonschema at once: each must be named in its output
/// (a schema violation or a file it cannot parse), except those listed above, which it must
/// accept — so the list stays exact as the schema grows.
#[test]
fn the_schema_rejects_every_bad_profile_it_can_express() {
    let Some(tool) = support::require_tool("check-jsonschema") else {
        return;
    };
    let root = support::repo_root();
    let mut cases: Vec<String> = std::fs::read_dir(root.join("tests/bad"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|case| case != "alias-bomb")
        .collect();
    cases.sort();
    let files: Vec<PathBuf> = cases
        .iter()
        .map(|case| PathBuf::from(format!("tests/bad/{case}.yaml")))
        .collect();
    let output = Command::new(&tool)
        .arg("--schemafile")
        .arg(schema_file())
        .args(&files)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run check-jsonschema: {e}"));
    let said = said(&output);
    let named = |case: &str| {
        said.contains(&format!("tests/bad/{case}.yaml::"))
            || said.contains(&format!("Failed to parse tests/bad/{case}.yaml"))
    };
    let mut wrong = Vec::new();
    for case in &cases {
        let tool_only = ONLY_THE_TOOL_CHECKS.iter().any(|(name, _)| name == case);
        match (named(case), tool_only) {
            (true, false) | (false, true) => {}
            (false, false) => wrong.push(format!("{case}: accepted by the schema")),
            (true, true) => wrong.push(format!(
                "{case}: now rejected by the schema; take it off ONLY_THE_TOOL_CHECKS"
            )),
        }
    }
    assert!(wrong.is_empty(), "{}\n\n{said}", wrong.join("\n"));
    for (case, _) in ONLY_THE_TOOL_CHECKS {
        assert!(
            root.join(format!("tests/bad/{case}.yaml")).is_file(),
            "{case} is listed but has no file"
        );
    }
}
