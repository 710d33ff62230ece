//! The source scan the layer tests read src/ with: comments, string and character literals and
//! `#[cfg(test)]` items left out, then every `crate::` path (or `super::` chain reaching the
//! crate root) that names a top-level module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One `crate::<module>` reference (or `super::` path reaching the crate root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reference {
    pub(super) line: usize,
    pub(super) module: String,
}

/// `text` with comments, string and character literals blanked out (newlines kept, so line
/// numbers hold).
pub(super) fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, part: &[char]| {
        out.extend(part.iter().map(|&c| if c == '\n' { '\n' } else { ' ' }));
    };
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let raw = if i == 0 || !ident(chars[i - 1]) {
            raw_string_start(&chars, i)
        } else {
            None
        };
        let end = if at(i, "//") {
            (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len())
        } else if at(i, "/*") {
            let (mut depth, mut j) = (0, i);
            while j < chars.len() {
                if at(j, "/*") {
                    depth += 1;
                    j += 2;
                } else if at(j, "*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            j.min(chars.len())
        } else if let Some((open, hashes)) = raw {
            let close: String = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            (open..chars.len())
                .find(|&j| at(j, &close))
                .map_or(chars.len(), |j| j + close.len())
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            (j + 1).min(chars.len())
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{1F600}'); a lifetime has no closing quote.
            let escaped = chars.get(i + 1) == Some(&'\\');
            let from = if escaped { i + 3 } else { i + 2 };
            let close = (from..chars.len().min(i + 12)).find(|&j| chars[j] == '\'');
            match close {
                Some(j) if escaped || j == i + 2 => j + 1,
                _ => i,
            }
        } else {
            i
        };
        if end > i {
            blank(&mut out, &chars[i..end]);
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Where a raw string starting at `i` (`r"`, `r#"`, `br##"`) opens its content, and its
/// number of `#`; None when no raw string starts there (`r#type` is an identifier).
pub(super) fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let prefix = match (chars[i], chars.get(i + 1)) {
        ('r', _) => 1,
        ('b', Some('r')) => 2,
        _ => return None,
    };
    let mut j = i + prefix;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    j += hashes;
    (chars.get(j) == Some(&'"')).then_some((j + 1, hashes))
}

/// The index just past the item starting at `from`: its closing brace, or its `;` when it
/// has no body.
pub(super) fn item_end(code: &[char], from: usize) -> usize {
    let mut depth = 0usize;
    for (i, &c) in code.iter().enumerate().skip(from) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            ';' if depth == 0 => return i + 1,
            _ => {}
        }
    }
    code.len()
}

/// `code` with every `#[cfg(test)]` item blanked out, and the names of the test modules it
/// declares as files (`#[cfg(test)] mod tests;`).
pub(super) fn without_tests(code: &str) -> (String, Vec<String>) {
    const MARK: &str = "#[cfg(test)]";
    let mut chars: Vec<char> = code.chars().collect();
    let mut test_files = Vec::new();
    loop {
        let text: String = chars.iter().collect();
        let Some(byte) = text.find(MARK) else {
            break;
        };
        let start = text[..byte].chars().count();
        let after = start + MARK.len();
        let end = item_end(&chars, after);
        let item: String = chars[after..end].iter().collect();
        let words: Vec<&str> = item
            .split(|c: char| c.is_whitespace() || c == ';')
            .filter(|w| !w.is_empty())
            .collect();
        if let [.., "mod", name] = words.as_slice()
            && item.trim_end().ends_with(';')
        {
            test_files.push((*name).to_string());
        }
        for c in &mut chars[start..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    }
    (chars.into_iter().collect(), test_files)
}

/// Every top-level module that `code` (of a file whose module path is `path`, e.g.
/// `["profile", "schema"]`) names: `crate::m`, each head of `crate::{a, b::c}`, and a
/// `super::` chain long enough to reach the crate root.
pub(super) fn references(code: &str, path: &[String]) -> Vec<Reference> {
    let chars: Vec<char> = code.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let line_of = |i: usize| chars[..i].iter().filter(|&&c| c == '\n').count() + 1;
    let skip_space = |mut i: usize| {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        i
    };
    let word_at = |i: usize| -> String { chars[i..].iter().take_while(|&&c| ident(c)).collect() };
    let path_sep = |i: usize| -> Option<usize> {
        let i = skip_space(i);
        (chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':')).then(|| skip_space(i + 2))
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !ident(chars[i]) || (i > 0 && (ident(chars[i - 1]) || chars[i - 1] == '$')) {
            i += 1;
            continue;
        }
        let word = word_at(i);
        let start = i;
        i += word.len();
        let head = match word.as_str() {
            "crate" => path_sep(i),
            "super" => {
                let mut ups = 1;
                let mut next = path_sep(i);
                while let Some(n) = next
                    && word_at(n) == "super"
                {
                    ups += 1;
                    next = path_sep(n + "super".len());
                }
                next.filter(|_| ups >= path.len())
            }
            _ => None,
        };
        let Some(head) = head else {
            continue;
        };
        let line = line_of(start);
        if chars.get(head) == Some(&'{') {
            let end = item_end(&chars, head);
            let group: String = chars[head + 1..end.saturating_sub(1)].iter().collect();
            let mut depth = 0;
            let mut heads = vec![String::new()];
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => heads.push(String::new()),
                    _ => {}
                }
                if let Some(last) = heads.last_mut()
                    && depth == 0
                    && c != ','
                {
                    last.push(c);
                }
            }
            for head in heads {
                let name: String = head
                    .trim_start()
                    .chars()
                    .take_while(|&c| ident(c))
                    .collect();
                if !name.is_empty() {
                    found.push(Reference { line, module: name });
                }
            }
            i = end;
        } else {
            let name = word_at(head);
            if !name.is_empty() {
                found.push(Reference { line, module: name });
            }
        }
    }
    found
}

