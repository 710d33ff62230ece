//! `render --out` owns its tree and nothing else (DESIGN §4.3), checked with the real binary
//! and real kubectl: leftovers of an earlier render are removed (and `check` names them), a
//! planted link never redirects a write, a failed render leaves the previous tree complete,
//! and an app overlay includes the tree as a directory.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsg-out-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every file under `dir` (links not followed) with its content.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(path),
                Ok(kind) if kind.is_symlink() => {
                    files.insert(relative, "(link)".into());
                }
                _ => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    files.insert(relative, text);
                }
            }
        }
    }
    files
}

/// The reference profile, and the same without `spec.migration` (the block runs to the next
/// key at its indentation).
fn profiles(dir: &Path) -> (String, String) {
    let text = std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let start = text
        .find("\n  migration:")
        .unwrap_or_else(|| panic!("no migration"));
    let rest = &text[start + 1..];
    // Cut from `migration:` to the next two-space key (or the end of the file).
    let mut without = String::from(&text[..=start]);
    let mut skipping = true;
    for line in rest.lines() {
        if skipping && line.starts_with("  migration:") {
            continue;
        }
        if skipping && (line.starts_with("    ") || line.trim().is_empty()) {
            continue;
        }
        skipping = false;
        without.push_str(line);
        without.push('\n');
    }
    let with_path = dir.join("with.yaml");
    let without_path = dir.join("without.yaml");
    std::fs::write(&with_path, &text).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&without_path, &without).unwrap_or_else(|e| panic!("{e}"));
    ("with.yaml".into(), "without.yaml".into())
}

#[test]
fn leftovers_are_removed_by_render_and_named_by_check() {
    let dir = scratch("leftovers");
    let (with, without) = profiles(&dir);
    let render = run(&["render", &with, "--out", "redis"], &dir);
    assert!(render.status.success(), "{}", said(&render));
    assert!(
        dir.join("redis/migration/2-switch/kustomization.yaml")
            .exists()
    );
    std::fs::write(dir.join("redis/NOTES.md"), "mine\n").unwrap_or_else(|e| panic!("{e}"));

    // The profile changed, the tree did not: check fails and names the leftovers.
    let check = run(&["check", &without, "--out", "redis"], &dir);
    let report = said(&check);
    assert_eq!(
        check.status.code(),
        Some(1),
        "check passed with leftovers:\n{report}"
    );
    for needle in [
        "no longer rendered",
        "migration/2-switch/kustomization.yaml",
        "migration/deployment/redis-sentinel.yaml",
        "fix: redis-sentinel-gen render without.yaml --out redis",
    ] {
        assert!(report.contains(needle), "`{needle}` not in:\n{report}");
    }

    let render = run(&["render", &without, "--out", "redis"], &dir);
    assert!(render.status.success(), "{}", said(&render));
    assert!(
        !dir.join("redis/migration").exists(),
        "migration/ is still there"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("redis/NOTES.md")).unwrap_or_default(),
        "mine\n",
        "a file render never wrote was touched"
    );
    let check = run(&["check", &without, "--out", "redis"], &dir);
    assert!(check.status.success(), "{}", said(&check));

    // `render --help` names the files at the top of the tree, and they are there.
    let help = said(&run(&["render", "--help"], &dir));
    for name in [
        "redis-sentinel.yaml",
        "kustomization.yaml",
        ".redis-sentinel-gen.files",
        "RUNBOOK.md",
    ] {
        assert!(
            help.contains(name),
            "`{name}` not in render --help:\n{help}"
        );
        assert!(
            dir.join("redis").join(name).is_file(),
            "render --help promises {name}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_app_overlay_includes_the_tree_as_a_directory_with_kubectl() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    let dir = scratch("overlay");
    let (with, _) = profiles(&dir);
    let render = run(&["render", &with, "--out", "redis"], &dir);
    assert!(render.status.success(), "{}", said(&render));
    // After the migration: the app's overlay takes the deployment and the client switch.
    std::fs::create_dir_all(dir.join("app")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("app/kustomization.yaml"),
        "resources:\n  - ../redis\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let built = Command::new(&kubectl)
        .args(["kustomize", "app"])
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        built.status.success(),
        "kubectl kustomize failed:\n{}",
        said(&built)
    );
    let objects: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&built.stdout))
            .unwrap_or_else(|e| panic!("{e}"));
    let rendered: Vec<serde_json::Value> = serde_saphyr::from_multiple(
        &std::fs::read_to_string(dir.join("redis/redis-sentinel.yaml")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let names = |objects: &[serde_json::Value]| {
        let mut names: Vec<String> = objects
            .iter()
            .map(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]))
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&objects), names(&rendered));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The highest process id handed out so far: the next render gets one just above it.
fn last_pid() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or_else(std::process::id)
}

