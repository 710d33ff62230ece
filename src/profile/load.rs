//! Loading: profile text → typed [`Profile`] plus a [`SourceMap`] from every field path to its
//! line and column. Structural problems are all reported together, never just the first.

use std::io::Read;
use std::path::Path;

use serde_saphyr::MessageFormatter;

use crate::diagnostic::{self, Finding, Severity};
use crate::position::Pos;
use crate::profile::shape;
use crate::profile::source_map::SourceMap;
use crate::profile::spec::{API_VERSION, KIND, Profile};
use crate::profile::yaml::{self, NodeKind, ParseFailure};
use crate::profile::{default, from_node};

/// The path that names standard input on the command line.
pub const STDIN_PATH: &str = "-";
/// The name a profile read from standard input is shown under.
pub const STDIN_NAME: &str = "<stdin>";

/// Profile text and the name it is shown under.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    /// Read a profile file. An unreadable file is a finding like any other, so that
    /// `validate a.yaml missing.yaml` still checks `a.yaml`.
    /// `-` is standard input, shown as `<stdin>` (so `render -` works in a pipe).
    pub fn read(path: &Path) -> Result<Source, Box<Finding>> {
        if path == Path::new(STDIN_PATH) {
            let mut text = String::new();
            return match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => Ok(Source {
                    name: STDIN_NAME.to_string(),
                    text,
                }),
                Err(e) => Err(Box::new(Finding::new(
                    Severity::Error,
                    STDIN_NAME,
                    format!("cannot read the profile from standard input: {e}"),
                ))),
            };
        }
        let name = path.display().to_string();
        let failed = |message: String| Box::new(Finding::new(Severity::Error, &name, message));
        match read_capped(path, yaml::MAX_BYTES) {
            Ok(Capped::Whole(text)) => Ok(Source { name, text }),
            Ok(Capped::TooLarge) => Err(Box::new(too_large(&name))),
            Err(e) => Err(failed(format!("cannot read the profile: {e}"))),
        }
    }

    /// The reference profile built into the binary.
    pub fn embedded_default() -> Source {
        Source {
            name: default::SOURCE_NAME.to_string(),
            text: default::TEXT.to_string(),
        }
    }
}

/// What [`read_capped`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Capped {
    /// The whole text, within the cap.
    Whole(String),
    /// More than the cap; reading stopped there.
    TooLarge,
}

/// Read at most `max` bytes of `reader`, plus one to tell a file of exactly `max` bytes from a
/// larger one. The cap applies while reading: `/dev/zero` or a huge file costs `max` bytes,
/// never the whole input.
pub fn read_capped_from(reader: impl Read, max: usize) -> std::io::Result<Capped> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(limit).read_to_end(&mut bytes)?;
    if bytes.len() > max {
        return Ok(Capped::TooLarge);
    }
    String::from_utf8(bytes)
        .map(Capped::Whole)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()))
}

/// [`read_capped_from`] on the file at `path`.
pub fn read_capped(path: &Path, max: usize) -> std::io::Result<Capped> {
    read_capped_from(std::fs::File::open(path)?, max)
}

/// The finding for a profile over [`yaml::MAX_BYTES`].
fn too_large(file: &str) -> Finding {
    Finding::new(
        Severity::Error,
        file,
        format!(
            "the profile is larger than {} bytes, more than any profile needs",
            yaml::MAX_BYTES
        ),
    )
    .at(Pos::START)
    .valid(format!("a file of at most {} bytes", yaml::MAX_BYTES))
}

/// A profile that is structurally sound, with the positions of its fields.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub profile: Profile,
    pub map: SourceMap,
}

/// Parse and structurally check `source`. On failure, every finding (all errors).
pub fn load(source: &Source) -> Result<Loaded, Vec<Finding>> {
    let document =
        yaml::parse_document(&source.text).map_err(|f| vec![parse_failure(source, f)])?;
    let map = SourceMap::of(&source.name, &document);
    let NodeKind::Mapping(entries) = &document.kind else {
        return Err(vec![
            Finding::new(
                Severity::Error,
                &source.name,
                format!("a profile is a mapping, found {}", document.describe()),
            )
            .at(document.pos)
            .valid(format!(
                "a mapping starting `apiVersion: {API_VERSION}` and `kind: {KIND}`"
            )),
        ]);
    };

    // Another kind of object (a Deployment, a kustomization) would otherwise drown in
    // unknown-field findings; say what it is instead.
    let identity: Vec<Finding> = [("apiVersion", API_VERSION), ("kind", KIND)]
        .into_iter()
        .filter_map(|(key, expected)| {
            let entry = entries.iter().find(|e| e.key == key)?;
            let NodeKind::Scalar { text, .. } = &entry.value.kind else {
                return None;
            };
            (text != expected).then(|| {
                map.error(
                    key,
                    format!("this is not a redis-sentinel-gen profile: wrong `{key}`"),
                )
                .found(text)
                .valid(expected)
            })
        })
        .collect();
    if !identity.is_empty() {
        return Err(identity);
    }

    let mut findings = shape::check(&document, &map);
    diagnostic::sort(&mut findings);
    if !findings.is_empty() {
        return Err(findings);
    }
    // Read from the node tree when every value is in a form beyond doubt (nearly always);
    // otherwise serde-saphyr reads the text, and reports what does not fit.
    if let Ok(profile) = from_node::profile(&document) {
        return Ok(Loaded { profile, map });
    }
    match serde_saphyr::from_str::<Profile>(&source.text) {
        Ok(profile) => Ok(Loaded { profile, map }),
        // The structural check mirrors the spec types, so this is a gap in it; still report
        // serde's own message at serde's own position rather than fail without a location.
        Err(e) => {
            let message = serde_saphyr::UserMessageFormatter.format_message(e.without_snippet());
            let mut finding = Finding::new(
                Severity::Error,
                &source.name,
                message.escape_debug().to_string(),
            );
            if let Some(location) = e.location() {
                finding = finding.at(Pos {
                    line: usize::try_from(location.line()).unwrap_or(1),
                    column: usize::try_from(location.column()).unwrap_or(1),
                });
            }
            Err(vec![finding])
        }
    }
}

