//! The KRM function, proven with its real consumer: kpt runs the binary over the fixture
//! packages in `tests/fixtures/krm/` (`kpt fn eval --exec`, and a Kptfile pipeline under
//! `kpt fn render --allow-exec`), and the result must equal the committed `expected/` tree,
//! survive a second run unchanged, and leave the package untouched when the profile is invalid.
//! The ResourceList protocol itself is also checked directly, without kpt.

use crate::support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");
/// Stands for the binary's path in fixture Kptfiles (the real path differs per checkout).
const PLACEHOLDER: &str = "REDIS_SENTINEL_GEN";

fn fixture(case: &str) -> PathBuf {
    support::repo_root().join("tests/fixtures/krm").join(case)
}

/// A fresh temporary directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsg-krm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Every file under `dir`, by path relative to it, with the binary's path replaced by the
/// placeholder so trees from different checkouts compare equal.
fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("cannot list: {e}")).path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                let relative = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                files.insert(relative, text.replace(BIN, PLACEHOLDER));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

fn write_tree(dir: &Path, files: &BTreeMap<String, String>, substitute: bool) {
    for (relative, text) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
        }
        let text = if substitute {
            text.replace(PLACEHOLDER, BIN)
        } else {
            text.clone()
        };
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

/// A readable account of how `actual` differs from `expected`, or `None` when equal.
fn tree_diff(
    expected: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> Option<String> {
    let mut report = String::new();
    let names: std::collections::BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    for name in names {
        let old = expected.get(name).map_or("", String::as_str);
        let new = actual.get(name).map_or("", String::as_str);
        if expected.get(name) == actual.get(name) {
            continue;
        }
        let diff = similar::TextDiff::from_lines(old, new)
            .unified_diff()
            .header(&format!("expected/{name}"), &format!("actual/{name}"))
            .to_string();
        report.push_str(&diff);
        if !expected.contains_key(name) {
            report.push_str(&format!("(only in actual: {name})\n"));
        } else if !actual.contains_key(name) {
            report.push_str(&format!("(missing from actual: {name})\n"));
        }
    }
    (!report.is_empty()).then_some(report)
}

/// The generated file. It is not part of `expected/`: its content is whatever `render` makes
/// of the profile (golden-tested in `golden/`), so it is compared with `render` instead, and
/// a template change does not have to be re-blessed here.
const GENERATED: &str = "redis-sentinel.yaml";

/// Compare a package after a run with the fixture's `expected/` (all but the generated file),
/// and the generated file with `render` of the same profile. With
/// `REDIS_SENTINEL_GEN_BLESS=1`, write the tree as the new expectation instead.
fn assert_matches_expected(case: &str, package: &Path, instance: &str) {
    assert_generated_equals_render(package, instance);
    let mut actual = read_tree(package);
    actual.remove(GENERATED);
    let expected_dir = fixture(case).join("expected");
    if std::env::var("REDIS_SENTINEL_GEN_BLESS").is_ok_and(|v| v == "1") {
        let _ = std::fs::remove_dir_all(&expected_dir);
        write_tree(&expected_dir, &actual, false);
        return;
    }
    let expected = read_tree(&expected_dir);
    if let Some(diff) = tree_diff(&expected, &actual) {
        panic!(
            "{case}: the package after kpt differs from tests/fixtures/krm/{case}/expected \
             (REDIS_SENTINEL_GEN_BLESS=1 regenerates it):\n{diff}"
        );
    }
}

/// kpt wrote `redis-sentinel.yaml`; its objects must be exactly what
/// `redis-sentinel-gen render profile.yaml` prints from the package directory, plus the owner
/// annotation (kpt drops its own path and index annotations when it writes the file).
fn assert_generated_equals_render(package: &Path, instance: &str) {
    let written = std::fs::read_to_string(package.join(GENERATED))
        .unwrap_or_else(|e| panic!("kpt wrote no {GENERATED}: {e}"));
    let written: Vec<serde_json::Value> = serde_saphyr::from_multiple(&written)
        .unwrap_or_else(|e| panic!("{GENERATED} is not YAML: {e}"));
    let output = Command::new(BIN)
        .args(["render", "profile.yaml"])
        .current_dir(package)
        .output()
        .unwrap_or_else(|e| panic!("cannot run render: {e}"));
    assert!(output.status.success(), "render failed: {}", text(&output));
    let mut rendered: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&output.stdout))
            .unwrap_or_else(|e| panic!("render output is not YAML: {e}"));
    for object in &mut rendered {
        object["metadata"]["annotations"]["redis-sentinel-gen/instance"] = instance.into();
    }
    let pretty = |objects: &[serde_json::Value]| {
        serde_json::to_string_pretty(objects).unwrap_or_else(|e| panic!("{e}"))
    };
    if written != rendered {
        let diff = similar::TextDiff::from_lines(&pretty(&rendered), &pretty(&written))
            .unified_diff()
            .header("render (+ owner annotation)", GENERATED)
            .to_string();
        panic!("{GENERATED} written through kpt differs from render:\n{diff}");
    }
}