#[test]
fn links_planted_in_the_tree_never_redirect_a_write() {
    let dir = scratch("planted");
    let outside = scratch("planted-outside");
    let victim = outside.join("victim");
    let out = dir.join("redis");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    // Links at every temp name the next few hundred processes could use (a repository can
    // carry such links; process ids are handed out in order).
    let first = last_pid() + 1;
    for pid in first..first + 400 {
        for name in [
            format!(".redis-sentinel.yaml.{pid}.tmp"),
            format!(".redis-sentinel.yaml.{pid}.0.tmp"),
        ] {
            std::os::unix::fs::symlink(&victim, out.join(name)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let (with, _) = profiles(&dir);
    let render = run(&["render", &with, "--out", "redis"], &dir);
    assert!(render.status.success(), "{}", said(&render));
    assert!(
        !victim.exists(),
        "render wrote through a planted link into {}",
        victim.display()
    );
    assert!(
        std::fs::read_to_string(out.join("redis-sentinel.yaml"))
            .is_ok_and(|text| text.contains("kind: StatefulSet")),
        "the real file was not written"
    );

    // A directory of the tree replaced by a link: refused, nothing written outside.
    std::fs::remove_dir_all(out.join("clients")).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(&outside, out.join("clients")).unwrap_or_else(|e| panic!("{e}"));
    let render = run(&["render", &with, "--out", "redis"], &dir);
    assert_eq!(render.status.code(), Some(1), "{}", said(&render));
    assert!(
        said(&render).contains("is a symbolic link"),
        "{}",
        said(&render)
    );
    assert!(
        std::fs::read_dir(&outside).is_ok_and(|mut entries| entries.next().is_none()),
        "something was written outside the tree"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&outside);
}

#[test]
fn a_render_that_fails_halfway_leaves_the_previous_tree_complete() {
    let dir = scratch("halfway");
    let (with, without) = profiles(&dir);
    let render = run(&["render", &without, "--out", "redis"], &dir);
    assert!(render.status.success(), "{}", said(&render));
    let before = tree(&dir.join("redis"));
    // The next profile changes redis-sentinel.yaml (renamed early) and adds migration/,
    // where a directory stands in the way of a file renamed late.
    let changed = support::replace_once(
        &std::fs::read_to_string(dir.join(&with)).unwrap_or_default(),
        "replicas: 2",
        "replicas: 4",
    );
    std::fs::write(dir.join(&with), changed).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.join("redis/migration/migrate.sh/x"))
        .unwrap_or_else(|e| panic!("{e}"));
    let render = run(&["render", &with, "--out", "redis"], &dir);
    assert_eq!(render.status.code(), Some(1), "{}", said(&render));
    std::fs::remove_dir_all(dir.join("redis/migration")).unwrap_or_else(|e| panic!("{e}"));
    let after = tree(&dir.join("redis"));
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|name| before.get(*name) != after.get(*name))
        .collect();
    assert!(
        changed.is_empty(),
        "a failed render changed the previous tree: {changed:?}\n{}",
        said(&render)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two deployments, one directory: `check` of one profile against the tree of another says
/// so instead of printing a `render` that would replace the other deployment's files, and
/// `render` refuses to write over them. The same deployment, changed, renders as before.
#[test]
fn the_tree_of_another_deployment_is_never_written_over() {
    let dir = scratch("another-deployment");
    let (with, _) = profiles(&dir);
    let other = support::edited(
        &std::fs::read_to_string(dir.join(&with)).unwrap_or_else(|e| panic!("{e}")),
        &[("  namespace: welcomebot\n", "  namespace: shop\n")],
    );
    std::fs::write(dir.join("shop.yaml"), other).unwrap_or_else(|e| panic!("{e}"));
    let render = run(&["render", &with, "--out", "redis"], &dir);
    assert!(render.status.success(), "{}", said(&render));
    let before = tree(&dir.join("redis"));

    let check = run(&["check", "shop.yaml", "--out", "redis"], &dir);
    let report = said(&check);
    assert_eq!(check.status.code(), Some(1), "{report}");
    for needle in [
        "holds the output of another deployment",
        "namespace welcomebot",
        "from with.yaml",
    ] {
        assert!(report.contains(needle), "`{needle}` not in:\n{report}");
    }
    assert!(!report.contains("fix:"), "a fix that overwrites:\n{report}");

    let render = run(&["render", "shop.yaml", "--out", "redis"], &dir);
    let report = said(&render);
    assert_eq!(render.status.code(), Some(1), "{report}");
    assert!(
        report.contains("holds the output of another deployment"),
        "{report}"
    );
    assert_eq!(
        tree(&dir.join("redis")),
        before,
        "the other tree was touched"
    );

    // Its own directory is fine, and so is a change that keeps the deployment.
    let render = run(&["render", "shop.yaml", "--out", "shop"], &dir);
    assert!(render.status.success(), "{}", said(&render));
    let changed = support::edited(
        &std::fs::read_to_string(dir.join(&with)).unwrap_or_else(|e| panic!("{e}")),
        &[(
            "    replicas: 3\n    quorum: 2\n",
            "    replicas: 5\n    quorum: 3\n",
        )],
    );
    std::fs::write(dir.join(&with), changed).unwrap_or_else(|e| panic!("{e}"));
    let render = run(&["render", &with, "--out", "redis"], &dir);
    assert!(render.status.success(), "{}", said(&render));
    let _ = std::fs::remove_dir_all(&dir);
}
