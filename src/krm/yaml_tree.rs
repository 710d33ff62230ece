//! The YAML value the KRM adapter edits client workloads in: mappings keep their key order,
//! and a workload read from the input keeps every scalar's YAML 1.2 meaning and every tag
//! ([`Yaml::read_lossless`], [`Yaml::to_block`]), so the fields the switch does not touch come
//! back as they were.

use std::collections::HashMap;
use std::fmt;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Tag};

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// A YAML value that keeps mapping keys in the order they were written.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
    /// A plain scalar that is not a string under YAML 1.2 (`12345678901234567890123`,
    /// `1.10`, `.inf`, `true`, `~`), kept as written: converting it to a number would change
    /// it.
    Raw(String),
    /// A node with an explicit tag (`!!binary`, `!Custom`), the tag as it is written back.
    Tagged(String, Box<Yaml>),
}

/// Most nodes a client workload may expand to (aliases included) and its deepest nesting:
/// far beyond any Deployment, and bounds what a hostile input can cost.
const MAX_NODES: usize = 200_000;
const MAX_DEPTH: usize = 200;

impl Yaml {
    pub(super) fn map<const N: usize>(entries: [(&str, Yaml); N]) -> Yaml {
        Yaml::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(super) fn get_mut(&mut self, key: &str) -> Option<&mut Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_path(&self, path: &[&str]) -> Option<&Yaml> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    pub(super) fn get_path_mut(&mut self, path: &[&str]) -> Option<&mut Yaml> {
        path.iter().try_fold(self, |node, key| node.get_mut(key))
    }

    /// The mapping at `path`, created (replacing a non-mapping or null) where missing.
    pub(super) fn map_at(&mut self, path: &[&str]) -> &mut Vec<(String, Yaml)> {
        let mut node = self;
        for key in path {
            if !matches!(node, Yaml::Map(_)) {
                *node = Yaml::Map(Vec::new());
            }
            let Yaml::Map(entries) = node else {
                unreachable!("just made a mapping")
            };
            let at = match entries.iter().position(|(k, _)| k == key) {
                Some(at) => at,
                None => {
                    entries.push(((*key).to_string(), Yaml::Map(Vec::new())));
                    entries.len() - 1
                }
            };
            node = &mut entries[at].1;
        }
        if !matches!(node, Yaml::Map(_)) {
            *node = Yaml::Map(Vec::new());
        }
        match node {
            Yaml::Map(entries) => entries,
            _ => unreachable!("just made a mapping"),
        }
    }
}

impl Serialize for Yaml {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Yaml::Null => serializer.serialize_unit(),
            Yaml::Bool(b) => serializer.serialize_bool(*b),
            Yaml::Int(i) => serializer.serialize_i64(*i),
            Yaml::Uint(u) => serializer.serialize_u64(*u),
            Yaml::Float(f) => serializer.serialize_f64(*f),
            Yaml::Str(s) => serializer.serialize_str(s),
            Yaml::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Yaml::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            // Only values read with `read_lossless` hold these, and those are written with
            // `to_block`: serde would turn them into strings.
            Yaml::Raw(_) | Yaml::Tagged(..) => Err(serde::ser::Error::custom(
                "bug: a value read as written must be written with Yaml::to_block",
            )),
        }
    }
}

/// A collection being built by [`Yaml::read_lossless`].
enum Open {
    Seq(Vec<Yaml>, Option<String>, usize),
    Map(Vec<(String, Yaml)>, Option<String>, usize, Option<String>),
}

