//! The YAML form of the Kubernetes objects: one fixed serializer configuration, so that the
//! same objects always give the same bytes, and the stream layout of `redis-sentinel.yaml`.

use anyhow::{Context, Result};
use serde::Serialize;
use serde_saphyr::SerializerOptions;

/// Serializer settings, every one that shapes the output spelled out so that a changed
/// library default cannot silently change the rendered files.
pub fn options() -> SerializerOptions {
    serde_saphyr::ser_options! {
        indent_step: 2,
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
    serde_saphyr::to_string_with_options(object, options())
        .context("bug: a Kubernetes object did not serialize to YAML")
}

/// A YAML stream: the `# generated …` header line, then every document after a `---`.
pub fn stream(header: &str, documents: &[String]) -> String {
    let mut out = String::with_capacity(documents.iter().map(|d| d.len() + 4).sum());
    // A line break in the header would end the comment and turn the rest into YAML.
    for c in header.chars() {
        out.push(if c.is_control() { '?' } else { c });
    }
    out.push('\n');
    for doc in documents {
        out.push_str("---\n");
        out.push_str(doc);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::ConfigMap;

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

    #[test]
    fn stream_starts_with_the_header_and_separates_documents() {
        let out = stream(
            "# generated\nkind: Injected",
            &["a: 1\n".into(), "b: 2\n".into()],
        );
        assert_eq!(out, "# generated?kind: Injected\n---\na: 1\n---\nb: 2\n");
    }
}
