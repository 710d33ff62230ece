//! The profile file as a YAML node tree with a source position on every key and value, built
//! from granit-parser's event stream (the parser serde-saphyr itself runs on).

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span};

use crate::position::Pos;

/// The position a parser marker points at.
fn pos_of(marker: &Marker) -> Pos {
    Pos {
        line: marker.line().max(1),
        column: marker.col() + 1,
    }
}

/// One YAML node.
#[derive(Debug, Clone)]
pub struct Node {
    pub pos: Pos,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    /// `plain` is false for quoted and block scalars and for `!!str`-tagged ones: their text
    /// is a string whatever it looks like.
    Scalar {
        text: String,
        plain: bool,
        /// An explicit tag (`!!float 3`, `!custom x`), shown as written with the core
        /// schema's handle (`!!float`); `None` when the scalar carries none.
        tag: Option<String>,
    },
    Sequence(Vec<Node>),
    Mapping(Vec<Entry>),
}

/// A `key: value` pair of a mapping.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

/// Why the text could not become exactly one YAML document.
#[derive(Debug)]
pub enum ParseFailure {
    /// Not YAML at all.
    Syntax { pos: Pos, message: String },
    /// Nothing but comments and whitespace.
    Empty,
    /// More than one document; `pos` is where the second begins.
    MultipleDocuments { pos: Pos },
    /// Larger than [`MAX_BYTES`]: no profile is, and parsing it would only cost time.
    TooLarge,
    /// More than [`MAX_NODES`] values once aliases are expanded ("billion laughs"); `pos` is
    /// the alias that went over.
    TooManyNodes { pos: Pos },
}

/// The largest profile file read. A real profile is a few kilobytes.
pub const MAX_BYTES: usize = 1024 * 1024;
/// The most values (scalars, lists, mappings) a profile may hold after alias expansion. A
/// real profile has a few hundred; aliases must not turn a small file into gigabytes.
pub const MAX_NODES: usize = 100_000;

impl Node {
    /// True for `~`, `null`, `Null`, `NULL` and an empty plain value.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, plain: true, .. }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// Values in this subtree, itself included.
    fn size(&self) -> usize {
        1 + match &self.kind {
            NodeKind::Scalar { .. } => 0,
            NodeKind::Sequence(items) => items.iter().map(Node::size).sum(),
            NodeKind::Mapping(entries) => entries.iter().map(|e| 1 + e.value.size()).sum(),
        }
    }

    /// What kind of YAML value this is, in words, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Mapping(_) => "a mapping",
            NodeKind::Sequence(_) => "a list",
            NodeKind::Scalar { .. } if self.is_null() => "nothing (null)",
            NodeKind::Scalar { plain: false, .. } => "a quoted string",
            NodeKind::Scalar { .. } => "a scalar",
        }
    }
}

/// Parse `text` into the single document it must hold.
pub fn parse_document(text: &str) -> Result<Node, ParseFailure> {
    if text.len() > MAX_BYTES {
        return Err(ParseFailure::TooLarge);
    }
    let mut builder = Builder::default();
    let mut documents = Vec::new();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(syntax)?;
        match event {
            Event::DocumentStart(..) if !documents.is_empty() => {
                return Err(ParseFailure::MultipleDocuments {
                    pos: pos_of(&span.start),
                });
            }
            Event::DocumentEnd => documents.extend(builder.finished.take()),
            other => builder.push(other, span),
        }
        if let Some(pos) = builder.over_budget {
            return Err(ParseFailure::TooManyNodes { pos });
        }
    }
    documents.pop().ok_or(ParseFailure::Empty)
}

fn syntax(error: ScanError) -> ParseFailure {
    ParseFailure::Syntax {
        pos: pos_of(error.marker()),
        message: error.kind().to_string(),
    }
}

/// Turns the flat event stream into nodes: open collections wait on a stack.
#[derive(Default)]
struct Builder {
    open: Vec<Open>,
    /// Anchored nodes by anchor id, so an alias expands to a copy of its target.
    anchors: HashMap<usize, Node>,
    finished: Option<Node>,
    /// Values built so far, aliases counted at their expanded size.
    nodes: usize,
    /// Where the document went over [`MAX_NODES`].
    over_budget: Option<Pos>,
}

struct Open {
    pos: Pos,
    anchor: usize,
    items: Vec<Node>,
    is_mapping: bool,
}

