//! An ordered YAML value, the bottom layer under every reader of Kubernetes objects the tool
//! does not own (the KRM items, the user's kustomize base, the kustomize plugin's config):
//! mappings keep their key order, and a value read with [`Yaml::read_lossless`] keeps every
//! scalar's YAML 1.2 meaning and every tag, and is written back with [`Yaml::to_block`], so
//! the fields an edit does not touch come back as they were. It imports nothing from the
//! crate.
//!
//! - `lossless`: reading one document as written (parser events, YAML 1.2 core schema);
//! - `block`: writing a value as block YAML, quoted for YAML 1.1 and 1.2 readers.

mod block;
mod lossless;

use std::fmt;

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
impl Yaml {
    pub fn map<const N: usize>(entries: [(&str, Yaml); N]) -> Yaml {
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

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_path(&self, path: &[&str]) -> Option<&Yaml> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn get_path_mut(&mut self, path: &[&str]) -> Option<&mut Yaml> {
        path.iter().try_fold(self, |node, key| node.get_mut(key))
    }

    /// The mapping at `path`, created (replacing a non-mapping or null) where missing.
    pub fn map_at(&mut self, path: &[&str]) -> &mut Vec<(String, Yaml)> {
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

    #[test]
    fn key_order_and_scalar_types_survive_a_round_trip() {
        let text = "kind: X\napiVersion: v1\ndata:\n  z: '1'\n  a: 1\n  b: true\n  c: \"yes\"\n  \
                    n: null\n";
        let value: Yaml = serde_saphyr::from_str(text).unwrap();
        let back = serde_saphyr::to_string(&value).unwrap();
        let again: Yaml = serde_saphyr::from_str(&back).unwrap();
        assert_eq!(value, again);
        assert!(back.starts_with("kind: X\napiVersion: v1\n"), "{back}");
        assert_eq!(again.get_path(&["data", "z"]), Some(&Yaml::Str("1".into())));
        assert_eq!(
            again.get_path(&["data", "c"]),
            Some(&Yaml::Str("yes".into()))
        );
    }
}
