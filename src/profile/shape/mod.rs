//! The strict structural check: the YAML node tree against the JSON Schema that schemars
//! derives from [`Profile`] (its structural part, [`structural_schema`]). Unlike a serde
//! error, which stops at the first problem, this walk reports every unknown key, wrong type
//! and missing field at once. Whether a scalar fits its type, and how the finding says why
//! not, is in `scalar`.

use serde_json::Value;

use crate::diagnostic::{Finding, did_you_mean};
use crate::profile::schema::{at_pointer, structural_schema};
use crate::profile::schema_defaults::stated_default;
use crate::profile::source_map::{SourceMap, child_path};
use crate::profile::yaml::{Entry, Node, NodeKind};

mod scalar;

use scalar::{Problem, scalar_problem};

/// Every structural finding in `document`, in no particular order.
pub fn check(document: &Node, map: &SourceMap) -> Vec<Finding> {
    check_against(document, map, structural_schema())
}

/// [`check`] against `schema`: the structural schema, or (in tests) the whole one.
fn check_against(document: &Node, map: &SourceMap, schema: &Value) -> Vec<Finding> {
    let mut walk = Walk {
        root: schema,
        map,
        findings: Vec::new(),
    };
    walk.node(document, schema, "");
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
                    .and_then(|pointer| at_pointer(self.root, &format!("/{pointer}")))
                {
                    Some(target) => schema = target,
                    None => return schema,
                }
            } else if let Some([only]) = schema
                .get("allOf")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                && only.get("$ref").is_some()
            {
                // Only that wrapper: the `allOf` of `if`/`then` rules that
                // `schema_rules` adds beside a type's own keywords is not for this walk.
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
                self.mismatch(node, schema, &types, path, Problem::Type);
            }
            return;
        }
        match &node.kind {
            NodeKind::Mapping(entries) if types.contains(&"object") => {
                if !self.within_count(node, entries.len(), schema, "maxProperties", path) {
                    return;
                }
                self.mapping(entries, schema, path)
            }
            NodeKind::Sequence(items) if types.contains(&"array") => {
                if !self.within_count(node, items.len(), schema, "maxItems", path) {
                    return;
                }
                let item_schema = schema.get("items").unwrap_or(&Value::Bool(true));
                for (i, item) in items.iter().enumerate() {
                    self.node(item, item_schema, &format!("{path}[{i}]"));
                }
            }
            NodeKind::Scalar { text, plain, tag } => {
                if let Some(problem) = scalar_problem(text, *plain, tag.as_deref(), schema, &types)
                {
                    self.mismatch(node, schema, &types, path, problem);
                }
            }
            _ => self.mismatch(node, schema, &types, path, Problem::Type),
        }
    }

    /// A list or map no longer than the schema's `key` (`maxItems`, `maxProperties`) allows;
    /// a longer one is reported once, and its items are not walked.
    fn within_count(
        &mut self,
        node: &Node,
        count: usize,
        schema: &Value,
        key: &str,
        path: &str,
    ) -> bool {
        let Some(max) = schema.get(key).and_then(Value::as_u64) else {
            return true;
        };
        if u64::try_from(count).is_ok_and(|count| count <= max) {
            return true;
        }
        let what = if key == "maxItems" {
            "items"
        } else {
            "entries"
        };
        let mut finding = self
            .map
            .error(path, format!("{count} {what}, more than {max}"))
            .at(node.pos)
            .found(format!("{count} {what}"))
            .valid(format!("at most {max} {what}"));
        if let Some(help) = field_help(schema) {
            finding = finding.help(help);
        }
        self.findings.push(finding);
        false
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
            if entry.key == "<<" {
                // YAML 1.1 merge keys: some parsers merge, others read a key named `<<`, so
                // the same file would mean different profiles to the editor, kustomize and
                // this tool.
                self.findings.push(
                    self.map
                        .error(&child, "merge keys are not supported")
                        .at(entry.key_pos)
                        .found("<<")
                        .valid(format!("the fields of {}, written out", if path.is_empty() { "the profile" } else { path }))
                        .help("write the fields out; an anchor and alias (`&x` … `*x`) may still repeat a whole value"),
                );
                continue;
            }
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
}

/// `type: "x"` or `type: ["x", "null"]`.
fn type_names(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    quoted.join(", ")
}

/// A field's own documentation on one line, with its default: what a finding about its value
/// points the user to.
pub(super) fn field_help(schema: &Value) -> Option<String> {
    let description = schema.get("description").and_then(Value::as_str)?;
    let mut help = description.replace('\n', " ");
    if let Some(default) = stated_default(schema, schema.get("default")) {
        help.push_str(&format!(" Defaults to {default}."));
    }
    Some(help)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::profile::default;
    use crate::profile::schema::profile_schema;
    use crate::profile::yaml;

    /// Every profile the repository holds, good and bad, plus shapes aimed at the keywords
    /// the structural schema keeps (the identity constants) and at those it leaves out.
    fn corpus() -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = vec![("default".to_string(), default::TEXT.to_string())];
        for dir in [
            "profiles",
            "tests/profiles",
            "tests/bad",
            "tests/fuzz-corpus/profile",
        ] {
            let entries = std::fs::read_dir(root.join(dir))
                .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"));
            for entry in entries {
                let path = entry.unwrap_or_else(|e| panic!("{dir}: {e}")).path();
                if let Ok(text) = std::fs::read_to_string(&path) {
                    texts.push((path.display().to_string(), text));
                }
            }
        }
        let head = "metadata: {name: x}\nspec: {masterName: m}\n";
        for (name, text) in [
            (
                "identity as a mapping",
                format!("apiVersion: {{a: 1}}\nkind: [1]\n{head}"),
            ),
            ("identity missing", head.to_string()),
            ("identity null", format!("apiVersion:\nkind: ~\n{head}")),
            (
                "patterns and rules",
                "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\n\
                 metadata: {name: X_}\nspec: {masterName: 'a b', image: 'redis:6.2', \
                 sentinel: {replicas: 4, quorum: 9}, redis: {replicas: 1, \
                 minReplicasToWrite: 5}, persistence: {rdb: [], aof: {enabled: false}}}\n"
                    .to_string(),
            ),
        ] {
            texts.push((name.to_string(), text));
        }
        texts
    }

    #[test]
    fn the_structural_schema_finds_what_the_whole_schema_finds() {
        let whole = profile_schema();
        let mut walked = 0;
        let mut with_findings = 0;
        for (name, text) in corpus() {
            let Ok(document) = yaml::parse_document(&text) else {
                continue;
            };
            let map = SourceMap::of(&name, &document);
            let structural = check_against(&document, &map, structural_schema());
            let full = check_against(&document, &map, &whole);
            assert_eq!(
                format!("{structural:#?}"),
                format!("{full:#?}"),
                "{name}: the walks disagree"
            );
            walked += 1;
            with_findings += usize::from(!full.is_empty());
        }
        // The corpus is what makes this test mean something: most of it must be walked, and
        // a good share of it must have findings to compare.
        assert!(
            walked > 60 && with_findings > 20,
            "{walked} walked, {with_findings} with findings"
        );
    }
}
