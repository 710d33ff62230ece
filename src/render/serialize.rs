//! The YAML form of the Kubernetes objects: one fixed serializer configuration, so that the
//! same objects always give the same bytes, and the stream layout of `redis-sentinel.yaml`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;
use serde_saphyr::SerializerOptions;

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

/// [`document`], appended to `out`.
fn write_document<T: Serialize>(out: &mut String, object: &T) -> Result<()> {
    serde_saphyr::to_fmt_writer_with_options(out, object, options())
        .context("bug: a Kubernetes object did not serialize to YAML")
}

/// [`document`] of a ConfigMap, byte for byte, faster. Its files are most of the rendered
/// bytes, and the serializer checks them character by character; here each file that is
/// plainly a `|` literal block (see [`literal_block`]) is written directly, in the place and
/// form the serializer gives it, and everything else (the metadata, any other value) still
/// goes through the serializer.
pub fn config_map_document(config_map: &ConfigMap) -> Result<String> {
    let mut out = String::new();
    write_config_map(&mut out, config_map)?;
    Ok(out)
}

/// [`config_map_document`], appended to `out`.
fn write_config_map(out: &mut String, config_map: &ConfigMap) -> Result<()> {
    let Some(data) = &config_map.data else {
        return write_document(out, config_map);
    };
    let mut blocks = Vec::new();
    let mut stub_data = BTreeMap::new();
    for (i, (key, value)) in data.iter().enumerate() {
        match literal_block(value) {
            Some(block) => {
                let placeholder = format!("redis-sentinel-gen-literal-block-{i}-end");
                blocks.push((placeholder.clone(), block));
                stub_data.insert(key.clone(), placeholder);
            }
            None => {
                stub_data.insert(key.clone(), value.clone());
            }
        }
    }
    if blocks.is_empty() {
        return write_document(out, config_map);
    }
    let stub = ConfigMap {
        binary_data: config_map.binary_data.clone(),
        data: Some(stub_data),
        immutable: config_map.immutable,
        metadata: config_map.metadata.clone(),
    };
    let text = document(&stub)?;
    // Each placeholder must be in the stub exactly once, as the whole value of a `key: ` line;
    // anywhere else too (a metadata value that happens to hold it) and the serializer has the
    // last word.
    let cuts: Option<Vec<(usize, usize)>> = blocks
        .iter()
        .map(|(placeholder, _)| {
            let value = format!(": {placeholder}\n");
            let at = text.find(&value)?;
            (text.matches(placeholder.as_str()).count() == 1).then_some((at, value.len()))
        })
        .collect();
    let Some(cuts) = cuts else {
        return write_document(out, config_map);
    };
    out.reserve(text.len() + blocks.iter().map(|(_, b)| b.estimated_len()).sum::<usize>());
    let mut done = 0;
    for ((at, len), (_, block)) in cuts.into_iter().zip(&blocks) {
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        let key_column =
            text[line_start..].len() - text[line_start..].trim_start_matches(' ').len();
        out.push_str(&text[done..at + 2]);
        block.write(out, key_column + INDENT_STEP);
        done = at + len;
    }
    out.push_str(&text[done..]);
    Ok(())
}

/// `indent_step` of [`options`].
const INDENT_STEP: usize = 2;

/// A multi-line value as the serializer writes it with [`options`]: a `|` block whose body is
/// one step deeper than its key, with the chomping indicator its trailing newlines call for
/// (none for one, `-` for none, `+` for more) and empty lines left unindented.
struct LiteralBlock<'a> {
    chomp: &'static str,
    content: &'a str,
    extra_newlines: usize,
}

