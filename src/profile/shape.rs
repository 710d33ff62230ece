//! The strict structural check: the YAML node tree against the JSON Schema that schemars
//! derives from [`Profile`]. Unlike a serde error, which stops at the first problem, this
//! walk reports every unknown key, wrong type and missing field at once.

use serde_json::Value;

use crate::diagnostic::{Finding, did_you_mean};
use crate::profile::load::SourceMap;
use crate::profile::schema::profile_schema;
use crate::profile::yaml::{Entry, Node, NodeKind};

/// Every structural finding in `document`, in no particular order.
pub fn check(document: &Node, map: &SourceMap) -> Vec<Finding> {
    let schema = profile_schema();
    let mut walk = Walk {
        root: &schema,
        map,
        findings: Vec::new(),
    };
    walk.node(document, &schema, "");
    walk.findings
}

struct Walk<'a> {
    root: &'a Value,
    map: &'a SourceMap,
    findings: Vec<Finding>,
}

impl<'a> Walk<'a> {
    /// `#/definitions/X` → the definition of X (schemars only emits local references), and
    /// `allOf: [S]` → S: draft-07 ignores keywords beside `$ref`, so schemars wraps a
    /// documented reference in a one-element `allOf`.
    fn resolve(&self, mut schema: &'a Value) -> &'a Value {
        loop {
            if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
                match reference
                    .strip_prefix("#/")
                    .and_then(|pointer| self.root.pointer(&format!("/{pointer}")))
                {
                    Some(target) => schema = target,
                    None => return schema,
                }
            } else if let Some([only]) = schema
                .get("allOf")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
            {
                schema = only;
            } else {
                return schema;
            }
        }
    }

    fn node(&mut self, node: &Node, schema: &'a Value, path: &str) {
        let schema = self.resolve(schema);
        if let Some(alternatives) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            return self.alternatives(node, alternatives, path);
        }
        if let Some(constant) = schema.get("const") {
            return self.one_of_values(node, &[constant], path);
        }
        let types = type_names(schema);
        if node.is_null() {
            if !types.contains(&"null") {
                self.mismatch(node, schema, &types, path);
            }
            return;
        }
        match &node.kind {
            NodeKind::Mapping(entries) if types.contains(&"object") => {
                self.mapping(entries, schema, path)
            }
            NodeKind::Sequence(items) if types.contains(&"array") => {
                let item_schema = schema.get("items").unwrap_or(&Value::Bool(true));
                for (i, item) in items.iter().enumerate() {
                    self.node(item, item_schema, &format!("{path}[{i}]"));
                }
            }
            NodeKind::Scalar { text, plain } => {
                let fits = (types.contains(&"string"))
                    || (types.contains(&"integer") && *plain && integer_in(schema, text))
                    || (types.contains(&"boolean") && *plain && is_bool(text));
                if !fits {
                    self.mismatch(node, schema, &types, path);
                }
            }
            _ => self.mismatch(node, schema, &types, path),
        }
    }

    /// `Option<T>` is `anyOf: [T, null]`; unit enums are `oneOf` of `const`s.
    fn alternatives(&mut self, node: &Node, alternatives: &'a [Value], path: &str) {
        let resolved: Vec<&Value> = alternatives.iter().map(|a| self.resolve(a)).collect();
        let (nulls, others): (Vec<&Value>, Vec<&Value>) = resolved
            .into_iter()
            .partition(|a| a.get("type").and_then(Value::as_str) == Some("null"));
        if node.is_null() && !nulls.is_empty() {
            return;
        }
        let constants: Vec<&Value> = others.iter().filter_map(|a| a.get("const")).collect();
        if !constants.is_empty() && constants.len() == others.len() {
            return self.one_of_values(node, &constants, path);
        }
        // The first alternative that fits wins; if none does, its findings are the most
        // useful (spec types have at most one non-null alternative).
        let mut first_failure = None;
        for alternative in others {
            let mut trial = Walk {
                root: self.root,
                map: self.map,
                findings: Vec::new(),
            };
            trial.node(node, alternative, path);
            if trial.findings.is_empty() {
                return;
            }
            first_failure.get_or_insert(trial.findings);
        }
        self.findings.extend(first_failure.unwrap_or_default());
    }

    fn one_of_values(&mut self, node: &Node, constants: &[&Value], path: &str) {
        let allowed: Vec<&str> = constants.iter().filter_map(|c| c.as_str()).collect();
        let text = match &node.kind {
            NodeKind::Scalar { text, .. } if !node.is_null() => text.as_str(),
            _ => {
                let expected = format!("one of {}", quoted_list(&allowed));
                return self.findings.push(
                    self.map
                        .error(
                            path,
                            format!("expected {expected}, found {}", node.describe()),
                        )
                        .at(node.pos)
                        .valid(expected),
                );
            }
        };
        if allowed.contains(&text) {
            return;
        }
        let mut finding = self
            .map
            .error(path, format!("unknown value `{text}`"))
            .at(node.pos)
            .found(text)
            .valid(format!("one of {}", quoted_list(&allowed)));
        if let Some(suggestion) = did_you_mean(text, &allowed) {
            finding = finding.help(format!("did you mean `{suggestion}`?"));
        }
        self.findings.push(finding);
    }

    fn mapping(&mut self, entries: &[Entry], schema: &'a Value, path: &str) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let known: Vec<&str> = properties
            .into_iter()
            .flat_map(|p| p.keys().map(String::as_str))
            .collect();
        let extra = schema.get("additionalProperties");
        for (i, entry) in entries.iter().enumerate() {
            let child = child_path(path, &entry.key);
            if let Some(first) = entries[..i].iter().find(|e| e.key == entry.key) {
                self.findings.push(
                    self.map
                        .error(&child, format!("duplicate field `{}`", entry.key))
                        .at(entry.key_pos)
                        .help(format!(
                            "`{}` is already set at line {}; keep one of them",
                            entry.key, first.key_pos.line
                        )),
                );
                continue;
            }
            match (properties.and_then(|p| p.get(&entry.key)), extra) {
                (Some(property), _) => self.node(&entry.value, property, &child),
                (None, Some(Value::Bool(false))) => self.unknown_field(entry, &known, path),
                (None, Some(value_schema @ Value::Object(_))) => {
                    self.node(&entry.value, value_schema, &child)
                }
                // `metadata` accepts any key: kustomize and kpt keep bookkeeping there.
                (None, _) => {}
            }
        }
        let required = schema.get("required").and_then(Value::as_array);
        for name in required.into_iter().flatten().filter_map(Value::as_str) {
            if !entries.iter().any(|e| e.key == name) {
                let child = child_path(path, name);
                let parent = if path.is_empty() { "the profile" } else { path };
                // An absent field has no position of its own: the finding points at the
                // mapping that should hold it.
                self.findings.push(
                    self.map
                        .error(&child, format!("missing field `{name}` in {parent}")),
                );
            }
        }
    }

    fn unknown_field(&mut self, entry: &Entry, known: &[&str], path: &str) {
        let place = if path.is_empty() { "the profile" } else { path };
        let mut finding = self
            .map
            .error(
                &child_path(path, &entry.key),
                format!("unknown field `{}`", entry.key),
            )
            .at(entry.key_pos)
            .valid(format!("the fields of {place}: {}", known.join(", ")));
        if let Some(suggestion) = did_you_mean(&entry.key, known) {
            finding = finding.help(format!("did you mean `{suggestion}`?"));
        }
        self.findings.push(finding);
    }

    fn mismatch(&mut self, node: &Node, schema: &Value, types: &[&str], path: &str) {
        let expected: Vec<String> = types
            .iter()
            .filter(|t| **t != "null")
            .map(|t| match *t {
                "object" => "a mapping".to_string(),
                "array" => "a list".to_string(),
                "string" => "a string".to_string(),
                "integer" => {
                    let (min, max) = integer_bounds(schema);
                    format!("a whole number from {min} to {max}")
                }
                "boolean" => "true or false".to_string(),
                _ => "a value".to_string(),
            })
            .collect();
        let expected = expected.join(" or ");
        let message = match &node.kind {
            NodeKind::Scalar { text, plain: true }
                if types.contains(&"integer") && parse_integer(text).is_some() =>
            {
                format!("`{text}` is out of range")
            }
            NodeKind::Scalar { text, plain: true } if !node.is_null() => {
                format!("expected {}, found `{text}`", short(&expected))
            }
            _ => format!("expected {}, found {}", short(&expected), node.describe()),
        };
        let mut finding = self
            .map
            .error(path, message)
            .at(node.pos)
            .valid(expected.clone());
        if let NodeKind::Scalar { text, plain } = &node.kind {
            if !node.is_null() {
                finding = finding.found(text);
            }
            if !plain && types.iter().any(|t| *t == "integer" || *t == "boolean") {
                finding = finding.help("remove the quotes: quoted values are always strings");
            }
        }
        self.findings.push(finding);
    }
}

