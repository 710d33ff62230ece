//! Helpers shared by the integration tests: finding external tools (with the CI rule that a
//! missing tool is a failure, not a skip), running the built binary, and reading the
//! ConfigMaps back out of a rendered stream.
//!
//! It is the `support` module of the one test crate (tests/it/main.rs); each test module
//! reaches it with `use crate::support;` and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use k8s_openapi::api::core::v1::ConfigMap;

pub mod network_policy;

/// The repository root (where `Cargo.toml`, `profiles/` and `.venv/` live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when running under CI (`CI=true`), where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Find the external tool `name` on `PATH` or in the repository's `.venv/bin`.
///
/// Absent tool: under CI the test fails (a skipped conformance check would pass silently);
/// locally it prints a loud SKIPPED line and returns `None` so the caller can return early.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    let venv_bin = repo_root().join(".venv").join("bin");
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = path_dirs
        .into_iter()
        .chain(std::iter::once(venv_bin))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate));
    if found.is_none() {
        if in_ci() {
            panic!("required tool {name} missing in CI");
        }
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             SKIPPED: {name} not installed (run ./scripts/test.sh to install it)\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
    }
    found
}

/// Root, which the tests that start Redis in mount namespaces need. Not root: under CI the
/// test fails; elsewhere it prints a loud SKIPPED line and returns `false`.
pub fn require_root(test: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        assert!(!in_ci(), "{test} needs root in CI (mount namespaces)");
        eprintln!("\n!!!!!!!!!!\nSKIPPED: {test} needs root (mount namespaces)\n!!!!!!!!!!\n");
    }
    root
}

