//! The typed [`Profile`] read from the node tree the loader already built, instead of parsing
//! the text a second time with serde-saphyr.
//!
//! Only the forms whose meaning is beyond doubt are read here: untagged scalars, `true` and
//! `false`, whole numbers in plain decimal digits, the null spellings for an absent optional
//! value. Anything else (`True`, `0x2a`, a tag) is an error here, and the loader then asks
//! serde-saphyr, as before, so a profile never means something different on this path; the
//! tests compare both on every profile of the repository and on each of those forms.

use serde::Deserialize;
use serde::de::value::{Error, StrDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::profile::spec::Profile;
use crate::profile::yaml::{Entry, Node, NodeKind};

/// `document` as a [`Profile`], or an error when it holds a form this path leaves to
/// serde-saphyr (or does not fit the spec types at all).
pub fn profile(document: &Node) -> Result<Profile, Error> {
    Profile::deserialize(NodeDeserializer(document))
}

#[derive(Clone, Copy)]
struct NodeDeserializer<'a>(&'a Node);

impl<'a> NodeDeserializer<'a> {
    /// The text of an untagged, non-null scalar.
    fn text(self) -> Result<&'a str, Error> {
        match &self.0.kind {
            NodeKind::Scalar {
                text, tag: None, ..
            } if !self.0.is_null() => Ok(text),
            _ => Err(de::Error::custom("not a plain value")),
        }
    }

    /// A whole number written as plain decimal digits, without a sign or a leading zero.
    fn unsigned(self) -> Result<u64, Error> {
        let text = self.text()?;
        let plain = matches!(self.0.kind, NodeKind::Scalar { plain: true, .. });
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        if !plain || !digits || (text.len() > 1 && text.starts_with('0')) {
            return Err(de::Error::custom("not a plain whole number"));
        }
        text.parse()
            .map_err(|_| de::Error::custom("whole number out of range"))
    }
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.0.kind {
            NodeKind::Mapping(entries) => visitor.visit_map(Entries::new(entries)),
            NodeKind::Sequence(items) => visitor.visit_seq(Items(items.iter())),
            NodeKind::Scalar { .. } if self.0.is_null() => visitor.visit_unit(),
            NodeKind::Scalar { .. } => visitor.visit_str(self.text()?),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let plain = matches!(self.0.kind, NodeKind::Scalar { plain: true, .. });
        match self.text()? {
            "true" if plain => visitor.visit_bool(true),
            "false" if plain => visitor.visit_bool(false),
            _ => Err(de::Error::custom("not `true` or `false`")),
        }
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(self.unsigned()?)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(self.unsigned()?)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(self.unsigned()?)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(self.unsigned()?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.text()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.text()?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.0.kind {
            NodeKind::Scalar { tag: None, .. } if self.0.is_null() => visitor.visit_none(),
            NodeKind::Scalar { tag: Some(_), .. } => Err(de::Error::custom("a tagged value")),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.0.kind {
            NodeKind::Sequence(items) => visitor.visit_seq(Items(items.iter())),
            _ => Err(de::Error::custom("not a list")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.0.kind {
            NodeKind::Mapping(entries) => visitor.visit_map(Entries::new(entries)),
            _ => Err(de::Error::custom("not a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let variant: StrDeserializer<'_, Error> = self.text()?.into_deserializer();
        visitor.visit_enum(variant)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.text()?)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u128 f32 f64 char bytes byte_buf unit unit_struct newtype_struct
        tuple tuple_struct
    }
}

struct Items<'a>(std::slice::Iter<'a, Node>);

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|item| seed.deserialize(NodeDeserializer(item)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries<'a> {
    entries: std::slice::Iter<'a, Entry>,
    value: Option<&'a Node>,
}

impl<'a> Entries<'a> {
    fn new(entries: &'a [Entry]) -> Entries<'a> {
        Entries {
            entries: entries.iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(&entry.value);
        let key: StrDeserializer<'_, Error> = entry.key.as_str().into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(NodeDeserializer(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::profile::default;
    use crate::profile::yaml;

    /// serde-saphyr's reading and this one, side by side: equal profiles when this one reads
    /// `text`, and when it does not, the loader's fallback is what decides.
    fn compare(name: &str, text: &str) -> Option<bool> {
        let document = yaml::parse_document(text).ok()?;
        let ours = profile(&document);
        let theirs = serde_saphyr::from_str::<Profile>(text);
        match (&ours, &theirs) {
            (Ok(ours), Ok(theirs)) => {
                assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{name}");
                Some(true)
            }
            (Ok(ours), Err(e)) => panic!("{name}: read as {ours:?} here, serde-saphyr: {e}"),
            (Err(_), _) => Some(false),
        }
    }

    #[test]
    fn the_node_tree_reads_as_serde_saphyr_reads_the_text() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = vec![("default".to_string(), default::TEXT.to_string())];
        for dir in [
            "profiles",
            "tests/profiles",
            "tests/bad",
            "tests/fuzz-corpus/profile",
        ] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap_or_else(|e| panic!("{e}")) {
                let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
                if let Ok(text) = std::fs::read_to_string(&path) {
                    texts.push((path.display().to_string(), text));
                }
            }
        }
        let read_here = texts
            .iter()
            .filter_map(|(name, text)| compare(name, text))
            .filter(|read| *read)
            .count();
        assert!(
            read_here > 30,
            "only {read_here} profiles read on this path"
        );
        assert_eq!(compare("default", default::TEXT), Some(true));
    }

    #[test]
    fn doubtful_forms_are_left_to_serde_saphyr() {
        let head = "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\n\
                    metadata: {name: x}\nspec:\n  masterName: m\n";
        for (field, read_here) in [
            ("development: true", true),
            ("development: True", false),
            ("development: TRUE", false),
            ("development: 'true'", false),
            ("development: !!bool true", false),
            ("redis: {replicas: 3}", true),
            ("redis: {replicas: 0x3}", false),
            ("redis: {replicas: 0o3}", false),
            ("redis: {replicas: 03}", false),
            ("redis: {replicas: +3}", false),
            ("redis: {replicas: '3'}", false),
            ("redis: {replicas: !!int 3}", false),
            ("redis: {replicas: 99999999999999999999}", false),
            ("redis: {replicas: ~}", true),
            ("redis: {replicas: null}", true),
            ("redis: {replicas: }", true),
            ("redis: {replicas: !!null ~}", false),
            ("image: '7.2'", true),
            ("image: 7.2", true),
            ("image: !!str 7", false),
            ("namePrefix: ''", true),
            ("redis: {maxmemoryPolicy: allkeys-lru}", true),
            ("antiAffinity: !custom soft", false),
            ("sentinel: {replicas: 3, quorum: 2}", true),
        ] {
            let text = format!("{head}  {field}\n");
            assert_eq!(compare(field, &text), Some(read_here), "{field}");
        }
    }
}
