//! The defaults of the profile's JSON Schema, written from the table of defaults
//! ([`stated_defaults`]): a value as the standard `default` keyword (what editors offer
//! and `explain` shows), a default computed from other fields as the rule in words under
//! [`DEFAULT_RULE`]. The spec types' documentation states no default of its own, so the field
//! reference cannot disagree with what `resolve` does.

use serde_json::Value;

use crate::profile::defaults::{Stated, stated_defaults};

/// The keyword holding a computed default's rule. Draft-07 lets a schema carry keywords of its
/// own; validators and editors ignore them.
pub const DEFAULT_RULE: &str = "x-default-rule";

/// Write every stated default into `schema`, at the field's own property (the property of the
/// type that holds the field, so a field of a type used in several places, such as
/// `Storage.size`, takes its defaults from the field above it: `spec.redis.storage`).
pub fn apply(schema: &mut Value) {
    for (path, stated) in stated_defaults() {
        let pointer = property_pointer(schema, path)
            .unwrap_or_else(|| unreachable!("the table of defaults names {path}, not a field"));
        let property = schema
            .pointer_mut(&pointer)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| unreachable!("{pointer} is a schema object"));
        match stated {
            Stated::Value(value) => property.insert("default".into(), value),
            Stated::Rule(rule) => property.insert(DEFAULT_RULE.into(), Value::String(rule)),
        };
    }
}

/// The JSON pointer of the property schema of `path` (`spec.clients.mode`).
fn property_pointer(schema: &Value, path: &str) -> Option<String> {
    let mut pointer = String::new();
    for step in path.split('.') {
        let object = object_pointer(schema, pointer)?;
        let property = format!("{object}/properties/{step}");
        schema.pointer(&property)?;
        pointer = property;
    }
    Some(pointer)
}

/// The pointer of the object schema (one with `properties`) that the schema at `pointer`
/// stands for: through `$ref`, an `Option`'s `anyOf` with null, and list items.
fn object_pointer(schema: &Value, pointer: String) -> Option<String> {
    let node = schema.pointer(&pointer)?;
    if node.get("properties").is_some() {
        return Some(pointer);
    }
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        return object_pointer(schema, reference.trim_start_matches('#').to_string());
    }
    if node.get("items").is_some() {
        return object_pointer(schema, format!("{pointer}/items"));
    }
    for wrapper in ["allOf", "anyOf"] {
        if let Some(branches) = node.get(wrapper).and_then(Value::as_array) {
            let real: Vec<usize> = (0..branches.len())
                .filter(|&i| branches[i].get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [only] = real.as_slice() {
                return object_pointer(schema, format!("{pointer}/{wrapper}/{only}"));
            }
        }
    }
    None
}

/// The default of a field as the reference states it (`5000`, `` `redis-auth` ``, a rule in
/// words), given its value default `value` (see `explain::default_below`). None for an object: the
/// fields below it state theirs.
pub fn stated_default(field: &Value, value: Option<&Value>) -> Option<String> {
    if let Some(rule) = field.get(DEFAULT_RULE).and_then(Value::as_str) {
        return Some(rule.to_string());
    }
    match value? {
        Value::Object(_) => None,
        Value::String(s) if s.is_empty() => Some("empty".into()),
        Value::String(s) => Some(format!("`{s}`")),
        list @ Value::Array(_) => Some(format!("`{}`", flow(list))),
        other => Some(other.to_string()),
    }
}

/// A value on one line as YAML flow (`[{ changes: 1, seconds: 900 }]`).
fn flow(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", flow(v)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        other => plain(other),
    }
}

/// A JSON value as plain text (a string without its quotes).
pub fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::explain::{default_below, object_of, target};
    use crate::profile::load::{Source, load};
    use crate::profile::schema::profile_schema;
    use crate::profile::spec::Profile;
    use crate::resolve::resolve;

    /// Fields a profile may leave out that have no default value: absent means empty, the
    /// cluster's own default, or not given. Each is here on purpose; a new optional field
    /// needs a stated default in `profile::defaults::stated_defaults` or a place here.
    const WITHOUT_DEFAULT: [&str; 10] = [
        // Maps and lists: absent is empty.
        "metadata.labels",
        "metadata.annotations",
        "spec.monitoring.labels",
        "spec.networkPolicy.clientPodLabels",
        "spec.clients",
        "spec.migration.remove",
        // Kubernetes picks the cluster's default storage class.
        "spec.redis.storage.storageClassName",
        "spec.sentinel.storage.storageClassName",
        "spec.backup.storage.storageClassName",
        // An acknowledgement counts only when written.
        "spec.persistence.acknowledgeDataLossOnRestart",
    ];

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

    /// Every field a profile may leave out states its default (a value or a rule), or is one
    /// of [`WITHOUT_DEFAULT`].
    #[test]
    fn every_optional_field_states_its_default() {
        let root = profile_schema();
        let mut without = Vec::new();
        fields_without_default(&root, &root, None, "", &mut without);
        let expected: Vec<String> = WITHOUT_DEFAULT.iter().map(|p| p.to_string()).collect();
        let missing: Vec<&String> = without.iter().filter(|p| !expected.contains(p)).collect();
        let stale: Vec<&String> = expected.iter().filter(|p| !without.contains(p)).collect();
        assert!(
            missing.is_empty(),
            "optional fields with no stated default: {missing:?}; state it in \
             profile::defaults::stated_defaults (or, if absence means empty or not given, list \
             it in WITHOUT_DEFAULT)"
        );
        assert!(
            stale.is_empty(),
            "WITHOUT_DEFAULT lists fields that are required, gone or have a default: {stale:?}"
        );
    }

    /// The optional fields below `schema` (at `path`) that are values, lists or maps and state
    /// no default.
    fn fields_without_default(
        root: &Value,
        schema: &Value,
        stated: Option<&Value>,
        path: &str,
        out: &mut Vec<String>,
    ) {
        let Some(object) = object_of(root, schema) else {
            return;
        };
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = object.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (name, field) in properties {
            let field_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            let default = default_below(field, stated, name);
            let real = target(root, field);
            let is_section = real.get("properties").is_some();
            let states = default.is_some() || field.get(DEFAULT_RULE).is_some();
            if !is_section && !required.contains(&name.as_str()) && !states {
                out.push(field_path.clone());
            }
            fields_without_default(root, field, default, &field_path, out);
        }
    }

    #[test]
    fn a_field_of_a_shared_type_takes_its_default_from_the_field_above() {
        let root = profile_schema();
        let size = |section: &str| {
            let storage = &root["definitions"][section]["properties"]["storage"];
            storage["default"]["size"].clone()
        };
        assert_eq!(
            size("RedisSpec"),
            json!(crate::profile::defaults::DEFAULT_REDIS_STORAGE)
        );
        assert_eq!(
            size("SentinelSpec"),
            json!(crate::profile::defaults::DEFAULT_SENTINEL_STORAGE)
        );
        assert!(
            root["definitions"]["Storage"]["properties"]["size"]
                .get("default")
                .is_none()
        );
    }
}
