//! The legacy kustomize exec plugin, proven with real `kubectl kustomize --enable-alpha-plugins`:
//! `install-kustomize-plugin` sets up the symlink in a private XDG config directory, and a
//! kustomization that lists a profile under `generators:` builds to exactly the objects
//! `render` prints for that profile.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");

struct Setup {
    root: PathBuf,
    xdg: PathBuf,
    kustomization: PathBuf,
}

/// A temp dir with the plugin installed under `xdg/` and a kustomization in `k/` generating
/// from `profile` (copied in as `profile.yaml`).
fn setup(name: &str, profile: &str) -> Setup {
    let root = std::env::temp_dir().join(format!("rsg-kustomize-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let xdg = root.join("xdg");
    let kustomization = root.join("k");
    std::fs::create_dir_all(&kustomization).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(kustomization.join("profile.yaml"), profile).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        kustomization.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ngenerators:\n  - profile.yaml\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    support::run_ok(
        Command::new(BIN)
            .args(["install-kustomize-plugin", "--dir"])
            .arg(&xdg),
    );
    Setup {
        root,
        xdg,
        kustomization,
    }
}

fn kustomize(kubectl: &Path, setup: &Setup) -> Output {
    Command::new(kubectl)
        .args(["kustomize", "--enable-alpha-plugins"])
        .arg(&setup.kustomization)
        .env("XDG_CONFIG_HOME", &setup.xdg)
        .env_remove("KUSTOMIZE_PLUGIN_HOME")
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubectl: {e}"))
}

/// Objects of a YAML stream, sorted by kind and name (kustomize orders them its own way).
fn objects(stream: &str) -> Vec<Value> {
    let mut docs: Vec<Value> =
        serde_saphyr::from_multiple(stream).unwrap_or_else(|e| panic!("not YAML: {e}\n{stream}"));
    docs.sort_by_key(|d| {
        (
            d["kind"].as_str().unwrap_or_default().to_string(),
            d["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    });
    docs
}

#[test]
fn install_creates_the_symlink_kustomize_looks_for() {
    let setup = setup("link", "unused: true\n");
    let link = setup
        .xdg
        .join("kustomize/plugin/redis-sentinel-gen/v1alpha1/redissentinel/RedisSentinel");
    let target = std::fs::read_link(&link)
        .unwrap_or_else(|e| panic!("no symlink at {}: {e}", link.display()));
    let bin = Path::new(BIN)
        .canonicalize()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(target, bin);
    // Installing again replaces the link instead of failing.
    let again = Command::new(BIN)
        .args(["install-kustomize-plugin", "--dir"])
        .arg(&setup.xdg)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let _ = std::fs::remove_dir_all(&setup.root);
}

#[test]
fn kubectl_kustomize_builds_what_render_prints() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    for profile in support::shipped_profiles() {
        let text = std::fs::read_to_string(&profile).unwrap_or_else(|e| panic!("{e}"));
        let name = profile
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let setup = setup(&name, &text);
        let built = kustomize(&kubectl, &setup);
        assert!(
            built.status.success(),
            "kubectl kustomize failed for {name}:\n{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let rendered = Command::new(BIN)
            .args(["render", "profile.yaml"])
            .current_dir(&setup.kustomization)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            rendered.status.success(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        let built = objects(&String::from_utf8_lossy(&built.stdout));
        let rendered = objects(&String::from_utf8_lossy(&rendered.stdout));
        // At least the ten core objects; monitoring, policies and backups add more.
        assert!(built.len() >= 10, "{name}: {} objects", built.len());
        if built != rendered {
            let pretty = |v: &[Value]| serde_json::to_string_pretty(v).unwrap_or_default();
            let diff = similar::TextDiff::from_lines(&pretty(&rendered), &pretty(&built))
                .unified_diff()
                .header("render", "kubectl kustomize")
                .to_string();
            panic!("{name}: kustomize output differs from render:\n{diff}");
        }
        let _ = std::fs::remove_dir_all(&setup.root);
    }
}

#[test]
fn kubectl_kustomize_fails_on_an_invalid_profile_with_the_finding() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    let shipped = std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = support::replace_once(&shipped, "quorum: 2", "quorum: 1");
    let setup = setup("invalid", &text);
    let built = kustomize(&kubectl, &setup);
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(
        !built.status.success(),
        "kustomize accepted an invalid profile"
    );
    for needle in [
        "quorum must be the majority",
        "--> profile.yaml:",
        "spec.sentinel.quorum",
    ] {
        assert!(stderr.contains(needle), "`{needle}` not in\n{stderr}");
    }
    let _ = std::fs::remove_dir_all(&setup.root);
}
