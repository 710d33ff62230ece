//! The KRM function in a package no one here wrote (DESIGN §4.3): with real kpt, every item
//! the function does not own comes back as a pass-through function (`cat`) would return it,
//! at any size; the functionConfig is read exactly like the CLI reads a profile; an object
//! with a generated object's name that the function does not own stops the run.
//!
//! Here: the package and kpt plumbing the tests share. Foreign items are in `foreign`, the
//! functionConfig in `function_config`.

mod foreign;
mod function_config;

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(super) const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");
pub(super) const GENERATED: &str = "redis-sentinel.yaml";

pub(super) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsg-lossless-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

pub(super) fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

pub(super) fn read_tree(dir: &Path) -> BTreeMap<String, String> {
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

pub(super) fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `kpt fn eval PACKAGE --exec EXEC --fn-config PACKAGE/profile.yaml`.
pub(super) fn kpt_eval(kpt: &Path, package: &Path, exec: &str) -> Output {
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
pub(super) enum Kpt {
    Eval,
    Render,
}

/// Run the function and the pass-through on two copies of `package` with kpt fn eval; every
/// file but `skip` (and the generated file) must come out the same.
pub(super) fn assert_carried_like_pass_through(
    kpt: &Path,
    package: &Path,
    skip: &[&str],
) -> Output {
    carried_like_pass_through(kpt, Kpt::Eval, package, skip)
}

pub(super) fn carried_like_pass_through(
    kpt: &Path,
    how: Kpt,
    package: &Path,
    skip: &[&str],
) -> Output {
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

pub(super) fn profile_text() -> String {
    std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"))
}
