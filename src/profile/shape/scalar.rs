//! A value against its field's type: whether a scalar fits (whole numbers only in the forms
//! every YAML parser reads alike), and the finding that says what is wrong and how to write it.

use serde_json::Value;

use super::Walk;
use crate::profile::yaml::{Node, NodeKind};

impl Walk<'_> {
    pub(super) fn mismatch(
        &mut self,
        node: &Node,
        schema: &Value,
        types: &[&str],
        path: &str,
        problem: Problem,
    ) {
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
        let scalar = match &node.kind {
            NodeKind::Scalar { text, plain, tag } if !node.is_null() || tag.is_some() => {
                Some((text.as_str(), *plain, tag.as_deref()))
            }
            _ => None,
        };
        let shown = |text: &str, tag: Option<&str>| match tag {
            Some(tag) => format!("{tag} {text}"),
            None => text.to_string(),
        };
        let message = match (&problem, scalar) {
            (Problem::Range, Some((text, ..))) => format!("`{text}` is out of range"),
            (Problem::LeadingZero, Some((text, ..))) => format!("`{text}` has a leading zero"),
            (Problem::Sign, Some((text, ..))) => format!("`{text}` has a sign"),
            (_, Some((text, true, tag))) => {
                format!(
                    "expected {}, found `{}`",
                    short(&expected),
                    shown(text, tag)
                )
            }
            _ => format!("expected {}, found {}", short(&expected), node.describe()),
        };
        let mut finding = self
            .map
            .error(path, message)
            .at(node.pos)
            .valid(expected.clone());
        if let Some((text, plain, tag)) = scalar {
            finding = finding.found(shown(text, tag));
            let help = match (&problem, tag) {
                (Problem::Tag, Some(tag)) => Some(format!(
                    "remove the tag `{tag}`: this field takes {}",
                    short(&expected)
                )),
                (Problem::LeadingZero, _) => Some(format!(
                    "YAML 1.1 (Kubernetes) reads a leading zero as octal, YAML 1.2 as decimal; \
                     write `{}`",
                    match text.trim_start_matches('0') {
                        "" => "0",
                        rest => rest,
                    }
                )),
                (Problem::Sign, _) => Some(format!(
                    "write `{}` without a sign",
                    text.trim_start_matches(['+', '-'])
                )),
                // The field's own documentation says what the range is for.
                (Problem::Range, _) => super::field_help(schema),
                // Only where the text unquoted is what the field takes: `"5000"`, not `"two"`.
                _ if !plain && fits_unquoted(text, types) => {
                    Some("remove the quotes: quoted values are always strings".to_string())
                }
                _ => None,
            };
            if let Some(help) = help {
                finding = finding.help(help);
            }
        }
        self.findings.push(finding);
    }
}

/// Whether `text`, written without quotes, would be a value of a field of `types`: a plain
/// decimal whole number for an integer, `true` or `false` for a boolean.
fn fits_unquoted(text: &str, types: &[&str]) -> bool {
    let whole = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    types.iter().any(|t| match *t {
        "integer" => whole,
        "boolean" => matches!(text, "true" | "false"),
        _ => false,
    })
}

/// Why a scalar does not fit its field.
pub(super) enum Problem {
    /// Not the field's type at all.
    Type,
    /// A whole number outside the field's range.
    Range,
    /// `010`: octal to YAML 1.1, decimal to YAML 1.2.
    LeadingZero,
    /// `-0`, `+5`: read differently by different parsers (serde refuses `-0` as unsigned).
    Sign,
    /// An explicit tag that is not the field's type (`!!float 3`).
    Tag,
}

/// What is wrong with `text` as a value of a field of `types`, if anything. Whole numbers are
/// held to the forms every YAML parser reads the same: `0`, `42`, `0x2a`, `0o52`.
pub(super) fn scalar_problem(
    text: &str,
    plain: bool,
    tag: Option<&str>,
    schema: &Value,
    types: &[&str],
) -> Option<Problem> {
    let tag_fits = |tag: &str| {
        types.iter().any(|t| {
            matches!(
                (*t, tag),
                ("string", "!!str") | ("integer", "!!int") | ("boolean", "!!bool")
            )
        })
    };
    if tag.is_some_and(|tag| !tag_fits(tag)) {
        return Some(Problem::Tag);
    }
    if types.contains(&"string") || (types.contains(&"boolean") && plain && is_bool(text)) {
        return None;
    }
    if !(types.contains(&"integer") && plain) {
        return Some(Problem::Type);
    }
    let (min, max) = integer_bounds(schema);
    match parse_integer(text) {
        Ok(value) if (min..=max).contains(&value) => None,
        Ok(_) => Some(Problem::Range),
        Err(problem) => Some(problem),
    }
}

/// The headline names the kind of value; the range is in the `valid` line.
fn short(expected: &str) -> &str {
    expected.split(" from ").next().unwrap_or(expected)
}

/// A whole number in one of the forms every YAML parser reads alike; too many digits count
/// as out of range.
fn parse_integer(text: &str) -> Result<i128, Problem> {
    let radix = |digits: &str, radix: u32| {
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return Err(Problem::Type);
        }
        i128::from_str_radix(digits, radix).map_err(|_| Problem::Range)
    };
    if let Some(hex) = text.strip_prefix("0x") {
        return radix(hex, 16);
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return radix(octal, 8);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let value = radix(digits, 10)?;
    if digits.len() != text.len() && (value == 0 || !negative) {
        return Err(Problem::Sign);
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(Problem::LeadingZero);
    }
    Ok(if negative { -value } else { value })
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