impl Yaml {
    /// Read one YAML document keeping what serde would lose: plain scalars that are not
    /// strings under YAML 1.2 stay as written ([`Yaml::Raw`]), tags stay ([`Yaml::Tagged`]),
    /// aliases are expanded (within [`MAX_NODES`]). Comments are not kept. `Err` says why the
    /// document cannot be read this way, e.g. a key that is not a string.
    pub fn read_lossless(text: &str) -> Result<Yaml, String> {
        let mut stack: Vec<Open> = Vec::new();
        let mut anchors: HashMap<usize, Yaml> = HashMap::new();
        let mut nodes = 0usize;
        let mut done: Option<Yaml> = None;
        for next in Parser::new_from_str(text) {
            let (event, span) = next.map_err(|e| e.to_string())?;
            let line = span.start.line();
            let (value, anchor) = match event {
                Event::Scalar(value, style, anchor, tag) => {
                    let plain = matches!(style, ScalarStyle::Plain);
                    (scalar(value.into_owned(), plain, tag.as_deref()), anchor)
                }
                Event::Alias(id) => {
                    let value = anchors
                        .get(&id)
                        .cloned()
                        .ok_or_else(|| format!("line {line}: an alias without its anchor"))?;
                    nodes += count(&value);
                    if nodes > MAX_NODES {
                        return Err(format!(
                            "more than {MAX_NODES} values once aliases are expanded"
                        ));
                    }
                    (value, 0)
                }
                Event::SequenceStart(_, anchor, tag) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
                    }
                    stack.push(Open::Seq(Vec::new(), tag.as_deref().map(tag_text), anchor));
                    continue;
                }
                Event::MappingStart(_, anchor, tag) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
                    }
                    stack.push(Open::Map(
                        Vec::new(),
                        tag.as_deref().map(tag_text),
                        anchor,
                        None,
                    ));
                    continue;
                }
                Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                    Some(Open::Seq(items, tag, anchor)) => (tagged(Yaml::Seq(items), tag), anchor),
                    Some(Open::Map(entries, tag, anchor, _)) => {
                        (tagged(Yaml::Map(entries), tag), anchor)
                    }
                    None => return Err("unbalanced YAML events".into()),
                },
                Event::DocumentStart(..) if done.is_some() => {
                    return Err("more than one document".into());
                }
                _ => continue,
            };
            nodes += 1;
            if nodes > MAX_NODES {
                return Err(format!(
                    "more than {MAX_NODES} values once aliases are expanded"
                ));
            }
            if anchor != 0 {
                anchors.insert(anchor, value.clone());
            }
            match stack.last_mut() {
                None => done = Some(value),
                Some(Open::Seq(items, ..)) => items.push(value),
                Some(Open::Map(entries, _, _, key)) => match key.take() {
                    Some(key) => entries.push((key, value)),
                    None => match value {
                        Yaml::Str(text) => *key = Some(text),
                        _ => {
                            return Err(format!(
                                "line {line}: a mapping key that is not a string (Kubernetes \
                                 objects only have string keys)"
                            ));
                        }
                    },
                },
            }
        }
        done.ok_or_else(|| "an empty document".to_string())
    }

    /// The value as block YAML at `indent`, every string quoted where a YAML 1.1 or 1.2
    /// reader could take it for something else, [`Yaml::Raw`] and tags as they were read.
    pub fn to_block(&self, indent: usize) -> String {
        let mut out = String::new();
        self.write_block(indent, &mut out);
        out
    }

    fn write_block(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match self {
            Yaml::Map(entries) if !entries.is_empty() => {
                for (key, value) in entries {
                    out.push_str(&pad);
                    out.push_str(&quote(key));
                    out.push(':');
                    value.write_after_key(indent, out);
                }
            }
            Yaml::Seq(items) if !items.is_empty() => {
                for item in items {
                    out.push_str(&pad);
                    out.push('-');
                    match item.collection() {
                        Some(tag) => {
                            let mut nested = String::new();
                            item.untagged().write_block(indent + 2, &mut nested);
                            if let Some(tag) = tag {
                                out.push(' ');
                                out.push_str(tag);
                                out.push('\n');
                                out.push_str(&nested);
                            } else {
                                out.push(' ');
                                out.push_str(&nested[indent + 2..]);
                            }
                        }
                        None => {
                            out.push(' ');
                            out.push_str(&item.inline());
                            out.push('\n');
                        }
                    }
                }
            }
            other => {
                out.push_str(&pad);
                out.push_str(&other.inline());
                out.push('\n');
            }
        }
    }

    /// What follows `key:` for this value.
    fn write_after_key(&self, indent: usize, out: &mut String) {
        match self.collection() {
            Some(tag) => {
                if let Some(tag) = tag {
                    out.push(' ');
                    out.push_str(tag);
                }
                out.push('\n');
                // Lists sit at their key's column, as kubectl and kpt write them.
                let step = if matches!(self.untagged(), Yaml::Seq(_)) {
                    0
                } else {
                    2
                };
                self.untagged().write_block(indent + step, out);
            }
            None => {
                out.push(' ');
                out.push_str(&self.inline());
                out.push('\n');
            }
        }
    }

    /// `Some(tag)` for a non-empty collection (tagged or not), None for anything written
    /// on one line.
    fn collection(&self) -> Option<Option<&str>> {
        match self {
            Yaml::Map(entries) if !entries.is_empty() => Some(None),
            Yaml::Seq(items) if !items.is_empty() => Some(None),
            Yaml::Tagged(tag, inner) => inner.collection().map(|_| Some(tag.as_str())),
            _ => None,
        }
    }

    fn untagged(&self) -> &Yaml {
        match self {
            Yaml::Tagged(_, inner) => inner,
            other => other,
        }
    }

    /// A scalar or empty collection on one line.
    fn inline(&self) -> String {
        match self {
            Yaml::Null => "null".into(),
            Yaml::Bool(b) => b.to_string(),
            Yaml::Int(i) => i.to_string(),
            Yaml::Uint(u) => u.to_string(),
            Yaml::Float(f) if f.is_nan() => ".nan".into(),
            Yaml::Float(f) if f.is_infinite() => {
                if *f > 0.0 {
                    ".inf".into()
                } else {
                    "-.inf".into()
                }
            }
            Yaml::Float(f) => format!("{f:?}"),
            Yaml::Str(s) => quote(s),
            Yaml::Raw(text) => text.clone(),
            Yaml::Seq(_) => "[]".into(),
            Yaml::Map(_) => "{}".into(),
            Yaml::Tagged(tag, inner) => format!("{tag} {}", inner.inline()),
        }
    }
}