impl Builder {
    fn push(&mut self, event: Event<'_>, span: Span) {
        let pos = pos_of(&span.start);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, pos);
                let is_str_tag = tag.as_ref().is_some_and(|t| t.core_suffix() == Some("str"));
                let tag = tag.map(|t| match t.core_suffix() {
                    Some(suffix) => format!("!!{suffix}"),
                    None => t.to_string(),
                });
                let node = Node {
                    pos,
                    kind: NodeKind::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain && !is_str_tag,
                        tag,
                    },
                };
                self.complete(node, anchor);
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                self.count(1, pos);
                self.open.push(Open {
                    pos,
                    anchor,
                    items: Vec::new(),
                    is_mapping: matches!(event, Event::MappingStart(..)),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.open.pop() {
                    let kind = if open.is_mapping {
                        NodeKind::Mapping(pairs(open.items))
                    } else {
                        NodeKind::Sequence(open.items)
                    };
                    self.complete(
                        Node {
                            pos: open.pos,
                            kind,
                        },
                        open.anchor,
                    );
                }
            }
            Event::Alias(id) => {
                // The parser rejects an alias to an unknown anchor, so the lookup only misses
                // on a recursive alias; that becomes an empty value for the type check to flag.
                // Counted before the copy is made, so an alias bomb stops before it costs.
                let size = self.anchors.get(&id).map_or(1, Node::size);
                if !self.count(size, pos) {
                    return;
                }
                let node = self.anchors.get(&id).cloned().unwrap_or(Node {
                    pos,
                    kind: NodeKind::Scalar {
                        text: String::new(),
                        plain: false,
                        tag: None,
                    },
                });
                self.complete(Node { pos, ..node }, 0);
            }
            _ => {}
        }
    }

    /// Add `size` values; false (and `over_budget` set) once the document exceeds
    /// [`MAX_NODES`].
    fn count(&mut self, size: usize, pos: Pos) -> bool {
        self.nodes = self.nodes.saturating_add(size);
        if self.nodes > MAX_NODES && self.over_budget.is_none() {
            self.over_budget = Some(pos);
        }
        self.over_budget.is_none()
    }

    fn complete(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.open.last_mut() {
            Some(parent) => parent.items.push(node),
            None => self.finished = Some(node),
        }
    }
}

/// Mapping items arrive as key, value, key, value…
fn pairs(items: Vec<Node>) -> Vec<Entry> {
    let mut entries = Vec::with_capacity(items.len() / 2);
    let mut items = items.into_iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        let key_text = match key.kind {
            NodeKind::Scalar { text, .. } => text,
            // A list or mapping as a key never names a profile field; this text makes the
            // strict check report it as an unknown field.
            NodeKind::Sequence(_) | NodeKind::Mapping(_) => "<complex key>".to_string(),
        };
        entries.push(Entry {
            key: key_text,
            key_pos: key.pos,
            value,
        });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(node: &Node) -> &[Entry] {
        match &node.kind {
            NodeKind::Mapping(entries) => entries,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    #[test]
    fn positions_of_keys_and_values() -> Result<(), String> {
        let doc =
            parse_document("a: 1\nb:\n  c: 'x'\n  d: [1, 2]\n").map_err(|e| format!("{e:?}"))?;
        let top = mapping(&doc);
        assert_eq!(top[0].key_pos, Pos { line: 1, column: 1 });
        assert_eq!(top[0].value.pos, Pos { line: 1, column: 4 });
        let b = mapping(&top[1].value);
        assert_eq!(b[0].key, "c");
        assert_eq!(b[0].value.pos, Pos { line: 3, column: 6 });
        assert!(matches!(
            &b[0].value.kind,
            NodeKind::Scalar { plain: false, .. }
        ));
        assert!(matches!(&b[1].value.kind, NodeKind::Sequence(items) if items.len() == 2));
        Ok(())
    }

    #[test]
    fn aliases_expand_to_their_anchor() -> Result<(), String> {
        let doc = parse_document("a: &x {k: v}\nb: *x\n").map_err(|e| format!("{e:?}"))?;
        let top = mapping(&doc);
        assert_eq!(mapping(&top[1].value)[0].key, "k");
        Ok(())
    }

    #[test]
    fn empty_multiple_and_broken_documents() {
        assert!(matches!(parse_document(""), Err(ParseFailure::Empty)));
        assert!(matches!(
            parse_document(&"#".repeat(MAX_BYTES + 1)),
            Err(ParseFailure::TooLarge)
        ));
        assert!(matches!(
            parse_document("# only a comment\n"),
            Err(ParseFailure::Empty)
        ));
        assert!(matches!(
            parse_document("a: 1\n---\nb: 2\n"),
            Err(ParseFailure::MultipleDocuments {
                pos: Pos { line: 2, .. }
            })
        ));
        assert!(matches!(
            parse_document("a: [1, 2\n"),
            Err(ParseFailure::Syntax { .. })
        ));
    }
}
