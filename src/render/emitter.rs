//! A YAML writer for the rendered objects that gives, byte for byte, what serde-saphyr gives
//! with [`super::serialize::options`], at a fraction of its cost: serde-saphyr checks every
//! scalar against the whole YAML grammar, and the objects are thousands of short names and
//! labels that plainly need no quotes.
//!
//! It covers what the objects are made of: block mappings (structs and maps), block sequences
//! as mapping values, strings, integers and booleans. A string it cannot vouch for as a plain
//! scalar is quoted by serde-saphyr itself, one scalar at a time; a multi-line string is the
//! same `|` literal block serde-saphyr writes, when that form is certain. Anything else (a
//! float, a null, a sequence inside a sequence, a block whose form is not certain…) is
//! [`Unsupported`], and the caller hands the whole document to serde-saphyr instead.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::serialize::{INDENT_STEP, literal_block, options};

/// The value holds something this writer does not cover; serde-saphyr must write it.
#[derive(Debug)]
pub struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value the direct YAML writer does not cover")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

/// Append `value` to `out` as one YAML document body (no `---`). On [`Unsupported`], `out`
/// holds a partial document: the caller truncates it.
pub fn write<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result {
    value.serialize(Writer {
        out,
        place: Place::Root,
    })
}

/// Where the value being written goes.
#[derive(Clone, Copy)]
enum Place {
    /// The document itself: only a mapping.
    Root,
    /// A mapping key: only a string.
    Key,
    /// After the `key:` of a mapping whose keys start at this column.
    Value(usize),
    /// After the `-` of a sequence item, the dash at this column.
    Item(usize),
}

struct Writer<'a> {
    out: &'a mut String,
    place: Place,
}

const SPACES: &str = "                                                                ";

fn indent(out: &mut String, mut column: usize) {
    while column > SPACES.len() {
        out.push_str(SPACES);
        column -= SPACES.len();
    }
    out.push_str(&SPACES[..column]);
}

impl Writer<'_> {
    /// A scalar that is written as it is, after the `:` or `-` it follows.
    fn scalar(self, text: &str) -> Result {
        match self.place {
            Place::Value(_) | Place::Item(_) => {
                self.out.reserve(text.len() + 2);
                self.out.push(' ');
                self.out.push_str(text);
                self.out.push('\n');
                Ok(())
            }
            Place::Root | Place::Key => Err(Unsupported),
        }
    }

    /// An integer, in the digits of `{}` as serde-saphyr writes it.
    fn integer(self, value: impl fmt::Display) -> Result {
        match self.place {
            Place::Value(_) | Place::Item(_) => {
                writeln!(self.out, " {value}").map_err(|_| Unsupported)
            }
            Place::Root | Place::Key => Err(Unsupported),
        }
    }
}

/// Whether serde-saphyr writes `text` as a plain scalar, both as a key and as a value, for
/// certain: letters, digits and `-_./` only, starting with a letter (never a number, date or
/// YAML indicator) and not one of the words a YAML 1.1 or 1.2 reader resolves to a boolean,
/// null or float; or digits followed by a unit (`1Gi`, `100m`) whose letters no number
/// spelling (`1e3`, `0x1F`, `0o17`, `0b1`) contains. Anything else is left to serde-saphyr.
fn certainly_plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if first.is_ascii_alphabetic() {
        const RESOLVED_WORDS: &[&str] = &[
            "null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf",
        ];
        bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
            && !(text.len() <= 5 && RESOLVED_WORDS.iter().any(|w| text.eq_ignore_ascii_case(w)))
    } else if first.is_ascii_digit() {
        bytes.iter().all(u8::is_ascii_alphanumeric)
            && bytes.iter().any(|b| {
                matches!(
                    b.to_ascii_lowercase(),
                    b'g'..=b'n' | b'p'..=b'w' | b'y' | b'z'
                )
            })
    } else {
        false
    }
}

