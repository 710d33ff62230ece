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

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Span, StructureStyle};

/// Nesting the parser accepts in carried items. It keeps one small record per level; the
/// limit only stops input built to exhaust memory, far beyond any real CRD schema.
const NESTING_LIMIT: usize = 10_000;

/// The owner of an anchor defined outside every item and the functionConfig.
const OUTSIDE: usize = usize::MAX - 1;
/// The owner of an anchor defined in the functionConfig.
const FUNCTION_CONFIG: usize = usize::MAX;

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

/// A node being read: a collection still open, with its role in its parent.
struct Frame {
    mapping: bool,
    /// For a mapping: the key of the entry being read (None for a non-string key).
    key: Option<String>,
    /// For a mapping: the next node is a key.
    want_key: bool,
    /// This collection is a key of its parent mapping.
    is_key: bool,
}

/// What the top-level node being read is.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    None,
    Items,
    Item,
    FunctionConfig,
}

/// Read `text` as a ResourceList. `Err` says why it is not one (nothing safe to echo then).
pub fn read(text: &str) -> Result<ResourceList<'_>, String> {
    let options = serde_saphyr::granit_parser::options! {
        emit_anchor_events: true,
        block_nesting_limit: NESTING_LIMIT,
        flow_nesting_limit: NESTING_LIMIT,
    };
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut reader = Reader {
        text,
        frames: Vec::new(),
        root_start: None,
        slot: Slot::None,
        slot_depth: 0,
        items_key_end: 0,
        items_seen: false,
        items_block: false,
        current: None,
        items: Vec::new(),
        function_config: None,
        api_version: None,
        kind: None,
        anchors: HashMap::new(),
        documents: 0,
        last_started: None,
    };
    loop {
        let (event, span) = match parser.next() {
            Some(Ok(next)) => next,
            Some(Err(e)) => return Err(format!("stdin is not YAML: {e}")),
            None => break,
        };
        if matches!(event, Event::StreamEnd) {
            break;
        }
        reader.event(event, span)?;
    }
    reader.finish()
}

/// An item (or the functionConfig) whose end is not read yet.
struct Open {
    start: usize,
    column: usize,
    block_node: bool,
    header: Header,
    /// Index in `items` of the item (for anchors), or [`FUNCTION_CONFIG`].
    owner: usize,
}

struct Reader<'a> {
    text: &'a str,
    frames: Vec<Frame>,
    root_start: Option<usize>,
    slot: Slot,
    /// Frame depth at which the current slot's node lives.
    slot_depth: usize,
    items_key_end: usize,
    items_seen: bool,
    items_block: bool,
    current: Option<Open>,
    items: Vec<(Open, usize)>,
    function_config: Option<(Open, usize)>,
    api_version: Option<String>,
    kind: Option<String>,
    /// Which item each anchor is defined in: an alias may only refer to its own item, since
    /// items are written back (or dropped) one by one.
    anchors: HashMap<usize, usize>,
    documents: usize,
    /// The node whose properties an `Anchor` event may still move the start of.
    last_started: Option<Slot>,
}

fn byte(marker: &Marker) -> usize {
    marker.byte_offset().unwrap_or_else(|| marker.index())
}

impl<'a> Reader<'a> {
    /// Where a node begins, its tag included.
    fn node_start(span: &Span) -> usize {
        let start = byte(&span.start);
        span.tag_start().map_or(start, |tag| byte(&tag).min(start))
    }

    fn column_of(&self, at: usize) -> usize {
        let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        self.text[line_start..at].chars().count()
    }

    /// The path of map keys from the current slot's node down to the node about to be read,
    /// or None when a list or a non-string key is on the way.
    fn path_in_slot(&self) -> Option<Vec<&str>> {
        let mut path = Vec::new();
        for frame in self.frames.get(self.slot_depth..)? {
            if !frame.mapping {
                return None;
            }
            path.push(frame.key.as_deref()?);
        }
        Some(path)
    }

