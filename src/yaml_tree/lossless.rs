//! [`Yaml::read_lossless`]: one document read from the parser's events, keeping what serde
//! would lose (plain scalars that are not strings under YAML 1.2, tags), aliases expanded
//! within a bound.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Tag};

use super::Yaml;

/// Most nodes a client workload may expand to (aliases included) and its deepest nesting:
/// far beyond any Deployment, and bounds what a hostile input can cost.
const MAX_NODES: usize = 200_000;
const MAX_DEPTH: usize = 200;
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

#[cfg(test)]
mod tests {
    use super::*;

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