/// The headline names the kind of value; the range is in the `valid` line.
fn short(expected: &str) -> &str {
    expected.split(" from ").next().unwrap_or(expected)
}

/// `type: "x"` or `type: ["x", "null"]`.
fn type_names(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A YAML 1.2 core-schema integer (decimal, `0x…`, `0o…`) within the schema's range.
fn integer_in(schema: &Value, text: &str) -> bool {
    let Some(value) = parse_integer(text) else {
        return false;
    };
    let (min, max) = integer_bounds(schema);
    (min..=max).contains(&value)
}

fn parse_integer(text: &str) -> Option<i128> {
    if let Some(hex) = text.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()
    } else if let Some(octal) = text.strip_prefix("0o") {
        i128::from_str_radix(octal, 8).ok()
    } else if text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+')
    {
        text.parse::<i128>().ok()
    } else {
        None
    }
}

/// The range the schema's `format` (`uint16`, `uint32`) and `minimum` / `maximum` allow.
fn integer_bounds(schema: &Value) -> (i128, i128) {
    let (format_min, format_max) = match schema.get("format").and_then(Value::as_str) {
        Some("uint16") => (0, i128::from(u16::MAX)),
        Some("uint32") => (0, i128::from(u32::MAX)),
        Some("uint64") => (0, i128::from(u64::MAX)),
        Some("int32") => (i128::from(i32::MIN), i128::from(i32::MAX)),
        _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
    };
    let bound = |key: &str, default: i128| {
        schema
            .get(key)
            .and_then(Value::as_i64)
            .map_or(default, i128::from)
    };
    (bound("minimum", format_min), bound("maximum", format_max))
}

fn is_bool(text: &str) -> bool {
    matches!(text, "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
}

fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    quoted.join(", ")
}

/// `spec` + `quorum` → `spec.quorum`; keys that are not plain identifiers (label keys such
/// as `app.kubernetes.io/name`) are bracketed so the path stays unambiguous.
pub fn child_path(parent: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{key:?}]"),
    }
}
