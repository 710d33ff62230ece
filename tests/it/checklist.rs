//! `redis-sentinel-gen checklist` (issue 6): its output for every shipped and edge-case
//! profile is snapshotted under golden/checklist/, with the exit code: 1 only when a profile
//! that is not a development profile fails an item.

use crate::support;

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
    settings.set_snapshot_path("../../golden/checklist");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn shipped_profiles() {
    settings().bind(|| insta::glob!("../../profiles", "*.yaml", |path| snapshot("shipped", path)));
}

#[test]
fn edge_case_profiles() {
    settings().bind(|| insta::glob!("../profiles", "*.yaml", |path| snapshot("edge", path)));
}

#[test]
fn an_invalid_profile_is_reported_not_evaluated() {
    let (code, stdout, stderr) =
        checklist(&support::repo_root().join("tests/bad/even-sentinels.yaml"));
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("spec.sentinel.replicas"), "{stderr}");
}

/// Policies that admit clients only by `clientPodLabels` are not a ✓: nothing puts those
/// labels on the clients. Listed clients are (their patches add the label the policies admit).
#[test]
fn network_policies_pass_only_when_client_admission_is_guaranteed() {
    let dir = std::env::temp_dir().join(format!("rsg-checklist-np-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let profile = |clients: &str| {
        format!(
            "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\n\
             metadata: {{name: shop, namespace: shop}}\nspec:\n  masterName: shop-master\n  \
             networkPolicy: {{clientPodLabels: {{app.kubernetes.io/part-of: shop}}}}\n{clients}"
        )
    };
    for (case, clients, mark) in [
        ("labels only", "", "?"),
        (
            "listed clients",
            "  clients: [{kind: Deployment, name: shop, container: shop}]\n",
            "✓",
        ),
    ] {
        let path = dir.join("profile.yaml");
        std::fs::write(&path, profile(clients)).unwrap_or_else(|e| panic!("{e}"));
        let (_, stdout, stderr) = checklist(&path);
        let line = stdout
            .lines()
            .find(|l| l.contains("network policies"))
            .unwrap_or_else(|| panic!("{case}: no network policies item:\n{stdout}{stderr}"));
        assert!(line.starts_with(mark), "{case}: {line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
