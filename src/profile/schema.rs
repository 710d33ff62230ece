//! The profile's JSON Schema (draft-07, what yaml-language-server and check-jsonschema read).
//! The structural check of `shape` walks this same schema (its structural part, see
//! [`structural_schema`]), so the editor and the tool can never disagree about which keys and
//! types a profile may have.

use std::sync::LazyLock;

use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::profile::spec::Profile;
use crate::profile::{schema_defaults, schema_rules};

/// The draft-07 schema of [`Profile`].
pub fn profile_schema() -> Value {
    let mut schema = derived_schema();
    schema_rules::apply(&mut schema);
    schema
}

/// What schemars derives from the spec types, with every field's default from the table of
/// defaults ([`schema_defaults`]), before [`schema_rules`].
fn derived_schema() -> Value {
    let mut schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Profile>()
        .to_value();
    schema_defaults::apply(&mut schema);
    schema
}

/// The part of [`profile_schema`] the structural check walks: the derived types, ranges,
/// lengths, descriptions and defaults plus the identity constants, without the patterns and cross-field
/// rules (most of the schema's size, and most of the time of building it). Built once per
/// process: `validate` of many files walks it once per file.
pub fn structural_schema() -> &'static Value {
    static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
        let mut schema = derived_schema();
        schema_rules::apply_structural(&mut schema);
        schema
    });
    &SCHEMA
}

/// The schema as committed in `schema/redis-sentinel.schema.json`: pretty JSON, newline-ended.
pub fn profile_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&profile_schema())
        .unwrap_or_else(|e| unreachable!("a JSON value always serializes: {e}"));
    text.push('\n');
    text
}

/// Follow `$ref` and the `allOf` / `anyOf` / `oneOf` wrappers that optional fields get, down
/// to the schema that is not null.
pub(crate) fn target<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/definitions/");
        if let Some(definition) = root["definitions"].get(name) {
            return target(root, definition);
        }
    }
    // A node with fields of its own is the target, whatever rules (`allOf` of if/then) it
    // adds; only a bare wrapper around one real schema is looked through.
    if node.get("properties").is_some() {
        return node;
    }
    for wrapper in ["allOf", "anyOf"] {
        if let Some(branches) = node.get(wrapper).and_then(Value::as_array) {
            let real: Vec<&Value> = branches.iter().filter(|b| !is_null_type(b)).collect();
            if let [only] = real.as_slice() {
                return target(root, only);
            }
        }
    }
    node
}

fn is_null_type(node: &Value) -> bool {
    node.get("type").and_then(Value::as_str) == Some("null")
}

/// The object schema whose `properties` a step looks into: the node itself, or its list items.
pub(crate) fn object_of<'a>(root: &'a Value, node: &'a Value) -> Option<&'a Value> {
    let node = target(root, node);
    if node.get("properties").is_some() {
        return Some(node);
    }
    node.get("items").map(|items| target(root, items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_draft_07_and_closed() {
        let schema = profile_schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema["additionalProperties"], false);
        assert!(schema["definitions"]["Spec"].is_object(), "{schema:#}");
    }

    #[test]
    fn committed_schema_is_up_to_date() {
        let committed = include_str!("../../schema/redis-sentinel.schema.json");
        assert!(
            committed == profile_schema_json(),
            "schema/redis-sentinel.schema.json is out of date; run \
             `cargo run -- schema > schema/redis-sentinel.schema.json`"
        );
    }
}
