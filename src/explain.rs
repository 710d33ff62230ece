//! `explain FIELD`: one field of the profile, in the manner of `kubectl explain`: its type,
//! its valid values, its meaning and default, and the fields below it. Everything comes from
//! the profile's JSON Schema, the same source as editors' hints, so the two cannot disagree.

use std::fmt::Write;

use serde_json::Value;

use crate::profile::schema::profile_schema;

/// The explanation of `path` (`spec.sentinel.quorum`, `spec.clients.name`, `spec.clients[].name`;
/// empty for the whole profile), or what is wrong with the path.
pub fn explain(path: &str) -> Result<String, String> {
    let root = profile_schema();
    let steps: Vec<&str> = path
        .split('.')
        .map(|step| step.trim_end_matches("[]"))
        .filter(|step| !step.is_empty())
        .collect();
    let mut node = &root;
    let mut walked = String::new();
    for step in &steps {
        let object = object_of(&root, node);
        let properties = object
            .and_then(|o| o.get("properties"))
            .and_then(Value::as_object);
        let Some(child) = properties.and_then(|p| p.get(*step)) else {
            let here = if walked.is_empty() {
                "the profile"
            } else {
                walked.as_str()
            };
            let known: Vec<&str> = properties
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let mut message = format!("{here} has no field `{step}`");
            if let Some(near) = nearest(step, &known) {
                let _ = write!(message, "; did you mean `{near}`?");
            }
            if !known.is_empty() {
                let _ = write!(message, "\n  fields of {here}: {}", known.join(", "));
            }
            return Err(message);
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(step);
        node = child;
    }
    Ok(describe(
        &root,
        node,
        if walked.is_empty() {
            "(the profile)"
        } else {
            &walked
        },
    ))
}

/// The closest of `known` to `wrong`, when it is close enough to be a typo.
fn nearest<'a>(wrong: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| {
            (
                strsim::osa_distance(&wrong.to_lowercase(), &k.to_lowercase()),
                *k,
            )
        })
        .filter(|(distance, _)| *distance <= 2.max(wrong.len() / 3))
        .min()
        .map(|(_, k)| k)
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
fn object_of<'a>(root: &'a Value, node: &'a Value) -> Option<&'a Value> {
    let node = target(root, node);
    if node.get("properties").is_some() {
        return Some(node);
    }
    node.get("items").map(|items| target(root, items))
}

/// `integer`, `string`, `[]Client`, `object`, `map[string]string`, one of enum values.
fn type_name(root: &Value, node: &Value) -> String {
    let real = target(root, node);
    if let Some(items) = real.get("items") {
        return format!("[]{}", type_name(root, items));
    }
    if let Some(values) = real.get("additionalProperties").filter(|v| v.is_object()) {
        return format!("map[string]{}", type_name(root, values));
    }
    if real.get("oneOf").is_some() || real.get("enum").is_some() {
        return "string".into();
    }
    let named = node
        .get("$ref")
        .or_else(|| wrapped_ref(node))
        .and_then(Value::as_str)
        .map(|r| r.trim_start_matches("#/definitions/").to_string());
    match real.get("type") {
        Some(Value::String(t)) if t == "object" => named.unwrap_or_else(|| "object".into()),
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" | "),
        _ => named.unwrap_or_else(|| "value".into()),
    }
}

fn wrapped_ref(node: &Value) -> Option<&Value> {
    ["allOf", "anyOf"]
        .iter()
        .filter_map(|w| node.get(*w).and_then(Value::as_array))
        .flatten()
        .find_map(|b| b.get("$ref"))
}