/// A scalar's value under YAML 1.2's core schema: plain scalars that resolve to null, a
/// boolean, an integer or a float stay as written, everything else is a string.
fn scalar(value: String, plain: bool, tag: Option<&Tag>) -> Yaml {
    match tag {
        Some(tag) if tag.is_yaml_core_schema_tag("str") => Yaml::Str(value),
        Some(tag) => Yaml::Tagged(tag_text(tag), Box::new(Yaml::Str(value))),
        None if plain && !is_core_string(&value) => Yaml::Raw(value),
        None => Yaml::Str(value),
    }
}

fn tagged(value: Yaml, tag: Option<String>) -> Yaml {
    match tag {
        Some(tag) => Yaml::Tagged(tag, Box::new(value)),
        None => value,
    }
}

fn count(value: &Yaml) -> usize {
    match value {
        Yaml::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Yaml::Map(entries) => 1 + entries.iter().map(|(_, v)| count(v)).sum::<usize>(),
        Yaml::Tagged(_, inner) => count(inner),
        _ => 1,
    }
}

/// The tag as written back: `!!name` for the core schema's, `!name` for local ones, the
/// verbatim `!<…>` form for anything else (no `%TAG` directive is needed for it).
fn tag_text(tag: &Tag) -> String {
    match tag.parts() {
        ("tag:yaml.org,2002:", suffix) => format!("!!{suffix}"),
        ("!", suffix) => format!("!{suffix}"),
        (handle, suffix) => format!("!<{handle}{suffix}>"),
    }
}

/// True when a plain scalar is a string under YAML 1.2's core schema.
fn is_core_string(text: &str) -> bool {
    let null = matches!(text, "" | "~" | "null" | "Null" | "NULL");
    let boolean = matches!(text, "true" | "True" | "TRUE" | "false" | "False" | "FALSE");
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let int = (!unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()))
        || text
            .strip_prefix("0o")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        || text
            .strip_prefix("0x")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()));
    let special =
        matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN");
    !(null || boolean || int || special || is_core_float(unsigned))
}