/// Copy the fixture's `package/` into a scratch directory, with the binary's real path.
fn copy_package(case: &str) -> PathBuf {
    let dir = scratch(case).join("package");
    write_tree(&dir, &read_tree(&fixture(case).join("package")), true);
    dir
}

fn kpt(kpt: &Path, args: &[&str]) -> Output {
    Command::new(kpt)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run kpt: {e}"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn fn_eval(kpt_bin: &Path, package: &Path) -> Output {
    let package_arg = package.display().to_string();
    let config = package.join("profile.yaml").display().to_string();
    kpt(
        kpt_bin,
        &[
            "fn",
            "eval",
            &package_arg,
            "--exec",
            BIN,
            "--fn-config",
            &config,
        ],
    )
}

#[test]
fn kpt_fn_eval_generates_switches_clients_and_keeps_other_resources() {
    let Some(kpt_bin) = support::require_tool("kpt") else {
        return;
    };
    let case = "eval-with-others";
    let package = copy_package(case);
    let output = fn_eval(&kpt_bin, &package);
    assert!(
        output.status.success(),
        "kpt fn eval failed:\n{}",
        text(&output)
    );
    assert_matches_expected(case, &package, "welcomebot/welcomebot");

    // The objects the function does not own come out byte for byte.
    let original = read_tree(&fixture(case).join("package"));
    let after = read_tree(&package);
    assert_eq!(after.get("other.yaml"), original.get("other.yaml"));
    // The clients are switched: no old address, the Sentinel env present.
    let app = after.get("app.yaml").cloned().unwrap_or_default();
    assert!(!app.contains("REDIS_ADDR"), "{app}");
    assert_eq!(
        app.matches("name: REDIS_SENTINEL_ADDRS").count(),
        2,
        "{app}"
    );

    let once = read_tree(&package);
    let output = fn_eval(&kpt_bin, &package);
    assert!(
        output.status.success(),
        "second kpt fn eval failed:\n{}",
        text(&output)
    );
    if let Some(diff) = tree_diff(&once, &read_tree(&package)) {
        panic!("a second run changed the package:\n{diff}");
    }
    let _ = std::fs::remove_dir_all(package.parent().unwrap_or(&package));
}

#[test]
fn kptfile_pipeline_under_kpt_fn_render() {
    let Some(kpt_bin) = support::require_tool("kpt") else {
        return;
    };
    let case = "render-pipeline";
    let package = copy_package(case);
    let package_arg = package.display().to_string();
    let output = kpt(&kpt_bin, &["fn", "render", &package_arg, "--allow-exec"]);
    assert!(
        output.status.success(),
        "kpt fn render failed:\n{}",
        text(&output)
    );
    assert_matches_expected(case, &package, "shop/shop");

    let once = read_tree(&package);
    let output = kpt(&kpt_bin, &["fn", "render", &package_arg, "--allow-exec"]);
    assert!(
        output.status.success(),
        "second kpt fn render failed:\n{}",
        text(&output)
    );
    if let Some(diff) = tree_diff(&once, &read_tree(&package)) {
        panic!("a second render changed the package:\n{diff}");
    }
    let _ = std::fs::remove_dir_all(package.parent().unwrap_or(&package));
}