/// The valid values the schema states: enum constants, numeric bounds, a pattern.
fn valid_values(root: &Value, node: &Value) -> Vec<String> {
    let real = target(root, node);
    let mut valid = Vec::new();
    if let Some(choices) = real.get("oneOf").and_then(Value::as_array) {
        for choice in choices {
            if let Some(value) = choice.get("const") {
                let meaning = choice
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                valid.push(format!("{}  {}", plain(value), first_sentence(meaning)));
            }
        }
    }
    if let Some(values) = real.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().map(plain).collect();
        valid.push(format!("one of: {}", values.join(", ")));
    }
    if let Some(value) = real.get("const") {
        valid.push(format!("exactly: {}", plain(value)));
    }
    let bound = |key: &str| real.get(key).map(plain);
    match (bound("minimum"), bound("maximum")) {
        (Some(min), Some(max)) => valid.push(format!("from {min} to {max}")),
        (Some(min), None) => valid.push(format!("at least {min}")),
        (None, Some(max)) => valid.push(format!("at most {max}")),
        (None, None) => {}
    }
    if let Some(pattern) = real.get("pattern").and_then(Value::as_str) {
        valid.push(format!("matching the pattern {pattern}"));
    }
    if let Some(length) = real.get("maxLength") {
        valid.push(format!("at most {} characters", plain(length)));
    }
    valid
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A field's own description, else the one of the type it refers to.
pub(crate) fn description<'a>(root: &'a Value, node: &'a Value) -> Option<&'a str> {
    node.get("description")
        .or_else(|| target(root, node).get("description"))
        .and_then(Value::as_str)
}

/// The first sentence of `text`, on one line.
pub(crate) fn first_sentence(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // A sentence ends at ". ", but not inside "e.g. " or "i.e. ".
    let end = flat.match_indices(". ").map(|(i, _)| i).find(|&i| {
        let before = &flat[..=i];
        !before.ends_with("e.g.") && !before.ends_with("i.e.")
    });
    match end {
        Some(end) => flat[..=end].to_string(),
        None => flat,
    }
}

fn describe(root: &Value, node: &Value, path: &str) -> String {
    let mut out = format!("FIELD:    {path} <{}>\n", type_name(root, node));
    let text = description(root, node).unwrap_or("(no description)");
    out.push_str("\nDESCRIPTION:\n");
    for line in text.lines() {
        let _ = writeln!(out, "    {line}");
    }
    let valid = valid_values(root, node);
    if !valid.is_empty() {
        out.push_str("\nVALID:\n");
        for line in valid {
            let _ = writeln!(out, "    {line}");
        }
    }
    if let Some(properties) = object_of(root, node)
        .and_then(|o| o.get("properties"))
        .and_then(Value::as_object)
    {
        let required: Vec<&str> = object_of(root, node)
            .and_then(|o| o.get("required"))
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        out.push_str("\nFIELDS:\n");
        for (name, child) in properties {
            let mark = if required.contains(&name.as_str()) {
                " -required-"
            } else {
                ""
            };
            let _ = writeln!(out, "  {name} <{}>{mark}", type_name(root, child));
            let meaning = description(root, child).unwrap_or("");
            let _ = writeln!(out, "    {}", first_sentence(meaning));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_shows_type_meaning_and_default() {
        let text = explain("spec.sentinel.quorum").expect("a real field");
        assert!(
            text.starts_with("FIELD:    spec.sentinel.quorum <integer>"),
            "{text}"
        );
        assert!(text.contains("majority"), "{text}");
    }

    #[test]
    fn list_items_are_looked_into() {
        let text = explain("spec.clients[].container").expect("a real field");
        assert!(text.contains("spec.clients.container <string>"), "{text}");
        assert_eq!(explain("spec.clients.container"), Ok(text));
    }

    #[test]
    fn an_object_lists_its_fields() {
        let text = explain("spec.sentinel").expect("a real field");
        for field in [
            "replicas <integer>",
            "quorum <integer>",
            "resources <Resources>",
        ] {
            assert!(text.contains(field), "{field} missing:\n{text}");
        }
    }

    #[test]
    fn a_misspelt_field_gets_a_suggestion() {
        let error = explain("spec.sentinel.quorom").expect_err("no such field");
        assert!(
            error.contains("spec.sentinel has no field `quorom`"),
            "{error}"
        );
        assert!(error.contains("did you mean `quorum`?"), "{error}");
    }

    #[test]
    fn enum_values_are_listed() {
        let text = explain("spec.persistence.aof.fsync").expect("a real field");
        for value in ["always", "everysec", "no"] {
            assert!(
                text.contains(&format!("    {value}  ")),
                "{value} missing:\n{text}"
            );
        }
    }
}
