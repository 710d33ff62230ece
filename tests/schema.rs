//! The profile's JSON Schema, proven with a real consumer: check-jsonschema accepts every
//! shipped profile against `schema/redis-sentinel.schema.json` and rejects a misspelt key.
//! (That the committed file equals `redis-sentinel-gen schema` is a unit test of
//! `profile::schema`.)

mod support;

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
    let misspelt = original.replacen("quorum:", "quorom:", 1);
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