/// What the emulated pods of the rehearsal need (root and its tools: the library's
/// `rehearse::missing_prerequisites`, the same check `rehearse` itself makes), and the
/// `extra` tools of the test. Missing: under CI the test fails; elsewhere a loud SKIPPED line
/// and `false`.
pub fn real_redis_prerequisites(extra: &[&str]) -> bool {
    if let Some(why) = redis_sentinel_gen::rehearse::missing_prerequisites() {
        assert!(!in_ci(), "this real-Redis test must run in CI: {why}");
        eprintln!("\n!!!!!!!!!!\nSKIPPED: {why}\n!!!!!!!!!!\n");
        return false;
    }
    extra.iter().all(|tool| require_tool(tool).is_some())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// One machine, two kinds of tests that must not share it: those that start real Redis,
/// Sentinel or exporter processes (and measure failovers in milliseconds), and those that
/// keep the CPU busy for a long time (pre-commit, fuzzing, checkov, shellcheck over every
/// script, kpt over ten thousand items). As separate binaries they never ran at the same
/// time; in the one test crate they would, on parallel threads.
static MACHINE: RwLock<()> = RwLock::new(());

/// The turn of a test that starts real Redis, Sentinel or exporter processes, held until
/// dropped: no other such test and no CPU-heavy test runs meanwhile. So two of them never
/// share loopback addresses (a restarted pod moves to a new address, which can reach another
/// test's range), and the timing bounds they measure are not a measure of the load. A test
/// that panicked while holding a turn does not block the rest (the poison is ignored).
pub fn real_redis_turn() -> RwLockWriteGuard<'static, ()> {
    MACHINE
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The turn of a test that keeps the CPU busy for long: any number of them run together,
/// never during a [`real_redis_turn`].
pub fn heavy_turn() -> RwLockReadGuard<'static, ()> {
    MACHINE
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An exclusive lock on the loopback addresses of the test `name`, held until dropped: a
/// second `cargo test` on this machine waits instead of colliding on the ports.
pub fn address_lock(name: &str) -> std::fs::File {
    let path = std::env::temp_dir().join(format!("redis-sentinel-gen-{name}.lock"));
    let file = std::fs::File::create(&path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    if file.try_lock().is_err() {
        eprintln!("waiting for another run of the {name} test to finish");
        file.lock().expect("lock");
    }
    file
}

/// `text` with its one occurrence of `needle` replaced by `with`. Panics when `needle` is
/// absent or found more than once: an edit of a profile whose needle went stale (the profile
/// changed under the test) would otherwise leave the text as it was, and a test expecting
/// "no finding" or "same output" would pass without testing anything.
#[track_caller]
pub fn replace_once(text: &str, needle: &str, with: &str) -> String {
    let found = text.matches(needle).count();
    assert!(
        found == 1,
        "replace_once: {needle:?} is found {found} times, not once, in:\n{text}"
    );
    text.replacen(needle, with, 1)
}

/// `text` with each `(needle, with)` of `edits` applied in turn by [`replace_once`].
#[track_caller]
pub fn edited(text: &str, edits: &[(&str, &str)]) -> String {
    edits.iter().fold(text.to_string(), |text, (needle, with)| {
        replace_once(&text, needle, with)
    })
}

/// Every profile shipped in `profiles/`, sorted by path.
pub fn shipped_profiles() -> Vec<PathBuf> {
    profiles_in(&repo_root().join("profiles"))
}

/// Every `*.yaml` in `dir`, sorted by path; an empty directory is a broken test setup.
fn profiles_in(dir: &Path) -> Vec<PathBuf> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut profiles: Vec<PathBuf> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    profiles.sort();
    assert!(!profiles.is_empty(), "no profiles in {}", dir.display());
    profiles
}

/// Run `command` and return its output; panics with its stderr unless it succeeded.
pub fn run_ok(command: &mut Command) -> std::process::Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", command.get_program()));
    assert!(
        output.status.success(),
        "{:?} failed ({}):\n{}",
        command.get_program(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Run the built binary's `render <profile> --out <out>`; its output, whatever the exit.
pub fn render_out(profile: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_redis-sentinel-gen"))
        .arg("render")
        .arg(profile)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"))
}

/// A fresh scratch directory `rsg-<name>-<pid>` holding a copy of the files of `base` at
/// `base/`, so that an output directory `out/` beside it finds it as `../base`.
pub fn scratch_with_base(name: &str, base: &Path) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("base")).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(base).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = path.file_name().unwrap_or_default();
        std::fs::copy(&path, dir.join("base").join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

/// Run the built binary's `render <path>` and return its stdout (`redis-sentinel.yaml`).
pub fn render_profile(path: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_redis-sentinel-gen"))
        .arg("render")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"));
    assert!(
        output.status.success(),
        "redis-sentinel-gen render {} failed ({}):\n{}",
        path.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("rendered output is not UTF-8")
}

/// The files of every ConfigMap in a rendered YAML stream, as
/// (ConfigMap name, key, content), in stream order and key order.
pub fn configmap_files(rendered: &str) -> Vec<(String, String, String)> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(rendered)
        .unwrap_or_else(|e| panic!("rendered output is not a YAML stream: {e}"));
    docs.into_iter()
        .filter(|doc| doc.get("kind").and_then(|k| k.as_str()) == Some("ConfigMap"))
        .flat_map(|doc| {
            let cm: ConfigMap = serde_json::from_value(doc)
                .unwrap_or_else(|e| panic!("rendered ConfigMap does not parse: {e}"));
            let name = cm.metadata.name.unwrap_or_default();
            cm.data
                .unwrap_or_default()
                .into_iter()
                .map(move |(key, content)| (name.clone(), key, content))
        })
        .collect()
}

/// Every edge-case profile in `tests/profiles/`, sorted by path.
pub fn edge_profiles() -> Vec<PathBuf> {
    profiles_in(&repo_root().join("tests").join("profiles"))
}

/// Load, validate and resolve a profile file through the library, naming it by its path
/// relative to the repository (as the generated header does). Panics on any error finding;
/// warnings (a development profile) are allowed.
pub fn resolve_profile(path: &Path) -> redis_sentinel_gen::resolve::Deployment {
    use redis_sentinel_gen::profile::load::{self, Source};
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let name = path
        .strip_prefix(repo_root())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    let source = Source {
        name: name.clone(),
        text,
    };
    let loaded = load::load(&source)
        .unwrap_or_else(|findings| panic!("{name} does not load: {findings:#?}"));
    let errors: Vec<_> = redis_sentinel_gen::validate::validate(&loaded.profile, &loaded.map)
        .into_iter()
        .filter(|f| f.is_error())
        .collect();
    assert!(errors.is_empty(), "{name} is invalid: {errors:#?}");
    redis_sentinel_gen::resolve::resolve(&loaded.profile, &name)
}

#[test]
#[should_panic(expected = "replace_once: \"quorum: 9\" is found 0 times, not once")]
fn replace_once_refuses_a_stale_needle() {
    replace_once("sentinel:\n  quorum: 2\n", "quorum: 9", "quorum: 1");
}

#[test]
#[should_panic(expected = "replace_once: \"replicas: 2\" is found 2 times, not once")]
fn replace_once_refuses_a_needle_found_twice() {
    replace_once("replicas: 2\nreplicas: 2\n", "replicas: 2", "replicas: 4");
}

#[test]
fn replace_once_replaces_the_one_occurrence() {
    assert_eq!(
        edited("a: 1\nb: 2\n", &[("a: 1", "a: 3"), ("b: 2", "b: 4")]),
        "a: 3\nb: 4\n"
    );
}