#[test]
fn kpt_reports_an_invalid_profile_and_leaves_the_package_untouched() {
    let Some(kpt_bin) = support::require_tool("kpt") else {
        return;
    };
    let case = "invalid-profile";
    let package = copy_package(case);
    let before = read_tree(&package);
    let output = fn_eval(&kpt_bin, &package);
    let said = text(&output);
    assert!(
        !output.status.success(),
        "kpt accepted an invalid profile:\n{said}"
    );
    for needle in [
        "[error]",
        "spec.sentinel.quorum",
        "quorum must be the majority",
    ] {
        assert!(
            said.contains(needle),
            "`{needle}` not in kpt's report:\n{said}"
        );
    }
    if let Some(diff) = tree_diff(&before, &read_tree(&package)) {
        panic!("a failed run changed the package:\n{diff}");
    }
    assert!(
        !fixture(case).join("expected").exists(),
        "a failing case has no expected/ tree"
    );
    let _ = std::fs::remove_dir_all(package.parent().unwrap_or(&package));
}

/// Run the binary with `args` and `stdin`.
fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"));
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .unwrap_or_else(|e| panic!("cannot write stdin: {e}"));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("redis-sentinel-gen did not finish: {e}"))
}

fn resource_list(profile: &str, items: &str) -> String {
    let indented: String = profile.lines().map(|l| format!("  {l}\n")).collect();
    format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: {items}\nfunctionConfig:\n{indented}"
    )
}

