//! The command line as a user meets it: exit codes, and the exact error text for every bad
//! profile under `tests/bad/` (snapshots in `golden/cli/`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What each bad profile's stderr must name, so that a snapshot accepted without reading
/// cannot hide a message about the wrong field. Every file in `tests/bad/` needs a row.
const EXPECTED: &[(&str, &[&str])] = &[
    ("alias-bomb", &["more than 100000 values", ":7:"]),
    (
        "down-after-too-short",
        &["spec.sentinel.downAfterMilliseconds"],
    ),
    (
        "client-without-container",
        &["spec.clients[0]", "container"],
    ),
    ("duplicate-clients", &["spec.clients[1].name"]),
    ("empty", &["the profile is empty"]),
    (
        "endpoints-invalid",
        &["spec.clusterDomain", "spec.migration.from.host"],
    ),
    ("even-sentinels", &["spec.sentinel.replicas", "must be odd"]),
    (
        "failover-timeout-not-above-down-after",
        &["spec.sentinel.failoverTimeout"],
    ),
    (
        "fsync-unknown",
        &["spec.persistence.aof.fsync", "did you mean `everysec`?"],
    ),
    (
        "grace-period-too-short",
        &["spec.redis.terminationGracePeriodSeconds", "at least 140"],
    ),
    (
        "rollout-wait-too-long",
        &["spec.redis.rolloutWaitSeconds", "0 to 3600"],
    ),
    (
        "grace-period-below-rollout-wait",
        &["spec.redis.terminationGracePeriodSeconds", "at least 620"],
    ),
    ("image-redis-6", &["spec.image", "7.0.8"]),
    ("image-redis-7.0.5", &["spec.image", "7.0.8"]),
    (
        "many-errors",
        &[
            "spec.imagee",
            "spec.redis.replicas",
            "spec.sentinel.quorom",
            "spec.sentinel.failoverTimeout",
        ],
    ),
    (
        "master-name-newline",
        &["spec.masterName", r#""shop-master\nsentinel"#],
    ),
    (
        "master-name-space",
        &["spec.masterName", r#""shop master""#],
    ),
    ("metadata-name-too-long", &["metadata.name", "more than 63"]),
    (
        "migration-base-invalid",
        &[
            "spec.migration.base",
            "spec.migration.remove[0].kind",
            "spec.migration.remove[1].name",
        ],
    ),
    (
        "migration-source-is-new-redis",
        &["spec.migration.from.host", "part of the new deployment"],
    ),
    (
        "min-replicas-max-lag-zero",
        &["spec.redis.minReplicasMaxLag"],
    ),
    (
        "min-replicas-to-write-too-high",
        &["spec.redis.minReplicasToWrite", "0 to 1"],
    ),
    ("missing-master-name", &["spec.masterName", "missing field"]),
    ("multiple-documents", &["exactly one YAML document", ":9:1"]),
    (
        "name-prefix-too-long",
        &["spec.namePrefix", "at most 38 characters"],
    ),
    ("name-underscore", &["metadata.namespace", "'_'"]),
    ("name-uppercase", &["metadata.name", "uppercase"]),
    (
        "names-invalid-everywhere",
        &[
            "spec.namePrefix",
            "spec.auth.secretName",
            "spec.auth.secretKey",
            "spec.redis.storage.storageClassName",
            "spec.clients[0].name",
            "spec.clients[0].container",
        ],
    ),
    ("not-yaml", &["not valid YAML", ":5:"]),
    (
        "parallel-syncs-above-replicas",
        &["spec.sentinel.parallelSyncs", "1 to 2"],
    ),
    ("parallel-syncs-zero", &["spec.sentinel.parallelSyncs"]),
    (
        "persistence-off",
        &["spec.persistence", "acknowledgeDataLossOnRestart"],
    ),
    (
        "quorum-misspelt",
        &["spec.sentinel.quorom", "did you mean `quorum`?"],
    ),
    (
        "quorum-not-majority",
        &["spec.sentinel.quorum", "valid: 2 (⌊3/2⌋ + 1)"],
    ),
    (
        "rdb-save-point-zero",
        &[
            "spec.persistence.rdb[0].seconds",
            "spec.persistence.rdb[1].changes",
        ],
    ),
    ("redis-replicas-zero", &["spec.redis.replicas"]),
    (
        "resources-invalid",
        &[
            "spec.sentinel.resources.requests.cpu",
            "spec.sentinel.resources.limits.memory",
        ],
    ),
    (
        "sentinel-storage-not-a-quantity",
        &["spec.sentinel.storage.size", "5Gi, 5G or 5000M"],
    ),
    (
        "single-sentinel-without-development",
        &["spec.sentinel.replicas", "spec.development: true"],
    ),
    (
        "storage-not-a-quantity",
        &["spec.redis.storage.size", "5Gi, 5G or 5000M"],
    ),
    (
        "string-for-number",
        &[
            "spec.sentinel.replicas",
            "spec.sentinel.downAfterMilliseconds",
            "whole number",
        ],
    ),
    ("top-level-list", &["a profile is a mapping"]),
    (
        "wrong-api-version",
        &["apiVersion", "redis-sentinel-gen/v1alpha1"],
    ),
    ("wrong-kind", &["kind", "RedisSentinel"]),
    (
        "backup-retention-zero",
        &["spec.backup.retention", "from 1 to 1000"],
    ),
    // Issue 12: counts bounded before anything is built from them.
    (
        "redis-replicas-u32-max",
        &["spec.redis.replicas", "4294967295", "from 1 to 100"],
    ),
    (
        "sentinel-replicas-ten-million",
        &["spec.sentinel.replicas", "10000001", "from 1 to 15"],
    ),
    (
        "clients-too-many",
        &["spec.clients", "101 items, more than 100"],
    ),
    // Numbers Redis itself refuses.
    (
        "down-after-above-sentinel-limit",
        &[
            "spec.sentinel.downAfterMilliseconds",
            "2147483648",
            "from 1000 to 2147483646",
        ],
    ),
    (
        "min-replicas-max-lag-above-redis-limit",
        &["spec.redis.minReplicasMaxLag", "from 0 to 2147483647"],
    ),
    (
        "down-after-at-maximum",
        &["spec.sentinel.downAfterMilliseconds", "(e.g. 2147483647)"],
    ),
    // Integer forms that read differently to different YAML parsers.
    (
        "number-leading-zero",
        &[
            "spec.redis.replicas",
            "found: 010",
            "from 1 to 100",
            "write `10`",
        ],
    ),
    (
        "number-leading-zeros",
        &[
            "spec.sentinel.parallelSyncs",
            "found: 007",
            "from 1 to 100",
            "write `7`",
        ],
    ),
    (
        "number-negative-zero",
        &["spec.redis.minReplicasToWrite", "found: -0", "from 0 to 99"],
    ),
    (
        "number-float-tag",
        &["spec.sentinel.replicas", "!!float 3", "from 1 to 15"],
    ),
    ("merge-key", &["spec.redis", "merge keys are not supported"]),
    // Strings Kubernetes refuses.
    ("secret-key-dot", &["spec.auth.secretKey", "found: ."]),
    (
        "secret-key-starts-with-two-dots",
        &["spec.auth.secretKey", "found: ..x"],
    ),
    ("image-uppercase", &["spec.image", "uppercase"]),
    ("image-digest-invalid", &["spec.image", "sha256:xyz"]),
    ("image-two-tags", &["spec.image", "more than one `:tag`"]),
    (
        "image-tag-empty",
        &["error: invalid image", "spec.image", "without a tag"],
    ),
    (
        "image-at-only",
        &["error: invalid image", "spec.image", "found: @"],
    ),
    (
        "backup-schedule-out-of-range",
        &["spec.backup.schedule", "`99` is outside 0 to 59"],
    ),
    (
        "backup-schedule-step-zero",
        &["spec.backup.schedule", "step must be a positive number"],
    ),
    (
        "backup-schedule-dashes",
        &["spec.backup.schedule", "a range needs both ends"],
    ),
    (
        "request-one-byte-above-limit",
        &[
            "spec.redis.resources.limits.memory",
            "9007199254740993 is above its limit 8Pi",
        ],
    ),
    (
        "storage-milli",
        &["spec.redis.storage.size", "not a whole number of bytes"],
    ),
    (
        "master-name-too-long",
        &["spec.masterName", "100000 characters"],
    ),
    // Names of the deployment's own objects.
    (
        "client-is-generated-statefulset",
        &[
            "spec.clients[0].name",
            "StatefulSet `redis-sentinel` is generated",
        ],
    ),
    (
        "migration-source-is-metrics-service",
        &["spec.migration.from.host", "found: redis-metrics"],
    ),
    (
        "migration-source-is-sentinel-metrics-service",
        &[
            "spec.migration.from.host",
            "redis-sentinel-metrics.shop.svc",
        ],
    ),
    (
        "operations-invalid",
        &[
            "spec.monitoring.exporterImage",
            "spec.monitoring.interval",
            "spec.monitoring.labels.bad label",
            "spec.networkPolicy.monitoringNamespace",
            "spec.networkPolicy.clientPodLabels",
            "spec.backup.schedule",
            "spec.backup.storage.size",
        ],
    ),
];

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
            let needles = EXPECTED
                .iter()
                .find(|(name, _)| *name == case)
                .map(|(_, needles)| *needles)
                .unwrap_or_else(|| panic!("tests/bad/{case}.yaml has no row in EXPECTED"));
            for needle in needles {
                assert!(
                    stderr.contains(needle),
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
fn every_expected_case_has_a_file() {
    for (case, _) in EXPECTED {
        let path = repo().join("tests/bad").join(format!("{case}.yaml"));
        assert!(path.is_file(), "{} is missing", path.display());
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
fn validate_reports_every_file() {
    let output = run(&[
        "validate",
        "tests/bad/quorum-not-majority.yaml",
        "profiles/welcomebot.yaml",
        "tests/bad/even-sentinels.yaml",
        "no-such-profile.yaml",
    ]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for needle in [
        "--> tests/bad/quorum-not-majority.yaml:11:13",
        "--> tests/bad/even-sentinels.yaml:10:15",
        "--> no-such-profile.yaml\n",
        "cannot read the profile",
        "error: 4 files checked, 3 invalid (3 errors, 0 warnings)",
    ] {
        assert!(stderr.contains(needle), "`{needle}` not in\n{stderr}");
    }
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
fn usage_errors_exit_2() {
    for args in [
        &["render", "--bogus"][..],
        &["validate"],
        &["frobnicate"],
        &[],
    ] {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn help_exits_0() {
    let output = run(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("render"));
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
