//! Golden tests of `redis-sentinel.yaml`: one snapshot per profile (shipped and edge cases),
//! each parsed back into typed Kubernetes objects, re-serialized byte for byte, and checked
//! against the invariants of DESIGN §4.1, each a named rule (`broken_rules`), so a failure says
//! which rule broke.

//!
//! Here: the snapshots. The stream parsed back is in `manifest`, the named rules in `rules`
//! (those of every Redis and Sentinel pod in `pod`).

mod manifest;
mod pod;
mod rules;

use crate::support;

use std::path::Path;

use redis_sentinel_gen::render::redis_sentinel_yaml;
use redis_sentinel_gen::resolve::Deployment;

use manifest::Manifest;
use rules::broken_rules;

fn render(path: &Path) -> (Deployment, String) {
    let dep = support::resolve_profile(path);
    let rendered = redis_sentinel_yaml(&dep)
        .unwrap_or_else(|e| panic!("{} does not render: {e:#}", path.display()));
    (dep, rendered)
}

fn golden(pattern_name: &str, path: &Path) {
    let (dep, rendered) = render(path);
    // Determinism: a second load + render from scratch gives the same bytes.
    let (_, again) = render(path);
    assert_eq!(rendered, again, "two renders of {} differ", path.display());

    insta::assert_snapshot!(pattern_name, rendered);

    let manifest = Manifest::parse(&rendered);
    assert_eq!(
        manifest.reserialize(),
        rendered,
        "parsed objects do not re-serialize to the same bytes"
    );
    // The bytes are serde-saphyr's own: the render's YAML writer (render/emitter.rs) must
    // never drift from the library whose parser reads them back.
    assert_eq!(
        manifest.reserialize_by_serde_saphyr(),
        rendered,
        "serde-saphyr writes the parsed objects differently from the render"
    );
    let broken = broken_rules(&dep, &manifest);
    assert!(
        broken.is_empty(),
        "{} breaks {} rule(s):\n{}",
        path.display(),
        broken.len(),
        broken.join("\n")
    );
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../../golden/manifests");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn shipped_profiles() {
    snapshot_settings().bind(|| {
        insta::glob!("../../../profiles", "*.yaml", |path| golden(
            "shipped", path
        ));
    });
}

#[test]
fn edge_case_profiles() {
    snapshot_settings().bind(|| {
        insta::glob!("../../profiles", "*.yaml", |path| golden("edge", path));
    });
}
