//! The defaults of the profile's JSON Schema, written from the table of defaults
//! ([`stated_defaults`]): a value as the standard `default` keyword (what editors offer
//! and `explain` shows), a default computed from other fields as the rule in words under
//! [`DEFAULT_RULE`]. The spec types' documentation states no default of its own, so the field
//! reference cannot disagree with what `resolve` does.

use serde_json::Value;

use crate::profile::defaults::{Stated, stated_defaults};
use crate::profile::schema::at_pointer;

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
        at_pointer(schema, &property)?;
        pointer = property;
    }
    Some(pointer)
}

/// The pointer of the object schema (one with `properties`) that the schema at `pointer`
/// stands for: through `$ref`, an `Option`'s `anyOf` with null, and list items.
fn object_pointer(schema: &Value, pointer: String) -> Option<String> {
    let node = at_pointer(schema, &pointer)?;
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

/// The default value of field `name` (schema `field`) that the profile's table states: its own
/// `default`, else its part of the default of the field above it (`size` of the
/// `spec.redis.storage` default).
pub(crate) fn default_below<'a>(
    field: &'a Value,
    above: Option<&'a Value>,
    name: &str,
) -> Option<&'a Value> {
    field
        .get("default")
        .or_else(|| above.and_then(|d| d.get(name)))
}

/// The default of a field as the reference states it (`5000`, `` `redis-auth` ``, a rule in
/// words), given its value default `value` (see [`default_below`]). None for an object: the
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
    use serde_json::json;

    use super::*;
    use crate::profile::schema::{object_of, profile_schema, target};

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
