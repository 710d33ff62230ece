//! No input may crash the tool or make it take more than 100 MB: the peak resident set of the
//! real binary, measured by `/usr/bin/time` (GNU time's `%M`, the child's `ru_maxrss`), for
//! the worst inputs there are — endless input on every entry point, the largest profile the
//! bounds allow through `validate`, `render --out` and `krm`, and every bad profile at once
//! (what the pre-commit hook runs). Each run also has a 2 GiB address-space limit, so a
//! regression fails the test instead of exhausting the machine.

use crate::support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use redis_sentinel_gen::profile::bounds::{
    MAX_BACKUP_RETENTION, MAX_CLIENTS, MAX_LABELS, MAX_MIN_REPLICAS_TO_WRITE, MAX_QUORUM,
    MAX_REDIS_REPLICAS, MAX_REMOVED_OBJECTS, MAX_SAVE_POINTS, MAX_SENTINELS,
};

const LIMIT_KB: u64 = 100 * 1000;

struct Run {
    peak_kb: u64,
    code: Option<i32>,
    stderr: String,
}

/// Run the binary with `args` (and `stdin` from a file, if given) under GNU time.
fn measure(args: &[&str], stdin: Option<&Path>) -> Run {
    let time = support::require_tool("time").unwrap_or_else(|| panic!("GNU time is missing"));
    // One report file per run: the tests run in parallel, some with the same arguments.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let report = std::env::temp_dir().join(format!(
        "rsg-memory-{}-{}.txt",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#"ulimit -v 2097152 && exec "$@""#)
        .arg("sh")
        .arg(&time)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_redis-sentinel-gen"))
        .args(args)
        .current_dir(support::repo_root())
        .stdout(Stdio::null());
    match stdin {
        Some(path) => {
            let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{e}"));
            command.stdin(file);
        }
        None => {
            command.stdin(Stdio::null());
        }
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", time.display()));
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("no report: {e}"));
    let _ = std::fs::remove_file(&report);
    let peak_kb = text
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no peak size in {text:?}"));
    Run {
        peak_kb,
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn assert_small(what: &str, run: &Run, expected_code: i32) {
    eprintln!("{what}: peak {} kB, exit {:?}", run.peak_kb, run.code);
    assert_eq!(run.code, Some(expected_code), "{what}:\n{}", run.stderr);
    assert!(
        !run.stderr.contains("panicked"),
        "{what} panicked:\n{}",
        run.stderr
    );
    assert!(
        run.peak_kb <= LIMIT_KB,
        "{what} peaked at {} kB, more than {LIMIT_KB} kB",
        run.peak_kb
    );
}

/// The largest profile the bounds allow: every count and list at its maximum.
fn largest_profile() -> String {
    let mut text = String::from(
        "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: big\n  \
         namespace: big\nspec:\n  masterName: big-master\n",
    );
    let _ = write!(
        text,
        "  redis:\n    replicas: {MAX_REDIS_REPLICAS}\n    resources: {{limits: {{memory: 16Gi}}}}\n    minReplicasToWrite: \
         {MAX_MIN_REPLICAS_TO_WRITE}\n  sentinel:\n    replicas: {MAX_SENTINELS}\n    quorum: \
         {MAX_QUORUM}\n    parallelSyncs: {MAX_REDIS_REPLICAS}\n  persistence:\n    rdb:\n"
    );
    for i in 1..=MAX_SAVE_POINTS {
        let _ = writeln!(text, "      - {{seconds: {i}, changes: {i}}}");
    }
    let labels = |text: &mut String, indent: &str| {
        for i in 0..MAX_LABELS {
            let _ = writeln!(text, "{indent}label-{i}: value-{i}");
        }
    };
    text.push_str("  monitoring:\n    labels:\n");
    labels(&mut text, "      ");
    text.push_str("  networkPolicy:\n    clientPodLabels:\n");
    labels(&mut text, "      ");
    let _ = writeln!(text, "  backup:\n    retention: {MAX_BACKUP_RETENTION}");
    text.push_str("  clients:\n");
    for i in 0..MAX_CLIENTS {
        let _ = writeln!(
            text,
            "    - {{kind: Deployment, name: client-{i}, container: app}}"
        );
    }
    text.push_str("  migration:\n    from: {host: redis-service}\n    remove:\n");
    for i in 0..MAX_REMOVED_OBJECTS {
        let _ = writeln!(text, "      - {{kind: ConfigMap, name: old-{i}}}");
    }
    text
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A directory of this test's own (the tests run in parallel).
fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("rsg-memory-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    Scratch(dir)
}

#[test]
fn endless_input_is_cut_at_the_cap() {
    if support::require_tool("time").is_none() {
        return;
    }
    let run = measure(&["validate", "/dev/zero"], None);
    assert_small("validate /dev/zero", &run, 1);
    assert!(
        run.stderr.contains("larger than 1048576 bytes"),
        "{}",
        run.stderr
    );
    let run = measure(&["krm"], Some(Path::new("/dev/zero")));
    assert_small("krm < /dev/zero", &run, 1);
    assert!(run.stderr.contains("larger than"), "{}", run.stderr);
}

#[test]
fn the_largest_valid_profile_stays_small_everywhere() {
    if support::require_tool("time").is_none() {
        return;
    }
    let dir = scratch("largest");
    let profile = dir.0.join("big.yaml");
    let text = largest_profile();
    std::fs::write(&profile, &text).unwrap_or_else(|e| panic!("{e}"));
    let profile_arg = profile.display().to_string();
    assert_small("validate", &measure(&["validate", &profile_arg], None), 0);
    let out = dir.0.join("out").display().to_string();
    assert_small(
        "render --out",
        &measure(&["render", &profile_arg, "--out", &out], None),
        0,
    );
    let indented: String = text.lines().map(|l| format!("  {l}\n")).collect();
    let list = dir.0.join("list.yaml");
    std::fs::write(
        &list,
        format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n{indented}"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_small("krm", &measure(&["krm"], Some(&list)), 0);
}

/// The largest ResourceList `krm` reads: items of big strings (few nodes, so serde-saphyr's
/// node budget does not cut it short), every one echoed back.
#[test]
fn a_resource_list_at_the_cap_stays_small() {
    if support::require_tool("time").is_none() {
        return;
    }
    let dir = scratch("list");
    let profile = std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let config: String = profile.lines().map(|l| format!("  {l}\n")).collect();
    let mut list =
        String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    let item = |i: usize| {
        format!(
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: cm-{i}}}\n  data: {{k: \"{}\"}}\n",
            "x".repeat(4000)
        )
    };
    let room = redis_sentinel_gen::krm::MAX_INPUT_BYTES - config.len() - 100;
    let mut i = 0;
    while list.len() + item(i).len() < room {
        list.push_str(&item(i));
        i += 1;
    }
    list.push_str("functionConfig:\n");
    list.push_str(&config);
    assert!(list.len() <= redis_sentinel_gen::krm::MAX_INPUT_BYTES);
    let path = dir.0.join("list.yaml");
    std::fs::write(&path, &list).unwrap_or_else(|e| panic!("{e}"));
    assert_small(
        &format!("krm < {} bytes, {i} items", list.len()),
        &measure(&["krm"], Some(&path)),
        0,
    );
}

#[test]
fn every_bad_profile_at_once_stays_small() {
    if support::require_tool("time").is_none() {
        return;
    }
    let bad: Vec<String> = std::fs::read_dir(support::repo_root().join("tests/bad"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            format!(
                "tests/bad/{}",
                p.file_name().unwrap_or_default().to_string_lossy()
            )
        })
        .collect();
    assert!(bad.len() > 60, "{bad:?}");
    let mut args = vec!["validate"];
    args.extend(bad.iter().map(String::as_str));
    let run = measure(&args, None);
    assert_small("validate tests/bad/*", &run, 1);
    assert!(
        run.stderr.contains(&format!(
            "{} files checked, {} invalid",
            bad.len(),
            bad.len()
        )),
        "{}",
        run.stderr
    );
}
