//! The serializer's tests: scalars and files round-trip, and the emitter writes exactly what
//! serde-saphyr writes.

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

/// `object` as serde-saphyr writes it.
fn by_serde_saphyr<T: Serialize>(object: &T) -> String {
    let mut out = String::new();
    write_document_by_serde_saphyr(&mut out, object).unwrap();
    out
}

/// Whether the emitter wrote `object` itself (no fallback to serde-saphyr).
fn written_directly<T: Serialize>(object: &T) -> bool {
    emitter::write(&mut String::new(), object).is_ok()
}

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
        let expected = by_serde_saphyr(case);
        assert_eq!(document(case).unwrap(), expected, "{case:?}");
        let back: ConfigMap = serde_saphyr::from_str(&expected).unwrap();
        assert_eq!(&back, case);
        fast_paths += usize::from(written_directly(case));
    }
    assert!(
        fast_paths > 8,
        "only {fast_paths} cases took the direct path"
    );
}

/// Scalars and shapes at the edges of what the emitter writes itself, and past them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Edges {
    values: BTreeMap<String, String>,
    keys: BTreeMap<String, u8>,
    numbers: Vec<i64>,
    unsigned: u64,
    flags: Vec<bool>,
    empty_map: BTreeMap<String, String>,
    empty_list: Vec<String>,
    empty_struct: Nothing,
    items: Vec<Item>,
    unit: Unit,
    #[serde(skip_serializing_if = "Option::is_none")]
    absent: Option<String>,
}

#[derive(Serialize)]
struct Nothing {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    name: String,
    nested: BTreeMap<String, String>,
    list: Vec<String>,
    empty: BTreeMap<String, String>,
    script: String,
}

#[derive(Serialize)]
enum Unit {
    OnRootMismatch,
}

/// Strings whose plain or quoted form a slip in the emitter's rule would change.
const SCALARS: &[&str] = &[
    "plain",
    "app.kubernetes.io/name",
    "redis-sentinel-gen/statefulset",
    "with space",
    "a: b",
    "a:b",
    "ends:",
    "# comment",
    "a #b",
    "a#b",
    "-",
    "-a",
    "- a",
    "?",
    "?a",
    ":a",
    "@a",
    "`a",
    "%a",
    "!a",
    "&a",
    "*a",
    "|a",
    ">a",
    "[a]",
    "{a}",
    "a,b",
    "---",
    "...",
    "<<",
    "=",
    " lead",
    "trail ",
    "'single'",
    "\"double\"",
    "back\\slash",
    "tab\tinside",
    "1Gi",
    "100m",
    "64Mi",
    "1e3",
    "1E3",
    "1e",
    "0x1F",
    "0X1f",
    "0o17",
    "0b101",
    "0b2",
    "1_000",
    "1h",
    "12:30",
    "1:2:3",
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "1.5",
    "1.5Gi",
    ".5",
    ".inf",
    "-.Inf",
    "+1",
    "-1",
    "007",
    "nan",
    "NaN",
    "inf",
    "Inf",
    "YES",
    "yEs",
    "nO",
    "oN",
    "OFF",
    "Y",
    "n",
    "Null",
    "NULL",
    "TRUE",
    "False",
    "yesterday",
    "none",
    "nothing",
    "~",
    "~a",
    "é",
    "naïve",
    "em — dash",
    "\u{2028}",
    "\u{FEFF}bom",
    "bell\u{7}",
    "del\u{7F}",
    "",
];

fn edges() -> Edges {
    let texts = || SCALARS.iter().chain(YAML11_TRAPS).chain(EDGES);
    Edges {
        values: texts()
            .enumerate()
            .map(|(i, v)| (format!("v{i:03}"), (*v).to_string()))
            .collect(),
        keys: texts()
            .filter(|k| !k.contains('\n'))
            .map(|k| ((*k).to_string(), 1))
            .collect(),
        numbers: vec![0, -1, 7, i64::MIN, i64::MAX],
        unsigned: u64::MAX,
        flags: vec![true, false],
        empty_map: BTreeMap::new(),
        empty_list: Vec::new(),
        empty_struct: Nothing {},
        items: vec![Item {
            name: "x".into(),
            nested: BTreeMap::from([("a".into(), "b".into()), ("on".into(), "1".into())]),
            list: vec!["sh".into(), "-c".into(), "yes".into(), "a: b".into()],
            empty: BTreeMap::new(),
            script: "#!/bin/sh\nset -eu\n".into(),
        }],
        unit: Unit::OnRootMismatch,
        absent: None,
    }
}

