//! The KRM function in a package no one here wrote (DESIGN §4.3): with real kpt, every item
//! the function does not own comes back as a pass-through function (`cat`) would return it,
//! at any size; the functionConfig is read exactly like the CLI reads a profile; an object
//! with a generated object's name that the function does not own stops the run.

use crate::support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");
const GENERATED: &str = "redis-sentinel.yaml";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsg-lossless-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
                files.insert(relative, text);
            }
        }
    }
    files
}

fn copy_tree(from: &Path, to: &Path) {
    for (relative, text) in read_tree(from) {
        write(&to.join(relative), &text);
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `kpt fn eval PACKAGE --exec EXEC --fn-config PACKAGE/profile.yaml`.
fn kpt_eval(kpt: &Path, package: &Path, exec: &str) -> Output {
    let config = package.join("profile.yaml");
    Command::new(kpt)
        .args(["fn", "eval"])
        .arg(package)
        .args(["--exec", exec, "--fn-config"])
        .arg(&config)
        .output()
        .unwrap_or_else(|e| panic!("cannot run kpt: {e}"))
}

/// A function that returns its input unchanged: what kpt writes after it is what kpt itself
/// makes of the package, the reference for every item the real function does not own.
fn pass_through(dir: &Path) -> String {
    let script = dir.join("pass-through.sh");
    write(&script, "#!/bin/sh\nexec cat\n");
    let _ = Command::new("chmod").arg("+x").arg(&script).status();
    script.display().to_string()
}

/// `kpt fn render PACKAGE --allow-exec` with a Kptfile whose pipeline runs `exec` on the
/// package's profile.
fn kpt_render(kpt: &Path, package: &Path, exec: &str) -> Output {
    write(
        &package.join("Kptfile"),
        &format!(
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: package\n  annotations:\n    \
             config.kubernetes.io/local-config: \"true\"\npipeline:\n  mutators:\n    \
             - exec: {exec}\n      configPath: profile.yaml\n"
        ),
    );
    Command::new(kpt)
        .args(["fn", "render"])
        .arg(package)
        .arg("--allow-exec")
        .output()
        .unwrap_or_else(|e| panic!("cannot run kpt: {e}"))
}

/// How kpt runs the function.
#[derive(Clone, Copy)]
enum Kpt {
    Eval,
    Render,
}

/// Run the function and the pass-through on two copies of `package` with kpt fn eval; every
/// file but `skip` (and the generated file) must come out the same.
fn assert_carried_like_pass_through(kpt: &Path, package: &Path, skip: &[&str]) -> Output {
    carried_like_pass_through(kpt, Kpt::Eval, package, skip)
}

fn carried_like_pass_through(kpt: &Path, how: Kpt, package: &Path, skip: &[&str]) -> Output {
    let root = package.parent().unwrap_or(package);
    let (ours, reference) = match how {
        Kpt::Eval => (root.join("ours"), root.join("reference")),
        Kpt::Render => (root.join("ours-render"), root.join("reference-render")),
    };
    copy_tree(package, &ours);
    copy_tree(package, &reference);
    let cat_exec = pass_through(root);
    let (output, cat) = match how {
        Kpt::Eval => (
            kpt_eval(kpt, &ours, BIN),
            kpt_eval(kpt, &reference, &cat_exec),
        ),
        Kpt::Render => (
            kpt_render(kpt, &ours, BIN),
            kpt_render(kpt, &reference, &cat_exec),
        ),
    };
    assert!(output.status.success(), "kpt failed:\n{}", text(&output));
    assert!(cat.status.success(), "pass-through failed:\n{}", text(&cat));
    let mut after = read_tree(&ours);
    let mut expected = read_tree(&reference);
    assert!(
        after.remove(GENERATED).is_some(),
        "no {GENERATED} generated"
    );
    for name in skip {
        after.remove(*name);
        expected.remove(*name);
    }
    for (name, want) in &expected {
        let got = after.get(name).map_or("(missing)", String::as_str);
        if got != want {
            let diff = similar::TextDiff::from_lines(want.as_str(), got)
                .unified_diff()
                .header(&format!("pass-through/{name}"), &format!("function/{name}"))
                .to_string();
            panic!("{name} differs from what a pass-through function returns:\n{diff}");
        }
    }
    assert_eq!(after.len(), expected.len(), "{:?}", after.keys());
    output
}

fn profile_text() -> String {
    std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Everything the issue found rewritten, in items the function does not own.
const ODD: &str = "\
# a comment above
apiVersion: v1
kind: ConfigMap
metadata:
  name: odd # a trailing comment
  namespace: welcomebot
data:
  y: \"2\"
  on: \"enabled\"
---
apiVersion: example.com/v1
kind: Thing
metadata:
  name: thing
spec:
  mode: off
  big: 12345678901234567890123
  version: 1.10
  inf: .inf
  nan: .nan
  bin: !!binary aGVsbG8=
  custom: !Custom thing
  base: &b {a: 1}
  ref: *b
  octal: 0777
  when: 2024-01-01
";

const APP: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: welcomebot-master
  namespace: welcomebot
spec:
  template:
    spec:
      containers:
        - name: welcomebot-master
          image: example.com/welcomebot:1.4.2
          args: [--mode, off, '1.10']
          env:
            - name: REDIS_ADDR
              value: redis-service:6379
            - name: FEATURE
              value: \"on\"
";

#[test]
fn kpt_gets_foreign_items_back_as_a_pass_through_returns_them() {
    let Some(kpt) = support::require_tool("kpt") else {
        return;
    };
    let root = scratch("odd");
    let package = root.join("package");
    write(&package.join("profile.yaml"), &profile_text());
    write(&package.join("odd.yaml"), ODD);
    write(&package.join("app.yaml"), APP);
    assert_carried_like_pass_through(&kpt, &package, &["app.yaml"]);

    let odd = std::fs::read_to_string(root.join("ours/odd.yaml")).unwrap_or_default();
    for kept in [
        "  y: \"2\"\n  on: \"enabled\"\n",
        "mode: off\n",
        "big: 12345678901234567890123\n",
        "version: 1.10\n",
        "inf: .inf\n",
        "bin: !!binary aGVsbG8=\n",
        "custom: !Custom thing\n",
        "base: &b {a: 1}\n  ref: *b\n",
        "name: odd # a trailing comment\n",
    ] {
        assert!(odd.contains(kept), "`{kept}` lost:\n{odd}");
    }
    // The switched client keeps what the switch does not touch, with its YAML 1.2 meaning.
    let app = std::fs::read_to_string(root.join("ours/app.yaml")).unwrap_or_default();
    let values: serde_json::Value =
        serde_saphyr::from_str(&app).unwrap_or_else(|e| panic!("{e}\n{app}"));
    let container = &values["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["args"],
        serde_json::json!(["--mode", "off", "1.10"]),
        "{app}"
    );
    let env = container["env"].as_array().cloned().unwrap_or_default();
    assert!(
        env.iter()
            .any(|e| e["name"] == "FEATURE" && e["value"] == "on"),
        "{app}"
    );
    assert!(!app.contains("REDIS_ADDR"), "{app}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn kpt_carries_ten_thousand_items_and_a_deeply_nested_crd() {
    let Some(kpt) = support::require_tool("kpt") else {
        return;
    };
    let _turn = support::heavy_turn();
    let root = scratch("large");
    let package = root.join("package");
    write(&package.join("profile.yaml"), &profile_text());
    let mut many = String::new();
    for index in 0..10_000 {
        let _ = write!(
            many,
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{index}\ndata:\n  \
             n: {index}\n  on: off\n"
        );
    }
    write(&package.join("many.yaml"), &many);
    // A CRD schema nested 150 levels deep (the packages failed beyond 64).
    let mut crd = String::from(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
         name: deeps.example.com\nspec:\n  schema:\n",
    );
    for level in 0..150 {
        let pad = "  ".repeat(level + 2);
        let _ = write!(crd, "{pad}properties:\n{pad}  level{level}:\n");
    }
    let _ = writeln!(crd, "{}type: string", "  ".repeat(152));
    write(&package.join("crd.yaml"), &crd);
    for how in [Kpt::Eval, Kpt::Render] {
        let started = std::time::Instant::now();
        // The Kptfiles differ by the function they name.
        carried_like_pass_through(&kpt, how, &package, &["Kptfile"]);
        eprintln!(
            "10,000 items + deep CRD through kpt fn {} (function and pass-through): {:?}",
            match how {
                Kpt::Eval => "eval",
                Kpt::Render => "render",
            },
            started.elapsed()
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}

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

#[test]
fn kpt_refuses_to_overwrite_an_object_the_function_does_not_own() {
    let Some(kpt) = support::require_tool("kpt") else {
        return;
    };
    let root = scratch("namesake");
    let package = root.join("package");
    write(&package.join("profile.yaml"), &profile_text());
    let theirs = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: redis-sentinel\n  \
                  namespace: welcomebot\nspec:\n  replicas: 1 # hand-written\n";
    write(&package.join("theirs.yaml"), theirs);
    let before = read_tree(&package);
    let output = kpt_eval(&kpt, &package, BIN);
    let said = text(&output);
    assert!(!output.status.success(), "kpt accepted it:\n{said}");
    for needle in [
        "StatefulSet welcomebot/redis-sentinel in theirs.yaml",
        "from profile.yaml",
        "not generated by redis-sentinel-gen",
    ] {
        assert!(said.contains(needle), "`{needle}` not in:\n{said}");
    }
    assert_eq!(before, read_tree(&package), "the package changed");
    let _ = std::fs::remove_dir_all(&root);
}