#[test]
fn bare_binary_on_a_pipe_is_a_krm_function_and_idempotent() {
    let profile = std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let first = run_with_stdin(&[], &resource_list(&profile, "[]"));
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let once = String::from_utf8_lossy(&first.stdout).into_owned();
    let docs: serde_json::Value =
        serde_saphyr::from_str(&once).unwrap_or_else(|e| panic!("output is not YAML: {e}\n{once}"));
    let items = docs["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 20, "{once}");
    for item in &items {
        let annotations = &item["metadata"]["annotations"];
        assert_eq!(
            annotations["redis-sentinel-gen/instance"],
            "welcomebot/welcomebot"
        );
        assert_eq!(
            annotations["config.kubernetes.io/path"],
            "redis-sentinel.yaml"
        );
    }
    // Feeding the output back in (what a pipeline's second run does) changes nothing.
    let second = run_with_stdin(&["krm"], &once);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert_eq!(String::from_utf8_lossy(&second.stdout), once);
}

#[test]
fn invalid_profile_gives_error_results_and_exit_1() {
    let profile = "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\nmetadata:\n  \
                   name: shop\n  annotations:\n    config.kubernetes.io/path: redis/profile.yaml\n\
                   spec:\n  masterName: shop-master\n  sentinel: {replicas: 3, quorom: 2}\n";
    let keep = "[{apiVersion: v1, kind: ConfigMap, metadata: {name: keep}}]";
    let output = run_with_stdin(&["krm"], &resource_list(profile, keep));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let list: serde_json::Value =
        serde_saphyr::from_str(&stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}"));
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{stdout}");
    let result = &list["results"][0];
    assert_eq!(result["severity"], "error", "{stdout}");
    assert_eq!(result["field"]["path"], "spec.sentinel.quorom", "{stdout}");
    assert_eq!(result["file"]["path"], "redis/profile.yaml", "{stdout}");
    assert!(
        result["message"]
            .as_str()
            .is_some_and(|m| m.contains("did you mean `quorum`?")),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--> redis/profile.yaml"), "{stderr}");
    assert!(stderr.contains("= field: spec.sentinel.quorom"), "{stderr}");
}

#[test]
fn not_a_resource_list_fails_without_output() {
    let output = run_with_stdin(&["krm"], "apiVersion: v1\nkind: ConfigMap\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a ResourceList"));
}

/// The parser's events (data only: no positions, no comments) of the value of the root
/// mapping's `key` in `text`; panics when `text` is not YAML.
fn value_events(text: &str, key: &str) -> Vec<String> {
    use serde_saphyr::granit_parser::{Event, Parser};
    let mut events = Vec::new();
    let mut depth = 0usize;
    let mut want_key = true;
    let mut last_key = String::new();
    let mut capture = false;
    for next in Parser::new_from_str(text) {
        let (event, _) = next.unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"));
        let opens = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
        let closes = matches!(event, Event::MappingEnd | Event::SequenceEnd);
        if !(opens || closes || matches!(event, Event::Scalar(..) | Event::Alias(_))) {
            continue;
        }
        if closes {
            depth -= 1;
        }
        if depth == 1 && !closes {
            // A node starts in the root mapping: a key, or the value of the last key.
            if want_key {
                last_key = match &event {
                    Event::Scalar(value, ..) => value.to_string(),
                    _ => String::new(),
                };
            } else {
                capture = last_key == key;
            }
        }
        if capture {
            events.push(format!("{event:?}"));
        }
        if opens {
            depth += 1;
        }
        if depth == 1 && !opens {
            capture = false;
            want_key = !want_key;
        }
    }
    events
}

/// A block scalar (`|`, `>`, chomping and indentation indicators) as the functionConfig or
/// in an item comes back as the same value in valid YAML. The parser's span of a block scalar
/// starts at its first content line, and the functionConfig used to be copied from there: its
/// `>-` header was lost, so the text came back as a mapping or as invalid YAML.
#[test]
fn block_scalars_come_back_as_the_same_values() {
    let head = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n";
    let items =
        "items:\n- >-\n  a: b\n  c\n- x: |2-\n     a\n    b\n  y: |+\n    keep\n\n- |\n  lit\n";
    let configs = [
        "functionConfig: >-\n  a: b\n  c\n",
        "functionConfig: >\n  a: b\n\n  c\n",
        "functionConfig: |-\n  a: b\n  c\n",
        "functionConfig: |+\n  a: b\n\n\n",
        "functionConfig: |2\n    a: b\n   c\n",
        "functionConfig: >1-\n   a: b\n  c\n",
        "functionConfig: |\n  - a\n  - b\n",
        "functionConfig: >-\n  # not a comment\n  a: b\n",
        "functionConfig:\n  # a comment\n  >- # another\n  a: b\n",
        "functionConfig: &x >-\n  a: b\n",
        "functionConfig: !!str >-\n  a: b\n",
        // The shape the fuzz test found: header and content less indented than usual.
        "functionConfig:\n >-\n apiVersion: v1\n  kind: K\n",
    ];
    let mut failures = Vec::new();
    for config in configs {
        let input = format!("{head}{items}{config}");
        let output = run_with_stdin(&["krm"], &input);
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let outcome = std::panic::catch_unwind(|| {
            for key in ["items", "functionConfig"] {
                let (before, after) = (value_events(&input, key), value_events(&stdout, key));
                assert!(!before.is_empty(), "no {key} in\n{input}");
                assert_eq!(before, after, "{key} changed");
            }
            // Not a profile: the function says so, as for any other string.
            assert_eq!(output.status.code(), Some(1), "exit code");
            assert!(
                stdout.contains("a profile is a mapping"),
                "no `a profile is a mapping` result"
            );
        });
        if let Err(why) = outcome {
            let why = why
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "panic".into());
            failures.push(format!(
                "--- input:\n{input}--- output:\n{stdout}--- {why}\n"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} block scalars changed:\n{}",
        failures.len(),
        configs.len(),
        failures.join("\n")
    );
}