#[test]
fn the_emitter_writes_what_serde_saphyr_writes() {
    let edges = edges();
    let expected = by_serde_saphyr(&edges);
    assert_eq!(document(&edges).unwrap(), expected);
    // Without the values that send the whole document to serde-saphyr, the emitter
    // writes it itself, and the same bytes.
    let mut direct = edges;
    direct
        .values
        .retain(|_, v| !v.contains('\n') || literal_block(v).is_some());
    let mut out = String::new();
    emitter::write(&mut out, &direct).expect("written directly");
    assert_eq!(out, by_serde_saphyr(&direct));
    // And every scalar on its own, as a value and as a key, in a list and after a dash.
    for text in SCALARS.iter().chain(YAML11_TRAPS) {
        let one = BTreeMap::from([(*text, vec![BTreeMap::from([(*text, *text)])])]);
        assert_eq!(document(&one).unwrap(), by_serde_saphyr(&one), "{text:?}");
    }
}

#[test]
fn what_the_emitter_does_not_cover_is_written_by_serde_saphyr() {
    #[derive(Serialize)]
    struct Uncovered {
        ratio: f64,
        nothing: Option<String>,
        nested: Vec<Vec<String>>,
        tuple: (u8, u8),
        script_in_list: Vec<String>,
    }
    let value = Uncovered {
        ratio: 0.5,
        nothing: None,
        nested: vec![vec!["a".into()]],
        tuple: (1, 2),
        script_in_list: vec!["a\nb\n".into()],
    };
    assert!(!written_directly(&value));
    assert_eq!(document(&value).unwrap(), by_serde_saphyr(&value));
    assert!(!written_directly(&"top-level scalar"));
    assert_eq!(document(&"x").unwrap(), by_serde_saphyr(&"x"));
}

/// The direct path is the point: every object of the default deployment must take it (an
/// object that silently falls back costs several times as much, and no output shows it).
#[test]
fn every_rendered_object_is_written_directly() {
    use crate::profile::load::{Source, load};
    use crate::render::{backup, monitoring, network, policy, redis, sentinel, services};

    fn check<T: Serialize>(object: &T, what: &str) {
        assert!(written_directly(object), "{what} is not written directly");
        assert_eq!(document(object).unwrap(), by_serde_saphyr(object), "{what}");
    }
    let loaded = load(&Source::embedded_default()).unwrap();
    let dep = crate::resolve::resolve(&loaded.profile, "default");
    check(&redis::config_map(&dep).unwrap(), "redis ConfigMap");
    check(&sentinel::config_map(&dep).unwrap(), "sentinel ConfigMap");
    let backup_config = backup::config_map(&dep).unwrap();
    check(
        &backup_config.expect("the default has a backup"),
        "backup ConfigMap",
    );
    for policy in network::network_policies(&dep) {
        check(&policy, "NetworkPolicy");
    }
    check(&services::redis_headless(&dep), "redis-headless");
    check(&services::sentinel_headless(&dep), "sentinel-headless");
    check(&services::sentinel_client(&dep), "sentinel client Service");
    for service in monitoring::metrics_services(&dep) {
        check(&service, "metrics Service");
    }
    check(
        &backup::volume_claim(&dep).expect("backup claim"),
        "backup claim",
    );
    check(&redis::master_statefulset(&dep, "c").unwrap(), "master");
    check(&redis::replica_statefulset(&dep, "c").unwrap(), "replicas");
    check(&sentinel::statefulset(&dep, "c").unwrap(), "sentinels");
    check(&backup::cron_job(&dep).expect("backup CronJob"), "CronJob");
    check(&policy::redis_budget(&dep), "redis budget");
    check(&policy::sentinel_budget(&dep), "sentinel budget");
    check(
        &monitoring::service_monitor(&dep).expect("monitor"),
        "ServiceMonitor",
    );
    check(
        &monitoring::prometheus_rule(&dep).expect("rule"),
        "PrometheusRule",
    );
}

#[test]
fn stream_starts_with_the_header_and_separates_documents() {
    let out = stream(
        "# generated\nkind: Injected",
        &["a: 1\n".into(), "b: 2\n".into()],
    );
    assert_eq!(out, "# generated?kind: Injected\n---\na: 1\n---\nb: 2\n");
}
