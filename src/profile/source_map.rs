//! Where each field of a profile is written: field paths (`spec.sentinel.quorum`) and the
//! [`SourceMap`] from each path to its line and column, which findings point through.

use std::collections::BTreeMap;

use crate::diagnostic::{Finding, Severity};
use crate::position::Pos;
use crate::profile::yaml::{Node, NodeKind};

/// Where each field of the profile is written. Paths look like `spec.sentinel.quorum` and
/// `spec.clients[1].name`.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    file: String,
    /// Position of each key (for list items: of the item).
    keys: BTreeMap<String, Pos>,
    /// Position of each scalar value.
    values: BTreeMap<String, Pos>,
}

impl SourceMap {
    /// A map of `document`, read from `file`.
    pub fn of(file: &str, document: &Node) -> SourceMap {
        let mut map = SourceMap {
            file: file.to_string(),
            ..SourceMap::default()
        };
        map.index(document, "");
        map
    }

    fn index(&mut self, node: &Node, path: &str) {
        match &node.kind {
            NodeKind::Scalar { .. } => {
                self.values.entry(path.to_string()).or_insert(node.pos);
            }
            NodeKind::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let child = format!("{path}[{i}]");
                    self.keys.insert(child.clone(), item.pos);
                    self.index(item, &child);
                }
            }
            NodeKind::Mapping(entries) => {
                for entry in entries {
                    let child = child_path(path, &entry.key);
                    // The first occurrence wins: a duplicate key is reported at its own
                    // position by the structural check.
                    self.keys.entry(child.clone()).or_insert(entry.key_pos);
                    self.index(&entry.value, &child);
                }
            }
        }
    }

    /// Position of the key of `path`, if it is written.
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.keys.get(path).copied()
    }

    /// Position of the scalar value of `path`, if it is written.
    pub fn value(&self, path: &str) -> Option<Pos> {
        self.values.get(path).copied()
    }

    /// Where a finding about `path` points: its value when it is a written scalar, else its
    /// key, else (the field is absent, so a default is at fault) the nearest written parent.
    pub fn locate(&self, path: &str) -> Pos {
        let mut path = path;
        loop {
            if let Some(pos) = self.value(path).or_else(|| self.key(path)) {
                return pos;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = &path[..cut],
                None => return Pos::START,
            }
        }
    }

    /// An error about `path`, positioned.
    pub fn error(&self, path: &str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Error, &self.file, message)
            .at(self.locate(path))
            .field(path)
    }

    /// A warning about `path`, positioned.
    pub fn warning(&self, path: &str, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Warning, &self.file, message)
            .at(self.locate(path))
            .field(path)
    }
}

/// `spec` + `quorum` → `spec.quorum`; keys that are not plain identifiers (label keys such
/// as `app.kubernetes.io/name`) are bracketed so the path stays unambiguous.
pub fn child_path(parent: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{key:?}]"),
    }
}
