//! The pre-commit hooks of `.pre-commit-hooks.yaml`, run by real pre-commit against a scratch
//! git repository, offline (`PRE_COMMIT_HOME` in a temp dir; pre-commit builds the tool with
//! `cargo install --path .` from crates already in the cargo cache): `try-repo` of the validate
//! hook, then both hooks from a `.pre-commit-config.yaml`, as a user runs them.
//!
//! The hook repository is a git copy of this working tree (tracked and new files, committed
//! in a temp dir), so the hooks tested are the ones in the tree, committed or not.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(dir: &Path, program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn git(git: &Path, dir: &Path, args: &[&str]) -> String {
    let output = Command::new(git)
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    assert!(output.status.success(), "git {args:?}: {}", said(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Commit a copy of the working tree (tracked and untracked, ignored files left out) into a
/// fresh repository at `dest`; returns the commit.
fn hook_repository(git_bin: &Path, dest: &Path) -> String {
    let root = support::repo_root();
    let listing = git(
        git_bin,
        &root,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    );
    for relative in listing.split('\0').filter(|f| !f.is_empty()) {
        let from = root.join(relative);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = dest.join(relative);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {relative}: {e}"));
    }
    git(git_bin, dest, &["init", "-q"]);
    git(git_bin, dest, &["add", "-A"]);
    git(git_bin, dest, &["commit", "-q", "-m", "hooks under test"]);
    git(git_bin, dest, &["rev-parse", "HEAD"])
        .trim()
        .to_string()
}

struct PreCommit {
    tool: PathBuf,
    home: PathBuf,
}

impl PreCommit {
    fn run(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(&self.tool)
            .args(args)
            .current_dir(dir)
            .env("PRE_COMMIT_HOME", &self.home)
            .env("CARGO_NET_OFFLINE", "true")
            // The hook's release build is kept between test runs; pre-commit's own
            // environments (PRE_COMMIT_HOME) are not.
            .env(
                "CARGO_TARGET_DIR",
                support::repo_root().join("target").join("pre-commit-hook"),
            )
            .env_remove("PRE_COMMIT_ALLOW_NO_CONFIG")
            .output()
            .unwrap_or_else(|e| panic!("cannot run pre-commit: {e}"))
    }
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

#[test]
fn validate_and_check_hooks_under_pre_commit() {
    let _turn = support::heavy_turn();
    let Some(tool) = support::require_tool("pre-commit") else {
        return;
    };
    let Some(git_bin) = support::require_tool("git") else {
        return;
    };
    let temp = std::env::temp_dir().join(format!("rsg-pre-commit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    let hooks = temp.join("hooks");
    let work = temp.join("work");
    std::fs::create_dir_all(&hooks).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let rev = hook_repository(&git_bin, &hooks);
    let pre_commit = PreCommit {
        tool,
        home: temp.join("pre-commit-home"),
    };
    let hooks_arg = hooks.display().to_string();

    // validate: one valid and one invalid profile.
    let reference = std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    git(&git_bin, &work, &["init", "-q"]);
    write(&work.join("profiles/good.yaml"), &reference);
    write(
        &work.join("profiles/bad.yaml"),
        &support::replace_once(&reference, "quorum: 2", "quorum: 1"),
    );
    write(&work.join("notes.yaml"), "not: a profile\n");
    git(&git_bin, &work, &["add", "-A"]);
    let tried = pre_commit.run(
        &work,
        &[
            "try-repo",
            &hooks_arg,
            "redis-sentinel-gen-validate",
            "--ref",
            &rev,
            "--all-files",
            "--verbose",
        ],
    );
    let output = said(&tried);
    assert_eq!(tried.status.code(), Some(1), "{output}");
    for needle in [
        "error: quorum must be the majority of 3 Sentinels",
        "--> profiles/bad.yaml:",
        "= field: spec.sentinel.quorum",
        "error: 2 files checked, 1 invalid",
    ] {
        assert!(output.contains(needle), "`{needle}` not in\n{output}");
    }
    // The hook selects profiles only: notes.yaml was not passed.
    assert!(!output.contains("notes.yaml"), "{output}");

    // From here on the hooks come from a config, as a user has them (try-repo builds the tool
    // afresh in a throw-away store on every call, and cannot pass `args`).
    write(
        &work.join(".pre-commit-config.yaml"),
        &format!(
            "repos:\n  - repo: {hooks_arg}\n    rev: {rev}\n    hooks:\n      \
             - id: redis-sentinel-gen-validate\n      \
             - id: redis-sentinel-gen-check\n        \
             args: [profiles/good.yaml, --out, deploy]\n"
        ),
    );
    let installed = pre_commit.run(&work, &["install-hooks"]);
    assert!(installed.status.success(), "{}", said(&installed));
    let hook = |id: &str| pre_commit.run(&work, &["run", id, "--all-files", "--verbose"]);

    write(&work.join("profiles/bad.yaml"), &reference);
    git(&git_bin, &work, &["add", "-A"]);
    let fixed = hook("redis-sentinel-gen-validate");
    assert_eq!(fixed.status.code(), Some(0), "{}", said(&fixed));

    // check: rendered output committed next to the profile, then the profile is edited.
    // Rendered with the binary pre-commit built from the hook repository, as a user's `render`
    // and the hook would be the same version (the tree under test may change while this runs).
    let hook_bin = built_by_pre_commit(&pre_commit.home);
    let render = || {
        let output = run(
            &work,
            &hook_bin,
            &["render", "profiles/good.yaml", "--out", "deploy"],
        );
        assert!(output.status.success(), "{}", said(&output));
        git(&git_bin, &work, &["add", "-A"]);
    };
    let check = || hook("redis-sentinel-gen-check");
    render();
    let fresh = check();
    assert_eq!(fresh.status.code(), Some(0), "{}", said(&fresh));

    write(
        &work.join("profiles/good.yaml"),
        &support::replace_once(
            &reference,
            "downAfterMilliseconds: 5000",
            "downAfterMilliseconds: 6000",
        ),
    );
    git(&git_bin, &work, &["add", "-A"]);
    let stale = check();
    let output = said(&stale);
    assert_eq!(stale.status.code(), Some(1), "{output}");
    for needle in [
        "+++ b/deploy/redis-sentinel.yaml",
        "sentinel down-after-milliseconds welcomebot-master 6000",
        "render profiles/good.yaml --out deploy",
    ] {
        assert!(output.contains(needle), "`{needle}` not in\n{output}");
    }
    // The fix command works where the hook ran: pre-commit's environment is not on PATH, so
    // it names the binary the hook ran, and running it exactly as printed fixes the tree.
    let fix = output
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("fix: "))
        .unwrap_or_else(|| panic!("no fix line in\n{output}"));
    let words: Vec<&str> = fix.split(' ').collect();
    assert_eq!(
        words.get(1..),
        Some(&["render", "profiles/good.yaml", "--out", "deploy"][..]),
        "{fix}"
    );
    let fixed = run(&work, Path::new(words[0]), &words[1..]);
    assert!(fixed.status.success(), "`{fix}` failed: {}", said(&fixed));
    git(&git_bin, &work, &["add", "-A"]);
    let rerendered = check();
    assert_eq!(rerendered.status.code(), Some(0), "{}", said(&rerendered));

    readme_example_installs_and_runs(&pre_commit, &git_bin, &temp, &hooks_arg, &rev, &hook_bin);
    let _ = std::fs::remove_dir_all(&temp);
}

/// The documented `.pre-commit-config.yaml` example (docs/integrations.md), as written (only the repository's address
/// and commit replaced by the local copy's), with `pre-commit install` and plain `git commit`:
/// its `rev` must be a commit of this repository that has both hooks; a commit with fresh
/// output passes, a commit with a hand-edited generated file fails.
/// Where the user guide shows the pre-commit set-up.
const DOC_WITH_EXAMPLE: &str = "docs/integrations.md";

fn readme_example_installs_and_runs(
    pre_commit: &PreCommit,
    git_bin: &Path,
    temp: &Path,
    hooks_arg: &str,
    rev: &str,
    hook_bin: &Path,
) {
    let root = support::repo_root();
    let readme = std::fs::read_to_string(root.join(DOC_WITH_EXAMPLE))
        .unwrap_or_else(|e| panic!("{DOC_WITH_EXAMPLE}: {e}"));
    let start = readme
        .find("```yaml\nrepos:\n  - repo: https://example.com/redis-sentinel-gen")
        .unwrap_or_else(|| panic!("no pre-commit example in {DOC_WITH_EXAMPLE}"));
    let block = &readme[start + "```yaml\n".len()..];
    let block = &block[..block.find("```").unwrap_or(block.len())];
    let readme_rev = block
        .lines()
        .find_map(|line| line.trim().strip_prefix("rev: "))
        .unwrap_or_else(|| panic!("no rev in the README example"))
        .trim();
    let hooks_at_rev = git(
        git_bin,
        &root,
        &["show", &format!("{readme_rev}:.pre-commit-hooks.yaml")],
    );
    for id in ["redis-sentinel-gen-validate", "redis-sentinel-gen-check"] {
        assert!(
            hooks_at_rev.contains(&format!("- id: {id}\n")),
            "the README's rev {readme_rev} has no hook {id}"
        );
    }
    let config = block
        .replace("https://example.com/redis-sentinel-gen", hooks_arg)
        .replace(readme_rev, rev);

    let work = temp.join("readme-work");
    git(git_bin, temp, &["init", "-q", "readme-work"]);
    let reference = std::fs::read_to_string(root.join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    write(&work.join("profiles/shop.yaml"), &reference);
    write(&work.join(".pre-commit-config.yaml"), &config);
    let rendered = run(
        &work,
        hook_bin,
        &["render", "profiles/shop.yaml", "--out", "deploy/redis"],
    );
    assert!(rendered.status.success(), "{}", said(&rendered));
    let installed = pre_commit.run(&work, &["install"]);
    assert!(installed.status.success(), "{}", said(&installed));
    let commit = |message: &str| {
        git(git_bin, &work, &["add", "-A"]);
        Command::new(git_bin)
            .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
            .args(["-c", "commit.gpgsign=false", "commit", "-q", "-m", message])
            .current_dir(&work)
            .env("PRE_COMMIT_HOME", &pre_commit.home)
            .env("CARGO_NET_OFFLINE", "true")
            .env(
                "CARGO_TARGET_DIR",
                support::repo_root().join("target").join("pre-commit-hook"),
            )
            .output()
            .unwrap_or_else(|e| panic!("cannot run git commit: {e}"))
    };
    let first = commit("deployment");
    assert!(
        first.status.success(),
        "the README example failed:\n{}",
        said(&first)
    );
    // A hand-edit of any generated file fails the next commit, Markdown and scripts included
    // (the hook once looked at YAML files only).
    for generated in ["RUNBOOK.md", "migration/migrate.sh"] {
        let path = work.join("deploy/redis").join(generated);
        let edited = format!(
            "{}\nhand-edited\n",
            std::fs::read_to_string(&path).unwrap_or_default()
        );
        write(&path, &edited);
        let refused = commit("hand edit");
        let output = said(&refused);
        assert!(
            !refused.status.success(),
            "a hand-edited {generated} was committed:\n{output}"
        );
        assert!(output.contains(generated), "{output}");
        let restored = run(
            &work,
            hook_bin,
            &["render", "profiles/shop.yaml", "--out", "deploy/redis"],
        );
        assert!(restored.status.success(), "{}", said(&restored));
    }
}

/// The `redis-sentinel-gen` pre-commit installed into its environment under `home`.
fn built_by_pre_commit(home: &Path) -> PathBuf {
    fn find(dir: &Path) -> Option<PathBuf> {
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if let Some(found) = find(&path) {
                    return Some(found);
                }
            } else if path.file_name().is_some_and(|n| n == "redis-sentinel-gen")
                && path.parent().is_some_and(|p| p.ends_with("bin"))
            {
                return Some(path);
            }
        }
        None
    }
    find(home).unwrap_or_else(|| {
        panic!(
            "pre-commit built no redis-sentinel-gen under {}",
            home.display()
        )
    })
}