    fn event(&mut self, event: Event<'a>, span: Span) -> Result<(), String> {
        match event {
            Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(
                        "stdin holds more than one YAML document; a ResourceList is one".into(),
                    );
                }
            }
            Event::Anchor(id, _) => {
                let at = byte(&span.start);
                let owner = match self.slot {
                    Slot::Item | Slot::FunctionConfig => {
                        self.current.as_ref().map_or(OUTSIDE, |open| open.owner)
                    }
                    _ => OUTSIDE,
                };
                self.anchors.insert(id, owner);
                let column = self.column_of(at);
                if let (Some(slot), Some(open)) = (self.last_started, self.current.as_mut())
                    && matches!(slot, Slot::Item | Slot::FunctionConfig)
                    && at < open.start
                {
                    open.start = at;
                    open.column = column;
                }
                if self.last_started == Some(Slot::Item) && self.current.is_none() {
                    // A scalar item already closed: move its recorded start.
                    if let Some((open, _)) = self.items.last_mut()
                        && at < open.start
                    {
                        open.start = at;
                    }
                }
            }
            Event::Alias(id) => {
                let here = match self.slot {
                    Slot::Item | Slot::FunctionConfig => {
                        self.current.as_ref().map(|open| open.owner)
                    }
                    _ => None,
                };
                let defined = self.anchors.get(&id).copied();
                if here.is_none() || defined != here {
                    return Err(format!(
                        "line {}: an alias refers to an anchor outside its own item; each item \
                         must stand on its own (kpt and kustomize never send such lists)",
                        span.start.line()
                    ));
                }
                self.scalar_like(&span, None, false)?;
            }
            Event::UnresolvedAlias(_) => {
                return Err(format!(
                    "line {}: an alias without its anchor",
                    span.start.line()
                ));
            }
            Event::Scalar(value, style, _, _) => {
                let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
                self.scalar_like(&span, Some(value.into_owned()), block)?;
            }
            Event::MappingStart(style, _, _) | Event::SequenceStart(style, _, _) => {
                let mapping = matches!(event, Event::MappingStart(..));
                self.collection_start(&span, mapping, style == StructureStyle::Block)?;
            }
            Event::MappingEnd | Event::SequenceEnd => self.collection_end(&span)?,
            // Comments, document ends and anything a newer parser adds carry no data the list
            // needs; their text stays inside the spans.
            _ => {}
        }
        Ok(())
    }

    /// Role bookkeeping when a node starts in the current top frame: true when it is a key.
    fn node_is_key(&self) -> bool {
        self.frames
            .last()
            .is_some_and(|frame| frame.mapping && frame.want_key)
    }

    /// After a node (a key or a value) is complete in the current top frame.
    fn node_done(&mut self, was_key: bool) {
        if let Some(frame) = self.frames.last_mut()
            && frame.mapping
        {
            frame.want_key = !was_key;
        }
    }

    /// Called when a node starts at depth `frames.len()`: opens an item or the functionConfig.
    fn open_slot(&mut self, span: &Span, block_node: bool) {
        let depth = self.frames.len();
        let start = Self::node_start(span);
        self.last_started = None;
        if self.slot == Slot::Items && depth == self.slot_depth + 1 {
            self.current = Some(Open {
                start,
                column: self.column_of(start),
                block_node,
                header: Header::default(),
                owner: self.items.len(),
            });
            self.slot = Slot::Item;
            self.slot_depth = depth;
            self.last_started = Some(Slot::Item);
        } else if depth == 1 && self.slot == Slot::None {
            let key = self.frames[0].key.clone();
            match key.as_deref() {
                Some("items") if !self.items_seen => {
                    self.items_seen = true;
                    self.slot = Slot::Items;
                    self.slot_depth = 1;
                }
                Some("functionConfig") => {
                    self.current = Some(Open {
                        start,
                        column: self.column_of(start),
                        block_node,
                        header: Header::default(),
                        owner: FUNCTION_CONFIG,
                    });
                    self.slot = Slot::FunctionConfig;
                    self.slot_depth = 1;
                    self.last_started = Some(Slot::FunctionConfig);
                }
                _ => {}
            }
        }
    }

    fn close_slot(&mut self, end: usize) {
        let depth = self.frames.len();
        match self.slot {
            Slot::Item if depth == self.slot_depth => {
                if let Some(open) = self.current.take() {
                    self.items.push((open, end));
                }
                self.slot = Slot::Items;
                self.slot_depth = 1;
            }
            Slot::FunctionConfig if depth == self.slot_depth => {
                self.function_config = self.current.take().map(|open| (open, end));
                self.slot = Slot::None;
                self.slot_depth = 0;
            }
            Slot::Items if depth == 1 => {
                self.slot = Slot::None;
                self.slot_depth = 0;
            }
            _ => {}
        }
    }

    fn scalar_like(
        &mut self,
        span: &Span,
        value: Option<String>,
        block_scalar: bool,
    ) -> Result<(), String> {
        if self.frames.is_empty() {
            return Err(
                "stdin is not a ResourceList (a YAML mapping with kind: ResourceList)".into(),
            );
        }
        let is_key = self.node_is_key();
        if is_key {
            if let Some(frame) = self.frames.last_mut() {
                frame.key = value;
            }
            if self.frames.len() == 1 && self.frames[0].key.as_deref() == Some("items") {
                self.items_key_end = byte(&span.end);
            }
        } else {
            self.open_slot(span, block_scalar);
            if let Some(value) = &value {
                self.record_header(value);
            }
            self.close_slot(byte(&span.end));
        }
        self.node_done(is_key);
        Ok(())
    }

    /// Keep `value` if it is one of the header fields of the item (or functionConfig) being
    /// read, or the list's own apiVersion / kind.
    fn record_header(&mut self, value: &str) {
        if self.frames.len() == 1 && self.slot == Slot::None {
            match self.frames[0].key.as_deref() {
                Some("apiVersion") => self.api_version = Some(value.to_string()),
                Some("kind") => self.kind = Some(value.to_string()),
                _ => {}
            }
            return;
        }
        if !matches!(self.slot, Slot::Item | Slot::FunctionConfig) {
            return;
        }
        let Some(path) = self.path_in_slot() else {
            return;
        };
        let field = match path.as_slice() {
            ["apiVersion"] => 0,
            ["kind"] => 1,
            ["metadata", "name"] => 2,
            ["metadata", "namespace"] => 3,
            ["metadata", "annotations", key] => {
                let key = key.to_string();
                if let Some(open) = self.current.as_mut() {
                    open.header.annotations.push((key, value.to_string()));
                }
                return;
            }
            _ => return,
        };
        if let Some(open) = self.current.as_mut() {
            let header = &mut open.header;
            let slot = match field {
                0 => &mut header.api_version,
                1 => &mut header.kind,
                2 => &mut header.name,
                _ => &mut header.namespace,
            };
            *slot = Some(value.to_string());
        }
    }

    fn collection_start(&mut self, span: &Span, mapping: bool, block: bool) -> Result<(), String> {
        if self.frames.is_empty() {
            if !mapping {
                return Err(
                    "stdin is not a ResourceList (a YAML mapping with kind: ResourceList)".into(),
                );
            }
            self.root_start = Some(Self::node_start(span));
            self.frames.push(Frame {
                mapping,
                key: None,
                want_key: true,
                is_key: false,
            });
            return Ok(());
        }
        let is_key = self.node_is_key();
        if is_key {
            if let Some(frame) = self.frames.last_mut() {
                frame.key = None;
            }
        } else {
            let opens_items = self.frames.len() == 1
                && self.slot == Slot::None
                && self.frames[0].key.as_deref() == Some("items")
                && !self.items_seen;
            self.open_slot(span, block);
            if opens_items {
                if !mapping {
                    self.items_block = block;
                } else {
                    return Err("the ResourceList's `items` is not a list".into());
                }
            }
        }
        self.frames.push(Frame {
            mapping,
            key: None,
            want_key: mapping,
            is_key,
        });
        Ok(())
    }

    fn collection_end(&mut self, span: &Span) -> Result<(), String> {
        let Some(frame) = self.frames.pop() else {
            return Err("unbalanced YAML events".into());
        };
        if self.frames.is_empty() {
            return Ok(());
        }
        if !frame.is_key {
            self.close_slot(byte(&span.end));
        }
        self.node_done(frame.is_key);
        Ok(())
    }

    fn finish(self) -> Result<ResourceList<'a>, String> {
        let text = self.text;
        if self.kind.as_deref() != Some("ResourceList") {
            return Err(
                "stdin is not a ResourceList (kind: ResourceList, apiVersion: config.kubernetes.io/v1)"
                    .into(),
            );
        }
        let root_start = self.root_start.unwrap_or(0);
        let prefix = &text[..root_start];
        let prefix = if prefix.lines().any(|line| line.starts_with('%')) {
            prefix
        } else {
            ""
        };
        let block_list = self.items_block && !self.items.is_empty();
        let mut items = Vec::with_capacity(self.items.len());
        let mut dash_column = 0;
        if block_list {
            // Each item's unit runs from the start of its `-` line to the start of the next
            // item's `-` line: the comments between items stay with the item above them.
            let mut dashes = Vec::with_capacity(self.items.len());
            let mut from = self.items_key_end;
            for (open, end) in &self.items {
                let dash = find_dash(text, from, open.start).ok_or_else(|| {
                    format!(
                        "the `items` list is laid out in a way this function does not read \
                         (near byte {})",
                        open.start
                    )
                })?;
                dashes.push(dash);
                from = *end;
            }
            dash_column = dashes.first().map_or(0, |&d| d - line_start(text, d));
            for (index, (open, end)) in self.items.into_iter().enumerate() {
                let unit_start = line_start(text, dashes[index]);
                let unit_end = match dashes.get(index + 1) {
                    Some(&next) => line_start(text, next),
                    None => line_end(text, end),
                };
                items.push(Item {
                    unit: &text[unit_start..unit_end],
                    block_unit: true,
                    node: &text[open.start..end],
                    column: open.column,
                    block_node: open.block_node,
                    header: open.header,
                });
            }
        } else {
            for (open, end) in self.items {
                items.push(Item {
                    unit: &text[open.start..end],
                    block_unit: false,
                    node: &text[open.start..end],
                    column: open.column,
                    block_node: open.block_node,
                    header: open.header,
                });
            }
        }
        let function_config = self.function_config.map(|(open, end)| Item {
            unit: &text[open.start..end],
            block_unit: false,
            node: &text[open.start..end],
            column: open.column,
            block_node: open.block_node,
            header: open.header,
        });
        Ok(ResourceList {
            prefix,
            api_version: self.api_version,
            items,
            dash_column,
            function_config,
        })
    }
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The end of the line `at` is on (after its line break), or `at` itself when it already
/// starts a line.
fn line_end(text: &str, at: usize) -> usize {
    if at == 0 || text[..at].ends_with('\n') {
        return at;
    }
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

/// The `-` indicator between `from` and the node starting at `node`: only blanks, comments
/// and (before the first item) the `items` key's `:` may come before it, and only blanks
/// before it on its line.
fn find_dash(text: &str, from: usize, node: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    while at < node {
        match bytes[at] {
            b' ' | b'\t' | b'\r' | b'\n' | b':' => at += 1,
            b'#' => at = text[at..].find('\n').map_or(node, |i| at + i),
            b'-' => {
                let start = line_start(text, at);
                return text[start..at].bytes().all(|b| b == b' ').then_some(at);
            }
            _ => return None,
        }
    }
    None
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