/// The module path of a file under src/ (`profile/schema.rs` → `["profile", "schema"]`,
/// `render/mod.rs` → `["render"]`).
pub(super) fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

pub(super) fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The top-level modules src/lib.rs declares.
pub(super) fn crate_modules(src: &Path) -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap_or_else(|e| panic!("{e}"));
    code_only(&lib)
        .lines()
        .filter_map(|line| {
            let line = line.trim().strip_prefix("pub ").unwrap_or(line.trim());
            line.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(|m| m.trim().to_string())
        })
        .collect()
}

/// Every reference from one top-level module to another in the non-test code of src/, as
/// (file relative to the repository, reference, importing module).
pub(super) fn crate_references(src: &Path) -> Vec<(String, Reference, String)> {
    let mut code = BTreeMap::new();
    let mut test_files: Vec<PathBuf> = Vec::new();
    for file in rust_files(src) {
        let relative = file
            .strip_prefix(src)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_path_buf();
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let (kept, tests) = without_tests(&code_only(&text));
        let dir = match relative.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs" | "lib.rs" | "main.rs") => relative.parent().map(Path::to_path_buf),
            _ => Some(relative.with_extension("")),
        }
        .unwrap_or_default();
        test_files.extend(tests.iter().map(|t| dir.join(t)));
        code.insert(relative, kept);
    }
    let mut found = Vec::new();
    for (relative, code) in code {
        let is_test = test_files
            .iter()
            .any(|t| relative.starts_with(t) || relative == t.with_extension("rs"));
        if is_test || relative == Path::new("lib.rs") || relative == Path::new("main.rs") {
            continue;
        }
        let path = module_path(&relative);
        for reference in references(&code, &path) {
            if reference.module != path[0] {
                let shown = Path::new("src").join(&relative).display().to_string();
                found.push((shown, reference, path[0].clone()));
            }
        }
    }
    found
}

/// The scan sees paths in code, and not in comments, strings or test modules.
#[test]
fn the_scan_sees_code_and_skips_comments_strings_and_tests() {
    let source = r##"//! Uses `crate::render` in prose.
use crate::resolve::{self, Deployment};
use crate::{emit, kustomize::Thing};
/* crate::krm, /* nested crate::cli */ still crate::run */
const S: &str = "crate::plan";
const R: &str = r#"crate::init"#;
fn f<'a>(x: &'a str) -> char { let _ = crate::memory::budget; '"'; '\\''; 'x' }
fn g(r#type: u8) { super::super::explain::f(); super::sibling(); }
#[cfg(test)]
mod tests {
    use crate::rehearse;
}
#[cfg(test)]
mod more_tests;
"##;
    let (code, tests) = without_tests(&code_only(source));
    let path = ["profile".to_string(), "schema".to_string()];
    let seen: Vec<(usize, String)> = references(&code, &path)
        .into_iter()
        .map(|r| (r.line, r.module))
        .collect();
    let expected: Vec<(usize, String)> = [
        (2, "resolve"),
        (3, "emit"),
        (3, "kustomize"),
        (7, "memory"),
        (8, "explain"),
    ]
    .into_iter()
    .map(|(l, m)| (l, m.to_string()))
    .collect();
    assert_eq!(seen, expected);
    assert_eq!(tests, ["more_tests"]);
    assert_eq!(
        module_path(Path::new("profile/mod.rs")),
        ["profile".to_string()]
    );
}
