//! The functionConfig read exactly like the CLI reads a profile: the same verdict and the
//! same findings through `validate` and through KRM, and through kpt.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use super::{BIN, GENERATED, kpt_eval, profile_text, read_tree, scratch, text, write};
use crate::support;

/// Run the binary as a KRM function on `list`.
fn krm(list: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("krm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        // A list the function refuses early may close stdin before it is all written.
        let _ = stdin.write_all(list.as_bytes());
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

fn embed(profile: &str) -> String {
    let indented: String = profile
        .lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_string()
            } else {
                format!("  {line}\n")
            }
        })
        .collect();
    format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n{indented}"
    )
}

/// The finding blocks of stderr, positions and file names removed (the functionConfig has
/// neither the user's file name nor its lines).
fn findings(stderr: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    for line in stderr.lines() {
        if line.starts_with("error: ") || line.starts_with("warning: ") {
            blocks.push(format!("{line}\n"));
        } else if let Some(block) = blocks.last_mut() {
            if line.starts_with("  --> ") {
                block.push_str("  --> FILE\n");
            } else if line.starts_with("   = ") {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    // Only blocks with a `-->` line are findings (not the summary lines).
    blocks.retain(|block| block.contains("  --> FILE\n"));
    blocks
}

#[test]
fn every_profile_gets_the_same_verdict_and_findings_through_validate_and_krm() {
    let root = support::repo_root();
    let mut profiles: Vec<PathBuf> = Vec::new();
    for dir in ["profiles", "tests/bad"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.extension().is_some_and(|ext| ext == "yaml") {
                profiles.push(path);
            }
        }
    }
    profiles.sort();
    assert!(profiles.len() > 40, "{profiles:?}");
    let mut compared = 0;
    for path in &profiles {
        let profile = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
        let validate = Command::new(BIN)
            .arg("validate")
            .arg(path)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let through_krm = krm(&embed(&profile));
        let name = path.display();
        assert_eq!(
            validate.status.code(),
            through_krm.status.code(),
            "{name}: validate and krm disagree\nvalidate:\n{}\nkrm:\n{}",
            text(&validate),
            text(&through_krm)
        );
        let single_node = serde_saphyr::from_multiple::<serde_json::Value>(&profile)
            .is_ok_and(|docs| docs.len() == 1);
        if !single_node {
            // Not one YAML node (broken YAML, several documents): it cannot be a
            // functionConfig at all, so only the verdict can agree.
            continue;
        }
        let expected = findings(&String::from_utf8_lossy(&validate.stderr));
        let got = findings(&String::from_utf8_lossy(&through_krm.stderr));
        assert_eq!(expected, got, "{name}: different findings");
        compared += 1;
    }
    assert!(compared >= 40, "only {compared} profiles compared");
}

/// Profiles the issue found read differently through KRM: each pair is a change to the
/// reference profile and what must hold.
#[test]
fn kpt_reads_the_function_config_as_validate_reads_the_profile() {
    let Some(kpt) = support::require_tool("kpt") else {
        return;
    };
    let root = scratch("quirks");
    let reference = profile_text();
    // Valid for `validate`, and rendered with the values as written.
    let quirky = support::edited(
        &reference,
        &[
            ("namespace: welcomebot", "namespace: no"),
            ("masterName: welcomebot-master", "masterName: on"),
            ("fsync: everysec", "fsync: no"),
        ],
    );
    assert_ne!(quirky, reference);
    let package = root.join("valid");
    write(&package.join("profile.yaml"), &quirky);
    let validate = Command::new(BIN)
        .arg("validate")
        .arg(package.join("profile.yaml"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(validate.status.success(), "{}", text(&validate));
    let output = kpt_eval(&kpt, &package, BIN);
    assert!(
        output.status.success(),
        "kpt fn eval failed:\n{}",
        text(&output)
    );
    let generated = std::fs::read_to_string(package.join(GENERATED)).unwrap_or_default();
    let rendered = Command::new(BIN)
        .arg("render")
        .arg(package.join("profile.yaml"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let objects = |text: &str| -> Vec<serde_json::Value> {
        let mut objects: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(text).unwrap_or_else(|e| panic!("{e}"));
        for object in &mut objects {
            if let Some(annotations) = object["metadata"]["annotations"].as_object_mut() {
                annotations.remove("redis-sentinel-gen/instance");
            }
            // kpt drops its own path and index annotations, which can leave none.
            let metadata = object["metadata"].as_object_mut();
            if let Some(metadata) = metadata
                && metadata.get("annotations").is_none_or(|a| {
                    a.is_null() || a.as_object().is_some_and(serde_json::Map::is_empty)
                })
            {
                metadata.remove("annotations");
            }
        }
        objects
    };
    let through_kpt = objects(&generated);
    let from_render = objects(&String::from_utf8_lossy(&rendered.stdout));
    assert_eq!(through_kpt.len(), from_render.len());
    for (ours, render) in through_kpt.iter().zip(&from_render) {
        assert!(
            ours == render,
            "{} {} through kpt differs from render's",
            ours["kind"],
            ours["metadata"]["name"]
        );
    }
    assert!(
        through_kpt
            .iter()
            .all(|o| o["metadata"]["namespace"] == "no")
    );
    for needle in ["sentinel monitor on ", "appendfsync no"] {
        assert!(generated.contains(needle), "`{needle}` not in {GENERATED}");
    }

    // Invalid for `validate`, and so for kpt: the same field named.
    for (change, field) in [
        ("spec:\n", "spec:\n  development: yes\n", "spec.development"),
        ("spec:\n", "spec:\n  <<: {image: redis:7.2.5}\n", "spec.<<"),
        (
            "  sentinel:\n",
            "  sentinel:\n    parallelSyncs: -0\n",
            "spec.sentinel.parallelSyncs",
        ),
    ]
    .map(|(from, to, field)| ((from, to), field))
    {
        let package = root.join(field.replace(['<', '.'], "_"));
        let profile = support::replace_once(&reference, change.0, change.1);
        write(&package.join("profile.yaml"), &profile);
        let validate = Command::new(BIN)
            .arg("validate")
            .arg(package.join("profile.yaml"))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            validate.status.code(),
            Some(1),
            "{field}: {}",
            text(&validate)
        );
        let before = read_tree(&package);
        let output = kpt_eval(&kpt, &package, BIN);
        let said = text(&output);
        assert!(
            !output.status.success(),
            "{field}: kpt accepted it:\n{said}"
        );
        let validate_fields: Vec<String> = findings(&String::from_utf8_lossy(&validate.stderr));
        assert!(
            validate_fields.iter().any(|f| said.contains(
                f.lines()
                    .next()
                    .unwrap_or("-")
                    .trim_start_matches("error: ")
            )),
            "{field}: kpt's report lacks validate's finding\nvalidate: {validate_fields:?}\nkpt:\n{said}"
        );
        assert_eq!(before, read_tree(&package), "{field}: the package changed");
    }
    let _ = std::fs::remove_dir_all(&root);
}