/// The literal block of `value`, when its form is certain: only characters the serializer
/// accepts in a block scalar (see [`block_safe`]), at least one line break and one other
/// character, and a first line that does not start with a blank (which would call for an
/// indentation indicator). Anything else: `None`.
fn literal_block(value: &str) -> Option<LiteralBlock<'_>> {
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
    /// Room to reserve for it: the content and some indentation.
    fn estimated_len(&self) -> usize {
        self.content.len() * 5 / 4 + 8
    }

    fn write(&self, out: &mut String, body_column: usize) {
        out.push('|');
        out.push_str(self.chomp);
        out.push('\n');
        let indent = " ".repeat(body_column);
        for line in self.content.split('\n') {
            if !line.is_empty() {
                out.push_str(&indent);
                out.push_str(line);
            }
            out.push('\n');
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

    /// Append the ConfigMap `config_map` as the next document ([`config_map_document`]).
    pub fn push_config_map(&mut self, config_map: &ConfigMap) -> Result<()> {
        self.out.push_str("---\n");
        write_config_map(&mut self.out, config_map)
    }

    /// The whole stream.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings a YAML 1.1 reader resolves to booleans, numbers or null.
    const YAML11_TRAPS: &[&str] = &[
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "Y",
        "NO",
        "On",
        "true",
        "False",
        "null",
        "Null",
        "~",
        "",
        "1_000",
        "0777",
        "0o17",
        "0x1F",
        "1e3",
        "1.5",
        ".inf",
        "-.nan",
        "12:30",
        "2024-01-01",
        "+1",
    ];

    fn config_map(data: BTreeMap<String, String>) -> ConfigMap {
        ConfigMap {
            data: Some(data),
            ..Default::default()
        }
    }

    #[test]
    fn yaml11_lookalikes_are_quoted_and_round_trip() {
        let data: BTreeMap<String, String> = YAML11_TRAPS
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("k{i:02}"), (*v).to_string()))
            .collect();
        let cm = config_map(data);
        let yaml = document(&cm).unwrap();
        for (i, value) in YAML11_TRAPS.iter().enumerate() {
            let line = yaml
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("k{i:02}:")))
                .unwrap_or_else(|| panic!("no line for {value:?} in\n{yaml}"));
            let rendered = line.split_once(": ").map_or("", |(_, v)| v);
            assert!(
                rendered.starts_with('\'') || rendered.starts_with('"'),
                "{value:?} is not quoted: {line:?}"
            );
        }
        let back: ConfigMap = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, cm);
    }

    #[test]
    fn multi_line_files_become_literal_blocks_and_round_trip() {
        let script = "#!/bin/sh\nset -eu\n# yes: on\nexec redis-server \"$1\"\n";
        let cm = config_map(BTreeMap::from([(
            "start.sh".to_string(),
            script.to_string(),
        )]));
        let yaml = document(&cm).unwrap();
        assert!(
            yaml.contains("start.sh: |\n    #!/bin/sh\n    set -eu\n"),
            "not a literal block:\n{yaml}"
        );
        let back: ConfigMap = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, cm);
    }

    /// Values at the edges of what [`literal_block`] writes itself, and past them.
    const EDGES: &[&str] = &[
        "#!/bin/sh\nset -eu\n",
        "no trailing newline\nsecond",
        "two trailing\n\n",
        "three trailing\n\n\n",
        "\nleading newline\n",
        "\n\nleading newlines\nx",
        "a\n\n\nb\n",
        "trailing spaces   \n  indented\n\tand a tab\n",
        "  indented first line\nx\n",
        "\tfirst line a tab\n",
        "\n  indented after a blank\n",
        "\n",
        "\n\n",
        "",
        "single line",
        "key: value # yes\n- item\n'quoted' \"double\"\n",
        "unicode \u{e9} — … \u{1F600}\n",
        "next line \u{85}\n",
        "line separator \u{2028}\n",
        "paragraph separator \u{2029}\n",
        "byte order mark \u{FEFF}\n",
        "not a character \u{FFFE}\n",
        "delete \u{7F}\n",
        "C1 \u{9F}\n",
        "no-break space \u{A0}\n",
        "past the first blocks of bytes 0123456789 0123456789 0123456789 — fine\n",
        "past the first blocks of bytes 0123456789 0123456789 0123456789 \u{2028} not\n",
        "past the first blocks of bytes 0123456789 0123456789 0123456789 \r not\n",
        "carriage\r\nreturn\n",
        "redis-sentinel-gen-literal-block-0-end\nx\n",
        "bell \u{7}\n",
    ];

    #[test]
    fn config_maps_are_written_exactly_as_the_serializer_writes_them() {
        let mut cases: Vec<ConfigMap> = EDGES
            .iter()
            .map(|v| config_map(BTreeMap::from([("file".to_string(), (*v).to_string())])))
            .collect();
        let all: BTreeMap<String, String> = EDGES
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("f{i:02}.sh"), (*v).to_string()))
            .collect();
        let mut named = config_map(all.clone());
        named.metadata.name = Some("redis-config".into());
        named.metadata.labels = Some(BTreeMap::from([(
            "note".to_string(),
            "redis-sentinel-gen-literal-block-3-end".to_string(),
        )]));
        cases.push(named);
        cases.push(config_map(BTreeMap::new()));
        cases.push(ConfigMap::default());
        let mut fast_paths = 0;
        for case in &cases {
            let expected = document(case).unwrap();
            assert_eq!(config_map_document(case).unwrap(), expected, "{case:?}");
            let back: ConfigMap = serde_saphyr::from_str(&expected).unwrap();
            assert_eq!(&back, case);
            fast_paths += usize::from(
                case.data
                    .iter()
                    .flat_map(|d| d.values())
                    .any(|v| literal_block(v).is_some()),
            );
        }
        assert!(
            fast_paths > 8,
            "only {fast_paths} cases took the direct path"
        );
    }

    /// The direct path is the point: the files of the default deployment must all take it
    /// (a value that silently falls back costs a third of a render, and no output shows it).
    #[test]
    fn every_rendered_file_is_written_directly() {
        use crate::profile::load::{Source, load};
        use crate::render::{backup, redis, sentinel};

        let loaded = load(&Source::embedded_default()).unwrap();
        let dep = crate::resolve::resolve(&loaded.profile, "default");
        let maps = [
            redis::config_map(&dep).unwrap(),
            sentinel::config_map(&dep).unwrap(),
            backup::config_map(&dep)
                .unwrap()
                .expect("the default has a backup"),
        ];
        for map in maps {
            for (key, value) in map.data.iter().flatten() {
                assert!(
                    literal_block(value).is_some(),
                    "{key} is not written directly"
                );
            }
        }
    }

    #[test]
    fn stream_starts_with_the_header_and_separates_documents() {
        let out = stream(
            "# generated\nkind: Injected",
            &["a: 1\n".into(), "b: 2\n".into()],
        );
        assert_eq!(out, "# generated?kind: Injected\n---\na: 1\n---\nb: 2\n");
    }
}
