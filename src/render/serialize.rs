//! The YAML form of the Kubernetes objects: one fixed serializer configuration, so that the
//! same objects always give the same bytes, and the stream layout of `redis-sentinel.yaml`.

use anyhow::{Context, Result};
use serde::Serialize;
use serde_saphyr::SerializerOptions;

use super::emitter;

/// Serializer settings, every one that shapes the output spelled out so that a changed
/// library default cannot silently change the rendered files.
pub fn options() -> SerializerOptions {
    serde_saphyr::ser_options! {
        indent_step: INDENT_STEP,
        compact_list_indent: true,
        // Multi-line strings (the ConfigMap files) become `|` literal blocks, readable in
        // review and in `kubectl get -o yaml` diffs.
        prefer_block_scalars: true,
        // Never fold a long single-line value (an image digest, an annotation) into `>`:
        // it stays greppable on one line.
        folded_wrap_chars: usize::MAX,
        // Quote every string a YAML 1.1 reader would take for something else (`yes`, `on`,
        // `0777`, `1e3`, `~`…): kubectl, PyYAML and Go YAML v2 still resolve YAML 1.1 types.
        yaml_12: false,
        quote_all: false,
    }
}

/// One object as a YAML document body (no `---`), ending in a newline.
pub fn document<T: Serialize>(object: &T) -> Result<String> {
    let mut out = String::new();
    write_document(&mut out, object)?;
    Ok(out)
}

/// [`document`], appended to `out`: written by [`emitter`] (the same bytes, faster), or by
/// serde-saphyr when the object holds something the emitter does not cover.
fn write_document<T: Serialize>(out: &mut String, object: &T) -> Result<()> {
    let start = out.len();
    if emitter::write(out, object).is_ok() {
        return Ok(());
    }
    out.truncate(start);
    write_document_by_serde_saphyr(out, object)
}

/// [`document`] as serde-saphyr writes it with [`options`]: what [`emitter`] must match.
fn write_document_by_serde_saphyr<T: Serialize>(out: &mut String, object: &T) -> Result<()> {
    serde_saphyr::to_fmt_writer_with_options(out, object, options())
        .context("bug: a Kubernetes object did not serialize to YAML")
}

/// `indent_step` of [`options`].
pub(super) const INDENT_STEP: usize = 2;

/// A multi-line value as the serializer writes it with [`options`]: a `|` block whose body is
/// one step deeper than its key, with the chomping indicator its trailing newlines call for
/// (none for one, `-` for none, `+` for more) and empty lines left unindented.
pub(super) struct LiteralBlock<'a> {
    chomp: &'static str,
    content: &'a str,
    extra_newlines: usize,
}

/// The literal block of `value`, when its form is certain: only characters the serializer
/// accepts in a block scalar (see [`block_safe`]), at least one line break and one other
/// character, and a first line that does not start with a blank (which would call for an
/// indentation indicator). Anything else: `None`.
pub(super) fn literal_block(value: &str) -> Option<LiteralBlock<'_>> {
    let content = value.trim_end_matches('\n');
    let trailing = value.len() - content.len();
    let first_line = content.trim_start_matches('\n');
    if !block_safe_text(value)
        || !value.contains('\n')
        || content.is_empty()
        || first_line.starts_with([' ', '\t'])
    {
        return None;
    }
    Some(LiteralBlock {
        chomp: match trailing {
            0 => "-",
            1 => "",
            _ => "+",
        },
        content,
        extra_newlines: trailing.saturating_sub(1),
    })
}

/// Whether every character of `text` is [`block_safe`]: the ASCII control characters looked
/// for in blocks of bytes the compiler can check side by side, then the few non-ASCII
/// characters (the scripts' em dashes) decoded one by one, ASCII runs skipped 16 bytes at a
/// time. A render passes every file through here, so it must cost little per byte.
fn block_safe_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    let control = bytes.chunks(32).any(|chunk| {
        chunk.iter().fold(false, |found, &b| {
            found | ((b < 0x20) & (b != b'\n') & (b != b'\t')) | (b == 0x7F)
        })
    });
    if control {
        return false;
    }
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at].is_ascii() {
            let run = bytes[at..].chunks(16).take_while(|c| c.is_ascii()).count() * 16;
            at += run.max(1);
            continue;
        }
        // `at` is on a character boundary: only whole ASCII runs and characters were skipped.
        let Some(c) = text[at..].chars().next() else {
            return false;
        };
        if !block_safe(c) {
            return false;
        }
        at += c.len_utf8();
    }
    true
}

/// A character serde-saphyr writes into a block scalar as it is: printable, tab or line feed;
/// not a carriage return, next-line, line or paragraph separator or byte order mark.
fn block_safe(c: char) -> bool {
    match c {
        '\n' | '\t' => true,
        '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}' => false,
        c => matches!(
            u32::from(c),
            0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF
        ),
    }
}

impl LiteralBlock<'_> {
    pub(super) fn write(&self, out: &mut String, body_column: usize) {
        out.push('|');
        out.push_str(self.chomp);
        out.push('\n');
        let indent = " ".repeat(body_column);
        // The line breaks are found by memchr (a few instructions per line of a script, where
        // `str::split` spends a few hundred), and the room for the indented text is reserved
        // once.
        let lines = memchr::memchr_iter(b'\n', self.content.as_bytes());
        out.reserve(self.content.len() + (lines.count() + 1) * (body_column + 1));
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', self.content.as_bytes());
        for end in ends.chain([self.content.len()]) {
            let line = &self.content[start..end];
            if !line.is_empty() {
                out.push_str(&indent);
                out.push_str(line);
            }
            out.push('\n');
            start = end + 1;
        }
        for _ in 0..self.extra_newlines {
            out.push('\n');
        }
    }
}

/// A YAML stream: the `# generated …` header line, then every document after a `---`.
pub fn stream(header: &str, documents: &[String]) -> String {
    let mut out = Stream::new(header, documents.iter().map(|d| d.len() + 4).sum());
    for doc in documents {
        out.out.push_str("---\n");
        out.out.push_str(doc);
    }
    out.finish()
}

/// A YAML stream written as it goes: each object is serialized straight into the one output
/// string, with no copy of each document to allocate and join.
pub struct Stream {
    out: String,
}

impl Stream {
    /// A stream with room for `capacity` bytes, headed by the `# generated …` line.
    pub fn new(header: &str, capacity: usize) -> Stream {
        let mut out = String::with_capacity(capacity + header.len() + 1);
        // A line break in the header would end the comment and turn the rest into YAML.
        for c in header.chars() {
            out.push(if c.is_control() { '?' } else { c });
        }
        out.push('\n');
        Stream { out }
    }

    /// Append `object` as the next document.
    pub fn push<T: Serialize>(&mut self, object: &T) -> Result<()> {
        self.out.push_str("---\n");
        write_document(&mut self.out, object)
    }

    /// The whole stream.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests;
