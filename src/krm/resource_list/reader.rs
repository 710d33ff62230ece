//! The ResourceList read as a stream of parser events: which node is an item or the
//! functionConfig, where each begins and ends, and the header fields of each.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Span, StructureStyle};

use super::{Header, ResourceList};

/// Nesting the parser accepts in carried items. It keeps one small record per level; the
/// limit only stops input built to exhaust memory, far beyond any real CRD schema.
const NESTING_LIMIT: usize = 10_000;

/// The owner of an anchor defined outside every item and the functionConfig.
const OUTSIDE: usize = usize::MAX - 1;
/// The owner of an anchor defined in the functionConfig.
const FUNCTION_CONFIG: usize = usize::MAX;
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
        last_end: 0,
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
pub(super) struct Open {
    pub(super) start: usize,
    pub(super) column: usize,
    pub(super) block_node: bool,
    pub(super) header: Header,
    /// Index in `items` of the item (for anchors), or [`FUNCTION_CONFIG`].
    owner: usize,
}

pub(super) struct Reader<'a> {
    pub(super) text: &'a str,
    frames: Vec<Frame>,
    pub(super) root_start: Option<usize>,
    slot: Slot,
    /// Frame depth at which the current slot's node lives.
    slot_depth: usize,
    pub(super) items_key_end: usize,
    items_seen: bool,
    pub(super) items_block: bool,
    current: Option<Open>,
    pub(super) items: Vec<(Open, usize)>,
    pub(super) function_config: Option<(Open, usize)>,
    pub(super) api_version: Option<String>,
    pub(super) kind: Option<String>,
    /// Which item each anchor is defined in: an alias may only refer to its own item, since
    /// items are written back (or dropped) one by one.
    anchors: HashMap<usize, usize>,
    documents: usize,
    /// The node whose properties an `Anchor` event may still move the start of.
    last_started: Option<Slot>,
    /// End of the last node or collection event: a block scalar's header lies after it.
    last_end: usize,
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
        let structural = matches!(
            event,
            Event::Scalar(..)
                | Event::Alias(_)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
                | Event::MappingEnd
                | Event::SequenceEnd
        );
        self.handle(event, span)?;
        if structural {
            self.last_end = self.last_end.max(byte(&span.end));
        }
        Ok(())
    }

    fn handle(&mut self, event: Event<'a>, span: Span) -> Result<(), String> {
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
                if self.current.is_none() {
                    // A scalar item (or functionConfig) already closed: move its recorded start.
                    let closed = match self.last_started {
                        Some(Slot::Item) => self.items.last_mut(),
                        Some(Slot::FunctionConfig) => self.function_config.as_mut(),
                        _ => None,
                    };
                    if let Some((open, _)) = closed
                        && at < open.start
                    {
                        open.start = at;
                        open.column = column;
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

    /// Called when a node starts at depth `frames.len()`, at byte `start` (its properties
    /// included): opens an item or the functionConfig.
    fn open_slot(&mut self, start: usize, block_node: bool) {
        let depth = self.frames.len();
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
            let mut start = Self::node_start(span);
            if block_scalar {
                // The parser's span of a block scalar starts at its first content line; the
                // node starts at its `|` or `>` header (or at its tag, read above).
                start = start.min(block_scalar_header(self.text, self.last_end, start));
            }
            self.open_slot(start, block_scalar);
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
            self.open_slot(Self::node_start(span), block);
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
}

/// Where the header (`|` or `>`) of the block scalar whose content starts at `content` is:
/// the first indicator after `from` (the end of the node before it: a key, a `-`), past the
/// blanks, comments, `:`/`-`/`?` indicators and properties between them. `content` when the
/// text there does not read that way (the parser has accepted it, so this does not happen).
fn block_scalar_header(text: &str, from: usize, content: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = from.min(content);
    while at < content {
        match bytes[at] {
            b'|' | b'>' => return at,
            b' ' | b'\t' | b'\r' | b'\n' | b':' | b'-' | b'?' => at += 1,
            b'#' => at = text[at..].find('\n').map_or(content, |i| at + i),
            b'!' | b'&' => {
                while at < content && !matches!(bytes[at], b' ' | b'\t' | b'\r' | b'\n') {
                    at += 1;
                }
            }
            _ => return content,
        }
    }
    content
}
