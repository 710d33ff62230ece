//! The rendered objects that differ between the two streams, with the fields that changed.

use std::collections::BTreeSet;

use serde_json::Value;

use super::facts::Facts;
use super::{ObjectChange, object};

/// Objects added, removed or changed, with the fields that changed.
pub(super) fn object_changes(old: &Facts, new: &Facts) -> Vec<ObjectChange> {
    let mut out = Vec::new();
    for ((kind, name), value) in &new.objects {
        let id = object(kind, name);
        match old.objects.get(&(kind.clone(), name.clone())) {
            None => out.push(ObjectChange {
                object: id,
                change: "added",
                fields: Vec::new(),
            }),
            Some(before) if before != value => {
                let mut fields = Vec::new();
                diff_fields("", before, value, 0, &mut fields);
                out.push(ObjectChange {
                    object: id,
                    change: "changed",
                    fields,
                });
            }
            Some(_) => {}
        }
    }
    for (kind, name) in old.objects.keys() {
        if !new.objects.contains_key(&(kind.clone(), name.clone())) {
            out.push(ObjectChange {
                object: object(kind, name),
                change: "removed",
                fields: Vec::new(),
            });
        }
    }
    out
}

/// Paths (at most three levels deep, `spec.template.metadata`) where `a` and `b` differ.
pub(super) fn diff_fields(path: &str, a: &Value, b: &Value, depth: usize, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if depth < 3 => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff_fields(
                    &sub,
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                    depth + 1,
                    out,
                );
            }
        }
        _ => out.push(path.to_string()),
    }
}
