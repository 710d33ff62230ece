//! Security scan (issue 6): `checkov -d` (kubernetes framework) over the rendered output of
//! every profile reports no failed check beyond the skip list of `.checkov.yaml`, where every
//! skip gives its reason and is still needed.
//!
//! One skipped check is judged per profile instead: CKV2_K8S_6 (pods without a NetworkPolicy),
//! run alone, must pass for every profile with `spec.networkPolicy` and fail for every profile
//! without it — the `checklist` command flags the same gap.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use redis_sentinel_gen::render::redis_sentinel_yaml;

const NETWORK_POLICY_CHECK: &str = "CKV2_K8S_6";

/// Renders every profile into its own file; returns the directory and, per file name,
/// whether the profile has network policies.
fn render_all() -> (PathBuf, BTreeMap<String, bool>) {
    // Per process: a second `cargo test` in the same checkout must not wipe these files.
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("checkov-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("checkov dir");
    let mut files = BTreeMap::new();
    for profile in support::shipped_profiles()
        .into_iter()
        .chain(support::edge_profiles())
    {
        let dep = support::resolve_profile(&profile);
        let name = format!(
            "{}.yaml",
            profile.file_stem().unwrap_or_default().to_string_lossy()
        );
        let yaml = redis_sentinel_yaml(&dep).expect("renders");
        std::fs::write(dir.join(&name), yaml).expect("write rendered output");
        files.insert(name, dep.network_policy.is_some());
    }
    (dir, files)
}

/// How checkov is told what to check.
enum Checks<'a> {
    /// The repository's `.checkov.yaml`, skip list included.
    Config(&'a Path),
    /// Every check of the kubernetes framework.
    All,
    /// One check only.
    Only(&'a str),
}

/// Failed checks as (check id, file name), and the number of passed checks.
fn run_checkov(checkov: &Path, dir: &Path, checks: Checks<'_>) -> (Vec<(String, String)>, u64) {
    let mut command = Command::new(checkov);
    // checkov also reads a `.checkov.yaml` of its working directory: run it where there is
    // none, so only `config` counts.
    command
        .current_dir(dir)
        .arg("-d")
        .arg(dir)
        .args(["-o", "json", "--quiet"]);
    match checks {
        Checks::Config(config) => command.arg("--config-file").arg(config),
        Checks::All => command.args(["--framework", "kubernetes", "--skip-download"]),
        Checks::Only(id) => command.args([
            "--framework",
            "kubernetes",
            "--skip-download",
            "--check",
            id,
        ]),
    };
    let output = command.output().expect("checkov runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov did not print a JSON report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    // One framework gives one report object; several give a list.
    let reports = match report {
        serde_json::Value::Array(list) => list,
        single => vec![single],
    };
    let mut failed = Vec::new();
    let mut passed = 0;
    for report in reports {
        assert_eq!(report["check_type"], "kubernetes", "{report}");
        passed += report["summary"]["passed"].as_u64().unwrap_or(0);
        for check in report["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let file = check["file_path"].as_str().unwrap_or_default();
            failed.push((
                check["check_id"].as_str().unwrap_or_default().to_string(),
                file.trim_start_matches('/').to_string(),
            ));
        }
    }
    (failed, passed)
}

/// The skip list of `.checkov.yaml`, each entry with the comment lines above it.
fn skips() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(support::repo_root().join(".checkov.yaml")).expect(".checkov.yaml");
    let mut in_list = false;
    let mut reason = String::new();
    let mut skips = Vec::new();
    for line in text.lines() {
        if line.starts_with("skip-check:") {
            in_list = true;
            continue;
        }
        if !in_list {
            continue;
        }
        let trimmed = line.trim();
        if let Some(comment) = trimmed.strip_prefix('#') {
            reason.push_str(comment.trim());
            reason.push(' ');
        } else if let Some(id) = trimmed.strip_prefix("- ") {
            skips.push((id.trim().to_string(), std::mem::take(&mut reason)));
        } else if !line.starts_with(' ') && !trimmed.is_empty() {
            in_list = false;
        }
    }
    skips
}

#[test]
fn every_skip_has_a_reason() {
    let skips = skips();
    assert!(!skips.is_empty(), "no skip list found in .checkov.yaml");
    assert!(
        skips.len() <= 5,
        "the skip list should stay short: {skips:?}"
    );
    for (id, reason) in &skips {
        assert!(id.starts_with("CKV"), "{id}");
        assert!(reason.len() > 40, "{id} has no reason above it: {reason:?}");
    }
}

#[test]
fn checkov_finds_nothing_beyond_the_skip_list() {
    let Some(checkov) = support::require_tool("checkov") else {
        return;
    };
    let _turn = support::heavy_turn();
    let (dir, files) = render_all();
    let config = support::repo_root().join(".checkov.yaml");

    let (failed, passed) = run_checkov(&checkov, &dir, Checks::Config(&config));
    assert!(
        passed > 100,
        "checkov passed only {passed} checks: did it read the files?"
    );
    assert!(
        failed.is_empty(),
        "checkov failed checks beyond the skip list: {failed:?}"
    );

    let (failed, passed) = run_checkov(&checkov, &dir, Checks::Only(NETWORK_POLICY_CHECK));
    assert!(passed > 0, "{NETWORK_POLICY_CHECK} passed nowhere");
    let flagged: BTreeSet<&str> = failed.iter().map(|(_, f)| f.as_str()).collect();
    for (file, has_policies) in &files {
        assert_eq!(
            flagged.contains(file.as_str()),
            !has_policies,
            "{file}: {NETWORK_POLICY_CHECK} should fail exactly when there is no NetworkPolicy"
        );
    }

    // Without the skip list each skipped check fails somewhere: no skip outlives its cause.
    let (unfiltered, _) = run_checkov(&checkov, &dir, Checks::All);
    let failing: BTreeSet<&str> = unfiltered.iter().map(|(id, _)| id.as_str()).collect();
    for (id, _) in skips() {
        assert!(
            failing.contains(id.as_str()),
            "{id} is skipped in .checkov.yaml but no longer fails: remove the skip"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
