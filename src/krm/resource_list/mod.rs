//! Reading and writing the `ResourceList` without re-serializing what the function does not
//! own. The input is read once as a stream of parser events with byte positions; every item
//! is kept as its source text (plus the few header fields the function needs: apiVersion,
//! kind, name, namespace, annotations), and written back as that text.
//!
//! Why text and not a value tree: a tree rebuilt through serde resolves scalars (YAML 1.1
//! `on`, `y` and `off` as booleans, `12345678901234567890123` as a float, `1.10` as `1.1`)
//! and drops tags, anchors and comments. Carrying the bytes keeps all of that by
//! construction, whatever YAML the orchestrator sent. It also bounds memory: no tree is built
//! for an item the function only carries, so a package of 10,000 items or a CRD nested a few
//! hundred levels deep costs its text and nothing more.
//!
//! - `reader`: the parser's events, turned into the items' spans and headers;
//! - `units`: what is written back for each item, cut from the list's own lines.

mod reader;
mod units;

pub use reader::read;

/// One item of the input list.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    /// What is written back for it: in a block list, its whole lines from the `-` line on
    /// (comments included), verbatim; in a flow list, the node's text.
    pub unit: &'a str,
    /// True when `unit` starts with the item's `-` line and is written back as is.
    pub block_unit: bool,
    /// The node alone (properties included), for reading it as a document.
    pub node: &'a str,
    /// Column of the node's first character.
    pub column: usize,
    /// True when the node is a block collection or block scalar: its lines only keep their
    /// meaning at their own columns.
    pub block_node: bool,
    pub header: Header,
}

/// The fields of an object the function reads without building the object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub annotations: Vec<(String, String)>,
}

impl Header {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The input list, as spans of its text.
#[derive(Debug)]
pub struct ResourceList<'a> {
    /// Directives and `---` before the root, when there are directives (`%TAG` handles that
    /// carried items may use); empty otherwise.
    pub prefix: &'a str,
    pub api_version: Option<String>,
    pub items: Vec<Item<'a>>,
    /// Column of the items' `-` in a block list (0 for a flow list or none).
    pub dash_column: usize,
    pub function_config: Option<Item<'a>>,
}

/// `node` placed after `lead` (`- ` or `key: `) in output whose block lines are at the
/// columns they had: a block node keeps its lines where they were (so block scalars and
/// nested blocks keep their meaning), a flow node or scalar is moved, its continuation lines
/// indented further (blanks at the start of a flow line carry no meaning).
pub fn place(node: &str, column: usize, block_node: bool, lead: &str, out: &mut String) {
    if block_node {
        out.push_str(lead.trim_end());
        out.push('\n');
        out.push_str(&" ".repeat(column));
        out.push_str(node);
    } else {
        out.push_str(lead);
        for (index, line) in node.split('\n').enumerate() {
            if index > 0 {
                out.push('\n');
                if !line.is_empty() {
                    out.push_str("  ");
                    out.push_str(&" ".repeat(column_of_lead(lead)));
                }
            }
            out.push_str(line);
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

fn column_of_lead(lead: &str) -> usize {
    lead.len() - lead.trim_start().len()
}

/// The node as a document of its own, for a parser that reads documents: a block node gets
/// its first line's indentation back so every line stays at its column.
pub fn standalone(item: &Item<'_>) -> String {
    if item.block_node {
        format!("{}{}", " ".repeat(item.column), item.node)
    } else {
        item.node.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n\
- # head comment\n  apiVersion: v1 # trailing\n  kind: ConfigMap\n  metadata:\n    name: odd\n    \
annotations: {a: '1'}\n  data: {y: \"2\", on: enabled}\n  # foot comment\n\
- !Custom &a\n  x: |\n    block\n  z: *a\n\
- [1, 2]\n- \"s\"\n# end\nfunctionConfig:\n  a: !!binary aGVsbG8=\n";

    #[test]
    fn items_are_spans_of_whole_lines_with_their_headers() {
        let list = read(LIST).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.items.len(), 4);
        assert_eq!(
            list.items[0].unit,
            "- # head comment\n  apiVersion: v1 # trailing\n  kind: ConfigMap\n  metadata:\n    \
             name: odd\n    annotations: {a: '1'}\n  data: {y: \"2\", on: enabled}\n  # foot comment\n"
        );
        assert_eq!(list.items[0].header.kind.as_deref(), Some("ConfigMap"));
        assert_eq!(list.items[0].header.name.as_deref(), Some("odd"));
        assert_eq!(list.items[0].header.annotation("a"), Some("1"));
        assert_eq!(
            list.items[1].unit,
            "- !Custom &a\n  x: |\n    block\n  z: *a\n"
        );
        assert!(list.items[1].node.starts_with("!Custom &a"));
        assert_eq!(list.items[3].unit, "- \"s\"\n");
        let config = list.function_config.unwrap_or_else(|| panic!("no config"));
        assert_eq!(standalone(&config), "  a: !!binary aGVsbG8=\n");
        let units: String = list.items.iter().map(|i| i.unit).collect();
        assert!(LIST.contains(&units), "units are the list's own text");
    }

    #[test]
    fn an_alias_to_another_item_is_refused() {
        let text = "kind: ResourceList\nitems:\n- &a {x: 1}\n- *a\n";
        assert!(read(text).is_err_and(|e| e.contains("anchor outside")));
    }

    #[test]
    fn flow_lists_are_read_node_by_node() {
        let text = "{\"kind\": \"ResourceList\", \"items\": [{\"kind\": \"A\",\n \"metadata\": {\"name\": \"x\"}}]}";
        let list = read(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.items.len(), 1);
        assert!(!list.items[0].block_unit);
        assert_eq!(list.items[0].header.name.as_deref(), Some("x"));
        let mut out = String::new();
        place(
            list.items[0].node,
            list.items[0].column,
            false,
            "- ",
            &mut out,
        );
        assert_eq!(
            out,
            "- {\"kind\": \"A\",\n   \"metadata\": {\"name\": \"x\"}}\n"
        );
    }
}
