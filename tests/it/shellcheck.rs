//! Every shell script in the rendered ConfigMaps passes `shellcheck -s sh`.
//!
//! The scripts run under busybox `sh` in the Redis alpine image (no bash), so they are
//! checked as POSIX sh. `lib.sh` is sourced by the other scripts: all files of one ConfigMap
//! are written into one directory, as the pod mounts them, and shellcheck follows the source
//! from there (`-x -P <dir>`), so a function or variable defined in `lib.sh` is known.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn every_rendered_script_passes_shellcheck_as_posix_sh() {
    let _turn = support::heavy_turn();
    let Some(shellcheck) = support::require_tool("shellcheck") else {
        return;
    };
    let mut failures = Vec::new();
    for profile in support::shipped_profiles() {
        let rendered = support::render_profile(&profile);
        let scripts = check_profile(&shellcheck, &profile, &rendered, &mut failures);
        assert!(
            scripts > 0,
            "{}: the rendered ConfigMaps hold no *.sh file, so nothing was checked",
            profile.display()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The check itself can fail: a bashism is reported, and a variable that only `lib.sh`
/// defines is known to the script that sources it (so the real scripts are checked with
/// `lib.sh` followed, not with its warnings silenced).
#[test]
fn the_check_reports_bashisms_and_follows_lib_sh() {
    let Some(shellcheck) = support::require_tool("shellcheck") else {
        return;
    };
    let rendered = r#"---
apiVersion: v1
kind: ConfigMap
metadata:
  name: selftest
data:
  lib.sh: |
    # shellcheck disable=SC2034
    GREETING=hello
  good.sh: |
    #!/bin/sh
    # shellcheck source=lib.sh
    . /config/lib.sh
    echo "$GREETING"
  bad.sh: |
    #!/bin/sh
    if [[ -n "$1" ]]; then echo yes; fi
"#;
    let mut failures = Vec::new();
    let checked = check_profile(
        &shellcheck,
        Path::new("selftest.yaml"),
        rendered,
        &mut failures,
    );
    assert_eq!(checked, 3);
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(failures[0].contains("bad.sh"), "{}", failures[0]);
}

/// Check every `*.sh` of every ConfigMap of one rendered profile; returns how many scripts
/// were checked and appends a report per failing script to `failures`.
fn check_profile(
    shellcheck: &Path,
    profile: &Path,
    rendered: &str,
    failures: &mut Vec<String>,
) -> usize {
    let profile_name = profile
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut by_configmap: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (configmap, key, content) in support::configmap_files(rendered) {
        by_configmap
            .entry(configmap)
            .or_default()
            .push((key, content));
    }
    let mut checked = 0;
    for (configmap, files) in by_configmap {
        let dir = fresh_dir(&profile_name, &configmap);
        for (key, content) in &files {
            let path = dir.join(key);
            std::fs::write(&path, content)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
        for (key, _) in files.iter().filter(|(key, _)| key.ends_with(".sh")) {
            checked += 1;
            let output = Command::new(shellcheck)
                .args(["-s", "sh", "-x", "-P"])
                .arg(&dir)
                .arg(key)
                .current_dir(&dir)
                .output()
                .unwrap_or_else(|e| panic!("cannot run shellcheck: {e}"));
            if !output.status.success() {
                failures.push(format!(
                    "{} → ConfigMap {configmap} → {key}: shellcheck failed ({}):\n{}{}",
                    profile.display(),
                    output.status,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr),
                ));
            }
        }
    }
    checked
}

/// An empty directory under the test target dir for one ConfigMap of one profile.
fn fresh_dir(profile: &str, configmap: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("shellcheck")
        .join(profile)
        .join(configmap);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot clear {}: {e}", dir.display()));
    }
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}
