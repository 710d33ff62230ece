//! The profile's JSON Schema (draft-07, what yaml-language-server and check-jsonschema read).
//! The structural check of `shape` walks this same schema (its structural part, see
//! [`structural_schema`]), so the editor and the tool can never disagree about which keys and
//! types a profile may have.

use std::borrow::Cow;
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
/// lengths, descriptions and defaults plus the identity constants, without the patterns and
/// cross-field rules (most of the schema's size). It is read from `structural-schema.json`,
/// which [`structural_schema_json`] writes and a test keeps equal to it: deriving it costs
/// about half a millisecond, more than the rest of loading a profile, and it is the same in
/// every process. Parsed once per process: `validate` of many files walks it once per file.
pub fn structural_schema() -> &'static Value {
    static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
        serde_json::from_str(STRUCTURAL_SCHEMA_JSON)
            .unwrap_or_else(|e| unreachable!("structural-schema.json is JSON (tested): {e}"))
    });
    &SCHEMA
}

/// `src/profile/structural-schema.json`, as committed.
const STRUCTURAL_SCHEMA_JSON: &str = include_str!("structural-schema.json");

/// The structural schema derived from [`Profile`] now: what `structural-schema.json` must
/// hold, as pretty JSON, newline-ended.
pub fn structural_schema_json() -> String {
    let mut schema = derived_schema();
    schema_rules::apply_structural(&mut schema);
    let mut text = serde_json::to_string_pretty(&schema)
        .unwrap_or_else(|e| unreachable!("a JSON value always serializes: {e}"));
    text.push('\n');
    text
}

/// The value at the JSON pointer `pointer` (`/definitions/Spec/properties/redis`), as
/// `Value::pointer` finds it, without building a new string for every segment: loading a
/// profile follows some thousand pointers through the schema (its `$ref`s and defaults), and
/// `Value::pointer` unescapes each segment into an allocation even when it holds no `~`.
pub fn at_pointer<'v>(root: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .try_fold(root, |node, segment| {
            let segment = if segment.contains('~') {
                Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(segment)
            };
            match node {
                Value::Object(map) => map.get(segment.as_ref()),
                // RFC 6901 indices: no sign, no leading zero.
                Value::Array(items) if segment == "0" || !segment.starts_with(['0', '+']) => {
                    segment.parse::<usize>().ok().and_then(|i| items.get(i))
                }
                _ => None,
            }
        })
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
    fn at_pointer_finds_what_value_pointer_finds() {
        let schema = profile_schema();
        let value = serde_json::json!({"a/b": {"c~d": [1, {"e": 2}]}, "": 3});
        let pointers = [
            "",
            "/",
            "/a~1b",
            "/a~1b/c~0d",
            "/a~1b/c~0d/1/e",
            "/a~1b/c~0d/01",
            "/a~1b/c~0d/+1",
            "/a~1b/c~0d/2",
            "/a~1b/c~0d/x",
            "x",
            "/definitions/Spec/properties/redis",
            "/definitions/Spec/properties/nope",
            "/properties/spec/allOf/0/$ref",
        ];
        for pointer in pointers {
            for root in [&value, &schema] {
                assert_eq!(
                    at_pointer(root, pointer),
                    root.pointer(pointer),
                    "{pointer}"
                );
            }
        }
        assert!(at_pointer(&schema, "/definitions/Spec/properties/redis").is_some());
    }

    #[test]
    fn schema_is_draft_07_and_closed() {
        let schema = profile_schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema["additionalProperties"], false);
        assert!(schema["definitions"]["Spec"].is_object(), "{schema:#}");
    }

    /// `REDIS_SENTINEL_GEN_BLESS=1 cargo test --lib structural_schema` rewrites the file.
    #[test]
    fn committed_structural_schema_is_up_to_date() {
        let derived = structural_schema_json();
        if std::env::var_os("REDIS_SENTINEL_GEN_BLESS").is_some() {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/profile/structural-schema.json"
            );
            std::fs::write(path, &derived).unwrap_or_else(|e| panic!("{path}: {e}"));
            return;
        }
        assert!(
            STRUCTURAL_SCHEMA_JSON == derived,
            "src/profile/structural-schema.json is out of date with the spec types; run \
             `REDIS_SENTINEL_GEN_BLESS=1 cargo test --lib structural_schema`"
        );
        assert_eq!(
            structural_schema(),
            &serde_json::from_str::<Value>(&derived).unwrap()
        );
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
