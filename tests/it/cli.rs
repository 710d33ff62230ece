//! The command line as a user meets it: exit codes, and the exact error text for every bad
//! profile under `tests/bad/` (snapshots in `golden/cli/`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What a bad profile's stderr must name, so that a snapshot accepted without reading cannot
/// hide a message about the wrong field: the `# expect: TEXT` lines the file ends with (one
/// per text). They come last so that the positions of the findings above them stay as they
/// are; every file in `tests/bad/` needs at least one.
fn expected(path: &Path) -> Vec<String> {
    let text =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let first = lines
        .iter()
        .rposition(|line| !line.starts_with("# expect: "))
        .map_or(0, |last_other| last_other + 1);
    let expected: Vec<String> = lines[first..]
        .iter()
        .map(|line| line["# expect: ".len()..].to_string())
        .collect();
    assert!(
        !expected.is_empty(),
        "{} does not end with `# expect: TEXT` lines",
        path.display()
    );
    assert!(
        !lines[..first]
            .iter()
            .any(|line| line.starts_with("# expect: ")),
        "{}: the `# expect:` lines must all come at the end",
        path.display()
    );
    expected
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Run the binary from the repository root, so the paths in its messages are relative and
/// the snapshots do not depend on where the repository is checked out.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_redis-sentinel-gen"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn bad_profiles() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../golden/cli");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("../bad", "*.yaml", |path| {
            let case = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let output = run(&["render", &relative(path)]);
            let stderr = stderr(&output);
            assert_eq!(output.status.code(), Some(1), "{case}:\n{stderr}");
            assert!(output.stdout.is_empty(), "{case}: rendered despite errors");
            for needle in expected(path) {
                assert!(
                    stderr.contains(&needle),
                    "{case}: `{needle}` not in\n{stderr}"
                );
            }
            assert!(
                stderr.contains("nothing rendered"),
                "{case}: no summary line\n{stderr}"
            );
            insta::assert_snapshot!(format!(
                "exit code: {}\n--- stderr\n{stderr}",
                output.status.code().unwrap_or(-1)
            ));
        });
    });
}

#[test]
fn every_bad_profile_ends_with_what_it_expects() {
    let cases: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/bad"))
        .unwrap_or_else(|e| panic!("cannot list tests/bad: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    assert!(cases.len() > 50, "only {} files in tests/bad", cases.len());
    for path in cases {
        // `expected` panics on a file without `# expect:` lines, or with one in its middle.
        let expected = expected(&path);
        assert!(
            expected.iter().all(|needle| !needle.trim().is_empty()),
            "{}: an empty `# expect:` line matches anything",
            path.display()
        );
    }
}

#[test]
fn shipped_profiles_are_valid() {
    let mut profiles: Vec<PathBuf> = std::fs::read_dir(repo().join("profiles"))
        .unwrap_or_else(|e| panic!("cannot list profiles/: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    profiles.sort();
    assert!(profiles.len() >= 3, "{profiles:?}");
    let mut args = vec!["validate".to_string()];
    args.extend(profiles.iter().map(|p| relative(p)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error:"), "{stderr}");
    assert!(
        stderr.contains(&format!("ok: {} files checked, 0 invalid", profiles.len())),
        "{stderr}"
    );
}

#[test]
fn the_development_profile_warns_but_passes() {
    let output = run(&["validate", "profiles/dev.yaml"]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr
            .starts_with("warning: one Sentinel is no high availability\n  --> profiles/dev.yaml:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("= field: spec.sentinel.replicas"),
        "{stderr}"
    );
}

#[test]
fn a_missing_profile_is_invalid_input() {
    let output = run(&["render", "no-such-profile.yaml"]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot read the profile: "),
        "{stderr}"
    );
}

#[test]
fn render_defaults_to_the_embedded_profile() {
    let output = run(&["render"]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(
            "# generated by redis-sentinel-gen from profiles/welcomebot.yaml (embedded)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("namespace: welcomebot"), "{stdout}");
}

#[test]
fn render_out_writes_only_valid_output() {
    let dir = std::env::temp_dir().join(format!("rsg-cli-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = dir.display().to_string();

    let output = run(&[
        "render",
        "tests/bad/quorum-not-majority.yaml",
        "--out",
        &dir_arg,
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        !dir.join("redis-sentinel.yaml").exists(),
        "invalid profile wrote output"
    );

    let output = run(&["render", "profiles/welcomebot.yaml", "--out", &dir_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "--out also printed to stdout");
    let written = std::fs::read_to_string(dir.join("redis-sentinel.yaml"))
        .unwrap_or_else(|e| panic!("nothing written: {e}"));
    let printed = run(&["render", "profiles/welcomebot.yaml"]).stdout;
    assert_eq!(written.as_bytes(), printed.as_slice());
    let _ = std::fs::remove_dir_all(&dir);
}
