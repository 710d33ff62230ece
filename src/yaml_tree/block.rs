//! [`Yaml::to_block`]: a value as block YAML, laid out as kubectl and kpt write it, every
//! string quoted where a YAML 1.1 or 1.2 reader could take it for something else.

use super::Yaml;

/// The longest key written as `key: value`. YAML readers refuse an implicit key over 1024
/// characters (YAML 1.2 §7.4.3, libyaml, go-yaml); longer keys are written `? key`, with
/// a margin below the limit.
const IMPLICIT_KEY_MAX: usize = 1000;

impl Yaml {
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
                    let key = quote(key);
                    out.push_str(&pad);
                    if key.chars().count() > IMPLICIT_KEY_MAX {
                        // Too long for `key:`: the explicit form, `? key` then `: value`.
                        out.push_str("? ");
                        out.push_str(&key);
                        out.push('\n');
                        out.push_str(&pad);
                    } else {
                        out.push_str(&key);
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// YAML allows an implicit (`key: value`) key of at most 1024 characters; a longer key
    /// from someone else's package must still come back as YAML with the same meaning.
    #[test]
    fn a_key_of_any_length_is_written_as_a_key_a_reader_accepts() {
        for length in [1000, 1021, 1022, 1023, 1024, 1025, 3000] {
            for key in [
                "k".repeat(length),
                format!("a: {}", "{a".repeat(length / 2)),
            ] {
                for value in [
                    Yaml::Str("v".into()),
                    Yaml::map([("x", Yaml::Raw("1".into()))]),
                    Yaml::Seq(vec![Yaml::Str("s".into()), Yaml::Map(vec![])]),
                    Yaml::Map(vec![]),
                ] {
                    let tree = Yaml::Map(vec![
                        (key.clone(), value.clone()),
                        ("after".into(), Yaml::Seq(vec![Yaml::Raw("~".into())])),
                    ]);
                    let nested = Yaml::map([("outer", tree.clone())]);
                    for doc in [tree, nested] {
                        let written = doc.to_block(0);
                        let read = Yaml::read_lossless(&written);
                        assert_eq!(
                            read.as_ref().ok(),
                            Some(&doc),
                            "key of {length} characters: {:?}\n{written}",
                            read.as_ref().err()
                        );
                    }
                }
            }
        }
    }
}
