//! `redis-sentinel-gen checklist` (issue 6): its output for every shipped and edge-case
//! profile is snapshotted under golden/checklist/, with the exit code: 1 only when a profile
//! that is not a development profile fails an item.

mod support;

use std::path::Path;
use std::process::Command;

fn checklist(profile: &Path) -> (i32, String, String) {
    let relative = profile
        .strip_prefix(support::repo_root())
        .unwrap_or(profile);
    let output = Command::new(env!("CARGO_BIN_EXE_redis-sentinel-gen"))
        .arg("checklist")
        .arg(relative)
        .current_dir(support::repo_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn snapshot(name: &str, profile: &Path) {
    let (code, stdout, _) = checklist(profile);
    let failed = stdout.lines().any(|l| l.starts_with('✗'));
    let development = stdout.contains("a development profile");
    // The exit code follows the items: 1 exactly when an item failed outside development.
    assert_eq!(code, i32::from(failed && !development), "{stdout}");
    insta::assert_snapshot!(name, format!("exit code: {code}\n{stdout}"));
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../golden/checklist");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn shipped_profiles() {
    settings().bind(|| insta::glob!("../profiles", "*.yaml", |path| snapshot("shipped", path)));
}

#[test]
fn edge_case_profiles() {
    settings().bind(|| insta::glob!("profiles/*.yaml", |path| snapshot("edge", path)));
}

#[test]
fn an_invalid_profile_is_reported_not_evaluated() {
    let (code, stdout, stderr) =
        checklist(&support::repo_root().join("tests/bad/even-sentinels.yaml"));
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("spec.sentinel.replicas"), "{stderr}");
}