/// `[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?` or `\.[0-9]+([eE][-+]?[0-9]+)?` (sign removed).
fn is_core_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (digits(whole) && (fraction.is_empty() || digits(fraction)))
                || (whole.is_empty() && digits(fraction))
        }
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// `text` plain when no YAML 1.1 or 1.2 reader can take it for anything but this string: it
/// starts with a letter, `_` or `/` (never a number, date or indicator), holds only letters,
/// digits, single inner spaces and `_./-:,@+=`, has no `: ` and no final `:`, and is not one
/// of YAML 1.1's boolean or null words. Anything else is double-quoted (JSON's escapes are
/// valid YAML).
fn quote(text: &str) -> String {
    let safe = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./-:,@+=".contains(c))
        && !text.ends_with([' ', ':'])
        && !text.contains(": ")
        && !text.contains("  ")
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if safe {
        text.to_string()
    } else {
        serde_json::Value::String(text.to_string()).to_string()
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Yaml, D::Error> {
        deserializer.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Yaml, E> {
        Ok(Yaml::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Yaml, E> {
        Ok(Yaml::Uint(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Yaml, E> {
        Ok(Yaml::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Yaml, E> {
        Ok(Yaml::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Yaml::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Yaml, Yaml>()? {
            let key = match key {
                Yaml::Str(s) => s,
                Yaml::Int(i) => i.to_string(),
                Yaml::Uint(u) => u.to_string(),
                Yaml::Bool(b) => b.to_string(),
                Yaml::Float(f) => f.to_string(),
                Yaml::Null => "null".to_string(),
                Yaml::Seq(_) | Yaml::Map(_) | Yaml::Raw(_) | Yaml::Tagged(..) => {
                    return Err(de::Error::custom("a mapping key must be a scalar"));
                }
            };
            entries.push((key, value));
        }
        Ok(Yaml::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::serialize;

    #[test]
    fn key_order_and_scalar_types_survive_a_round_trip() {
        let text = "kind: X\napiVersion: v1\ndata:\n  z: '1'\n  a: 1\n  b: true\n  c: \"yes\"\n  \
                    n: null\n";
        let value: Yaml = serde_saphyr::from_str(text).unwrap();
        let back = serialize::document(&value).unwrap();
        let again: Yaml = serde_saphyr::from_str(&back).unwrap();
        assert_eq!(value, again);
        assert!(back.starts_with("kind: X\napiVersion: v1\n"), "{back}");
        assert_eq!(again.get_path(&["data", "z"]), Some(&Yaml::Str("1".into())));
        assert_eq!(
            again.get_path(&["data", "c"]),
            Some(&Yaml::Str("yes".into()))
        );
    }

    #[test]
    fn a_value_read_as_written_is_written_with_the_same_yaml_1_2_meaning() {
        let text = "a: 1.10\nb: on\nc: !!binary aGVsbG8=\nd: 12345678901234567890123\n\
                    e: [x, 'y', -1, .inf]\nf: !Custom {k: ~}\ng: &x {h: '1'}\ni: *x\n\
                    j: \"multi\\nline\"\nk: 2024-01-01\n";
        let value = Yaml::read_lossless(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(value.get("a"), Some(&Yaml::Raw("1.10".into())));
        assert_eq!(value.get("b"), Some(&Yaml::Str("on".into())));
        assert_eq!(value.get("k"), Some(&Yaml::Str("2024-01-01".into())));
        let written = value.to_block(0);
        assert!(written.contains("b: \"on\"\n"), "{written}");
        assert!(written.contains("c: !!binary aGVsbG8=\n"), "{written}");
        assert!(
            written.contains("d: 12345678901234567890123\n"),
            "{written}"
        );
        assert!(written.contains("f: !Custom\n  k: ~\n"), "{written}");
        assert_eq!(Yaml::read_lossless(&written).ok(), Some(value), "{written}");
        assert!(Yaml::read_lossless("1: a\n").is_err(), "a non-string key");
    }
}
