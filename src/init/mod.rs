//! `init`: a commented starter profile. It holds the reference profile's values (so it
//! validates and renders as it stands), every field documented with the first line of its
//! schema description, and the optional fields the reference leaves out as commented lines.

pub mod from_base;

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::explain::{description, first_sentence};
use crate::profile::default;
use crate::profile::schema::{profile_schema, target};

const HEADER: &str = "\
# A starter profile for redis-sentinel-gen: the reference deployment (welcomebot), with every
# field explained. Change the names, sizes and clients, then:
#   redis-sentinel-gen validate THIS-FILE
#   redis-sentinel-gen render THIS-FILE --out deploy/redis
# One field in full: redis-sentinel-gen explain spec.sentinel.quorum
# Editor hints: redis-sentinel-gen schema > .redis-sentinel.schema.json, then add the line
#   # yaml-language-server: $schema=.redis-sentinel.schema.json
";

/// The starter profile text.
pub fn starter_profile() -> Result<String> {
    Ok(annotated(&reference_values()?, HEADER))
}

/// The starter profile for the clients and the old Redis of `learned` (a user's base at
/// `base`); what could not be learned keeps the reference's values. Notes for the user (what
/// was left out and why) are returned beside the text.
pub fn starter_profile_from_base(
    learned: &from_base::Learned,
    base: &Path,
) -> Result<(String, Vec<String>)> {
    let mut values = reference_values()?;
    let mut notes = Vec::new();
    let namespace = learned.namespace.clone().unwrap_or_else(|| {
        notes.push("the base sets no namespace: the profile says `default`".to_string());
        "default".to_string()
    });
    values["metadata"]["name"] = json!(namespace);
    values["metadata"]["namespace"] = json!(namespace);
    values["spec"]["masterName"] = json!(format!("{namespace}-master"));
    values["spec"]["clients"] = learned
        .clients
        .iter()
        .map(|(kind, name, container)| json!({"kind": kind, "name": name, "container": container}))
        .collect();
    values["spec"]["migration"] = json!({
        "from": {"host": learned.from_host, "port": learned.from_port},
        "remove": learned
            .remove
            .iter()
            .map(|(kind, name)| json!({"kind": kind, "name": name}))
            .collect::<Vec<_>>(),
    });
    let header = format!(
        "{HEADER}# Learned from the kustomize base {base}: the clients, the old Redis and the\n\
         # namespace. spec.migration.base is the path of that base relative to the directory\n\
         # you render into (--out); it defaults to ../base.\n",
        base = base.display()
    );
    Ok((annotated(&values, &header), notes))
}

fn reference_values() -> Result<Value> {
    serde_saphyr::from_str(default::TEXT)
        .context("bug: the embedded reference profile does not parse")
}

/// `values` as profile text: every field under a comment with its meaning, optional fields
/// that `values` leaves out as commented lines.
fn annotated(values: &Value, header: &str) -> String {
    let root = profile_schema();
    let mut out = String::from(header);
    write_object(&root, &root, Some(values), 0, &mut out);
    out
}

fn write_object(
    root: &Value,
    schema: &Value,
    values: Option<&Value>,
    depth: usize,
    out: &mut String,
) {
    let indent = "  ".repeat(depth);
    let Some(properties) = target(root, schema)
        .get("properties")
        .and_then(Value::as_object)
    else {
        return;
    };
    for (name, field) in properties {
        let meaning = meaning(root, field);
        match values.and_then(|v| v.get(name)) {
            Some(value) => {
                if !meaning.is_empty() {
                    let _ = writeln!(out, "{indent}# {meaning}");
                }
                let nested = target(root, field).get("properties").is_some() && value.is_object();
                if nested {
                    let _ = writeln!(out, "{indent}{name}:");
                    write_object(root, field, Some(value), depth + 1, out);
                } else if let Value::Array(items) = value {
                    let _ = writeln!(out, "{indent}{name}:");
                    for item in items {
                        let _ = writeln!(out, "{indent}  - {}", flow(item));
                    }
                } else {
                    let _ = writeln!(out, "{indent}{name}: {}", flow(value));
                }
            }
            None => {
                let _ = writeln!(out, "{indent}# {name}: (optional) {meaning}");
            }
        }
    }
}

/// A value on one line: JSON scalars and flow collections, which YAML 1.2 reads unchanged;
/// keys that are plain words stay unquoted for readability.
fn flow(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    let key = if k.chars().all(|c| c.is_ascii_alphanumeric()) {
                        k.clone()
                    } else {
                        Value::String(k.clone()).to_string()
                    };
                    format!("{key}: {}", flow(v))
                })
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// The first sentence of a field's description, on one line.
fn meaning(root: &Value, field: &Value) -> String {
    first_sentence(description(root, field).unwrap_or(""))
}
