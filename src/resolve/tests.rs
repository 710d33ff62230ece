//! `resolve` holds to the table of defaults: what the field reference states (the JSON
//! Schema's `default`s, `explain`, docs/profile-reference.md) is what `resolve` decides.

use std::path::Path;

use serde_json::{Value, json};

use super::resolve;
use crate::profile::load::{Source, load};
use crate::profile::schema::{object_of, profile_schema, target};
use crate::profile::schema_defaults::default_below;
use crate::profile::spec::Profile;

/// `profile` with every default value the schema states written out where the profile
/// leaves the field out, in every section the profile writes (a section it leaves out
/// stays out: for monitoring, network policies and backups absence means off).
fn spelled_out(root: &Value, schema: &Value, value: &mut Value, stated: Option<&Value>) {
    if let Value::Array(items) = value {
        if let Some(item_schema) = target(root, schema).get("items") {
            for item in items {
                spelled_out(root, item_schema, item, None);
            }
        }
        return;
    }
    let Some(properties) = object_of(root, schema)
        .and_then(|o| o.get("properties"))
        .and_then(Value::as_object)
    else {
        return;
    };
    let Value::Object(fields) = value else {
        return;
    };
    for (name, field) in properties {
        let default = default_below(field, stated, name);
        match fields.get_mut(name) {
            Some(written) => spelled_out(root, field, written, default),
            None => {
                if let Some(default) = default {
                    fields.insert(name.clone(), default.clone());
                }
            }
        }
    }
}

/// What `resolve` decides for `profile`, as text to compare.
fn resolved(profile: &Value) -> String {
    let profile: Profile = serde_json::from_value(profile.clone())
        .unwrap_or_else(|e| panic!("not a profile: {e}\n{profile:#}"));
    format!("{:#?}", resolve(&profile, "profile"))
}

/// Profiles that leave many fields out: the minimum with and without every section, and
/// every profile the project ships or tests with.
fn profiles() -> Vec<(String, Value)> {
    let minimum = json!({
        "apiVersion": "redis-sentinel-gen/v1alpha1",
        "kind": "RedisSentinel",
        "metadata": {"name": "shop"},
        "spec": {"masterName": "shop-master"},
    });
    let mut every_section = minimum.clone();
    every_section["spec"] = json!({
        "masterName": "shop-master",
        "auth": {},
        "redis": {},
        "persistence": {"aof": {}},
        "sentinel": {},
        "monitoring": {},
        "networkPolicy": {"clientPodLabels": {"app": "web"}},
        "backup": {},
        "clients": [{"kind": "Deployment", "name": "web", "container": "app"}],
        "migration": {"from": {"host": "redis"}},
    });
    let mut empty_parts = every_section.clone();
    for section in ["redis", "sentinel", "backup"] {
        empty_parts["spec"][section]["storage"] = json!({});
    }
    for section in ["redis", "sentinel", "monitoring"] {
        empty_parts["spec"][section]["resources"] = json!({"limits": {"memory": "1Gi"}});
    }
    let mut found = vec![
        ("the minimum".to_string(), minimum),
        ("every section, empty".to_string(), every_section),
        ("empty storage, partial resources".to_string(), empty_parts),
    ];
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["profiles", "tests/profiles"] {
        let mut files: Vec<_> = std::fs::read_dir(repo.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for file in files {
            let source = Source {
                name: file.display().to_string(),
                text: std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}")),
            };
            let loaded = load(&source).unwrap_or_else(|e| panic!("{}: {e:?}", source.name));
            let value = serde_json::to_value(&loaded.profile).unwrap_or_else(|e| panic!("{e}"));
            found.push((source.name, value));
        }
    }
    assert!(found.len() > 5, "the shipped profiles were not found");
    found
}

/// The defaults the field reference states (docs/profile-reference.md, `explain`, editors)
/// are the ones `resolve` applies: writing every stated default into a profile changes
/// nothing `resolve` decides. A default that `resolve` takes from elsewhere than the table,
/// or a table entry naming the wrong field, makes the two differ.
#[test]
fn writing_out_the_stated_defaults_changes_nothing_resolve_decides() {
    let root = profile_schema();
    for (name, profile) in profiles() {
        let mut explicit = profile.clone();
        spelled_out(&root, &root, &mut explicit, None);
        assert_ne!(explicit, profile, "{name}: no default was written");
        let (before, after) = (resolved(&profile), resolved(&explicit));
        if before != after {
            let first = before
                .lines()
                .zip(after.lines())
                .find(|(b, a)| b != a)
                .unwrap_or_default();
            panic!(
                "{name}: writing out the stated defaults changes what resolve decides: \
                 {:?} left out, {:?} with the defaults written\n{explicit:#}",
                first.0.trim(),
                first.1.trim()
            );
        }
    }
}