/// `text` as serde-saphyr writes it as a single-line mapping value (`as_key`: as a key).
fn quoted_by_serde_saphyr(text: &str, as_key: bool) -> Result<String> {
    let (entry, prefix, suffix) = if as_key {
        (BTreeMap::from([(text, "v")]), "", ": v\n")
    } else {
        (BTreeMap::from([("k", text)]), "k: ", "\n")
    };
    let mut doc = String::new();
    serde_saphyr::to_fmt_writer_with_options(&mut doc, &entry, options())
        .map_err(|_| Unsupported)?;
    let scalar = doc
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .ok_or(Unsupported)?;
    if scalar.is_empty() || scalar.contains('\n') || scalar.starts_with("? ") {
        return Err(Unsupported);
    }
    Ok(scalar.to_string())
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Sequence<'a>;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Mapping<'a>;
    type SerializeStruct = Mapping<'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result {
        match self.place {
            Place::Root => Err(Unsupported),
            Place::Key if certainly_plain(v) => {
                self.out.push_str(v);
                Ok(())
            }
            Place::Key => {
                self.out.push_str(&quoted_by_serde_saphyr(v, true)?);
                Ok(())
            }
            Place::Value(column) if v.contains('\n') => {
                let block = literal_block(v).ok_or(Unsupported)?;
                self.out.push(' ');
                block.write(self.out, column + INDENT_STEP);
                Ok(())
            }
            Place::Item(_) if v.contains('\n') => Err(Unsupported),
            _ if certainly_plain(v) => self.scalar(v),
            _ => {
                let quoted = quoted_by_serde_saphyr(v, false)?;
                self.scalar(&quoted)
            }
        }
    }

    fn serialize_bool(self, v: bool) -> Result {
        self.scalar(if v { "true" } else { "false" })
    }

    fn serialize_i8(self, v: i8) -> Result {
        self.integer(i64::from(v))
    }

    fn serialize_i16(self, v: i16) -> Result {
        self.integer(i64::from(v))
    }

    fn serialize_i32(self, v: i32) -> Result {
        self.integer(i64::from(v))
    }

    fn serialize_i64(self, v: i64) -> Result {
        self.integer(v)
    }

    fn serialize_u8(self, v: u8) -> Result {
        self.integer(u64::from(v))
    }

    fn serialize_u16(self, v: u16) -> Result {
        self.integer(u64::from(v))
    }

    fn serialize_u32(self, v: u32) -> Result {
        self.integer(u64::from(v))
    }

    fn serialize_u64(self, v: u64) -> Result {
        self.integer(v)
    }

    fn serialize_f32(self, _: f32) -> Result {
        Err(Unsupported)
    }

    fn serialize_f64(self, _: f64) -> Result {
        Err(Unsupported)
    }

    fn serialize_char(self, _: char) -> Result {
        Err(Unsupported)
    }

    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result {
        Err(Unsupported)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        Err(Unsupported)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(Unsupported)
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result {
        // serde-saphyr's own wrappers (flow style, quoting, anchors) are all `__yaml_…`.
        if name.starts_with("__yaml") {
            return Err(Unsupported);
        }
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Unsupported)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Sequence<'a>> {
        match self.place {
            // Block sequences in mapping values sit at the key's column (`compact_list_indent`).
            Place::Value(column) => Ok(Sequence {
                out: self.out,
                dash_column: column,
                items: 0,
            }),
            Place::Root | Place::Key | Place::Item(_) => Err(Unsupported),
        }
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Unsupported)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Unsupported)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Mapping<'a>> {
        let key_column = match self.place {
            Place::Root => 0,
            Place::Value(column) | Place::Item(column) => column + INDENT_STEP,
            Place::Key => return Err(Unsupported),
        };
        Ok(Mapping {
            out: self.out,
            place: self.place,
            key_column,
            entries: 0,
        })
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Mapping<'a>> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

/// A block mapping: after a key, its entries on the following lines one step deeper; after a
/// dash, its first entry on the dash's line and the rest under it; empty, `{}`.
struct Mapping<'a> {
    out: &'a mut String,
    place: Place,
    key_column: usize,
    entries: usize,
}

impl Mapping<'_> {
    fn start_entry(&mut self) {
        if self.entries == 0 {
            match self.place {
                Place::Value(_) => {
                    self.out.push('\n');
                    indent(self.out, self.key_column);
                }
                Place::Item(_) => self.out.push(' '),
                Place::Root | Place::Key => {}
            }
        } else {
            indent(self.out, self.key_column);
        }
        self.entries += 1;
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.out.push(':');
        value.serialize(Writer {
            out: self.out,
            place: Place::Value(self.key_column),
        })
    }

    fn finish(self) -> Result {
        if self.entries == 0 {
            match self.place {
                Place::Value(_) | Place::Item(_) => self.out.push_str(" {}\n"),
                Place::Root | Place::Key => return Err(Unsupported),
            }
        }
        Ok(())
    }
}

impl ser::SerializeMap for Mapping<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.start_entry();
        key.serialize(Writer {
            out: self.out,
            place: Place::Key,
        })
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.value(value)
    }

    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeStruct for Mapping<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.start_entry();
        if certainly_plain(key) {
            self.out.push_str(key);
        } else {
            self.out.push_str(&quoted_by_serde_saphyr(key, true)?);
        }
        self.value(value)
    }

    fn end(self) -> Result {
        self.finish()
    }
}

/// A block sequence as a mapping value: a `-` per item at the key's column; empty, `[]`.
struct Sequence<'a> {
    out: &'a mut String,
    dash_column: usize,
    items: usize,
}

impl ser::SerializeSeq for Sequence<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        if self.items == 0 {
            self.out.push('\n');
        }
        self.items += 1;
        indent(self.out, self.dash_column);
        self.out.push('-');
        value.serialize(Writer {
            out: self.out,
            place: Place::Item(self.dash_column),
        })
    }

    fn end(self) -> Result {
        if self.items == 0 {
            self.out.push_str(" []\n");
        }
        Ok(())
    }
}
