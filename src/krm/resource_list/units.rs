//! The read list cut into what is written back: in a block list each item's whole lines from
//! its `-` on, comments included; in a flow list (or for the functionConfig) the node's text.

use super::reader::Reader;
use super::{Item, ResourceList};

impl<'a> Reader<'a> {
    pub(super) fn finish(self) -> Result<ResourceList<'a>, String> {
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