fn parse_failure(source: &Source, failure: ParseFailure) -> Finding {
    let error = |message: String| Finding::new(Severity::Error, &source.name, message);
    match failure {
        ParseFailure::Syntax { pos, message } => error(format!("not valid YAML: {message}"))
            .at(pos)
            .help("a profile is one YAML mapping; check the indentation and brackets here"),
        ParseFailure::Empty => error("the profile is empty".into())
            .at(Pos::START)
            .valid(format!(
                "a mapping starting `apiVersion: {API_VERSION}` and `kind: {KIND}`"
            )),
        ParseFailure::MultipleDocuments { pos } => {
            error("a profile file holds exactly one YAML document; another starts here".into())
                .at(pos)
                .help("put each profile in its own file")
        }
        ParseFailure::TooLarge => too_large(&source.name),
        ParseFailure::TooManyNodes { pos } => error(format!(
            "aliases expand the profile to more than {} values here",
            yaml::MAX_NODES
        ))
        .at(pos)
        .help("a profile needs a few hundred values; write them out instead of nesting aliases"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        Source {
            name: "t.yaml".into(),
            text: text.into(),
        }
    }

    fn errors(text: &str) -> Vec<Finding> {
        match load(&source(text)) {
            Ok(_) => panic!("loaded:\n{text}"),
            Err(findings) => findings,
        }
    }

    const HEAD: &str = "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\n\
                        metadata: {name: x}\n";

    #[test]
    fn the_embedded_default_loads_and_maps_positions() -> Result<(), String> {
        let loaded = load(&Source::embedded_default()).map_err(|f| format!("{f:?}"))?;
        assert_eq!(loaded.profile.metadata.name, "welcomebot");
        let quorum = loaded
            .map
            .value("spec.sentinel.quorum")
            .ok_or("no quorum")?;
        assert!(
            default::TEXT
                .lines()
                .nth(quorum.line - 1)
                .is_some_and(|l| l.contains("quorum: 2"))
        );
        assert!(loaded.map.key("spec.clients[1].name").is_some());
        // An absent field points at its nearest written parent.
        assert_eq!(
            loaded.map.locate("spec.sentinel.nothing"),
            loaded.map.key("spec.sentinel").ok_or("no sentinel")?
        );
        Ok(())
    }

    #[test]
    fn every_structural_problem_is_reported_at_once() {
        let text = format!(
            "{HEAD}spec:\n  masterName: m\n  sentinel:\n    quorom: 2\n    replicas: three\n  \
             redis: {{replicas: \"2\"}}\n  persistence: {{aof: {{fsync: sometimes}}}}\n"
        );
        let findings = errors(&text);
        let fields: Vec<_> = findings.iter().filter_map(|f| f.field.as_deref()).collect();
        for expected in [
            "spec.sentinel.quorom",
            "spec.sentinel.replicas",
            "spec.redis.replicas",
            "spec.persistence.aof.fsync",
        ] {
            assert!(fields.contains(&expected), "{expected} not in {fields:?}");
        }
        let quorom = findings
            .iter()
            .find(|f| f.field.as_deref() == Some("spec.sentinel.quorom"));
        assert_eq!(
            quorom.and_then(|f| f.help.as_deref()),
            Some("did you mean `quorum`?")
        );
        assert_eq!(quorom.and_then(|f| f.pos), Some(Pos { line: 7, column: 5 }));
    }

    #[test]
    fn missing_fields_point_at_their_parent() {
        let findings = errors(&format!(
            "{HEAD}spec:\n  clients:\n    - {{kind: Deployment}}\n"
        ));
        let fields: Vec<_> = findings.iter().filter_map(|f| f.field.as_deref()).collect();
        assert_eq!(
            fields,
            [
                "spec.masterName",
                "spec.clients[0].container",
                "spec.clients[0].name"
            ]
        );
        assert_eq!(findings[1].pos, Some(Pos { line: 6, column: 7 }));
    }

    #[test]
    fn ranges_duplicates_and_yaml_1_1_booleans() {
        let text = format!(
            "{HEAD}spec:\n  masterName: m\n  development: yes\n  sentinel: {{quorum: -1}}\n  \
             migration: {{from: {{host: h, port: 70000}}}}\n  masterName: n\n"
        );
        let findings = errors(&text);
        let messages: Vec<_> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "expected true or false, found `yes`",
                "`-1` is out of range",
                "`70000` is out of range",
                "duplicate field `masterName`",
            ]
        );
    }

    #[test]
    fn metadata_accepts_unknown_keys() {
        let text = "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\n\
                    metadata: {name: x, uid: abc}\nspec: {masterName: m}\n";
        assert!(load(&source(text)).is_ok());
    }

    #[test]
    fn wrong_identity_and_wrong_shape() {
        let findings = errors("apiVersion: apps/v1\nkind: Deployment\nspec: {}\n");
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].field.as_deref(), Some("apiVersion"));
        assert_eq!(findings[1].field.as_deref(), Some("kind"));
        assert!(errors("- a\n- b\n")[0].message.contains("mapping"));
        assert!(errors("")[0].message.contains("empty"));
    }
}
