//! `plan OLD NEW` (issue 10): one snapshot per kind of change, of the exact text and exit
//! code the binary gives, under `golden/plan/`. Each case is the reference profile with one
//! edit; the checks beside the snapshots pin what must never drift (the exit code, the
//! manual commands that carry this deployment's names).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

/// (case, edits of the reference profile). OLD is the reference profile itself, except
/// where a case names its own OLD edits (`auth-on`).
struct Case {
    name: &'static str,
    old: &'static [(&'static str, &'static str)],
    new: &'static [(&'static str, &'static str)],
    exit: i32,
    /// Text that must appear in the plan.
    must: &'static [&'static str],
}

const SENTINELS_5: (&str, &str) = (
    "    replicas: 3\n    quorum: 2\n",
    "    replicas: 5\n    quorum: 3\n",
);
const AUTH_OFF: (&str, &str) = (
    "enabled: true\n    secretName",
    "enabled: false\n    secretName",
);

const CASES: &[Case] = &[
    Case {
        name: "no-change",
        old: &[],
        new: &[],
        exit: 0,
        must: &["No change"],
    },
    Case {
        name: "image",
        old: &[],
        new: &[("image: redis:7.2.5-alpine", "image: redis:7.2.6-alpine")],
        exit: 0,
        must: &["spec.image", "restarts redis-master-0"],
    },
    Case {
        name: "redis-replicas-up",
        old: &[],
        new: &[("    replicas: 2\n", "    replicas: 3\n")],
        exit: 0,
        must: &["starts redis-replica-2"],
    },
    Case {
        name: "redis-replicas-down",
        old: &[],
        new: &[
            ("    replicas: 2\n", "    replicas: 1\n"),
            ("minReplicasToWrite: 1", "minReplicasToWrite: 0"),
        ],
        exit: 3,
        must: &[
            "SENTINEL RESET welcomebot-master",
            "delete pvc data-redis-replica-1",
        ],
    },
    Case {
        name: "sentinel-replicas-up",
        old: &[],
        new: &[SENTINELS_5],
        exit: 0,
        must: &["3 (quorum 2) → 5 (quorum 3)", "starts redis-sentinel-3"],
    },
    Case {
        name: "sentinel-replicas-down",
        old: &[SENTINELS_5],
        new: &[],
        exit: 3,
        must: &[
            "5 (quorum 3) → 3 (quorum 2)",
            "exec redis-sentinel-2 -c sentinel -- redis-cli -p 26379 SENTINEL RESET welcomebot-master",
        ],
    },
    Case {
        name: "timings",
        old: &[],
        new: &[
            ("downAfterMilliseconds: 5000", "downAfterMilliseconds: 8000"),
            ("failoverTimeout: 10000", "failoverTimeout: 20000"),
            ("parallelSyncs: 1", "parallelSyncs: 2"),
        ],
        exit: 0,
        must: &["downAfterMilliseconds 8000", "parallelSyncs 2"],
    },
    Case {
        name: "storage-size",
        old: &[],
        new: &[("size: 5Gi", "size: 10Gi")],
        exit: 3,
        must: &[
            "delete statefulset redis-replica --cascade=orphan",
            "patch pvc data-redis-replica-1",
        ],
    },
    Case {
        name: "storage-shrink",
        old: &[],
        new: &[("size: 5Gi", "size: 2Gi")],
        exit: 3,
        must: &["cannot shrink"],
    },
    Case {
        name: "storage-class",
        old: &[],
        new: &[(
            "size: 5Gi\n",
            "size: 5Gi\n      storageClassName: fast-ssd\n",
        )],
        exit: 3,
        must: &["NOT possible in place", "migration/README.md"],
    },
    Case {
        name: "backup-grow",
        old: &[],
        new: &[("storage: { size: 10Gi }", "storage: { size: 20Gi }")],
        exit: 3,
        must: &["allowVolumeExpansion", "get pvc redis-backup"],
    },
    Case {
        name: "backup-shrink",
        old: &[],
        new: &[("storage: { size: 10Gi }", "storage: { size: 5Gi }")],
        exit: 3,
        must: &[
            "cannot shrink",
            "patch cronjob redis-backup -p '{\"spec\":{\"suspend\":true}}'",
            "kubectl -n welcomebot delete pvc redis-backup",
            "patch cronjob redis-backup -p '{\"spec\":{\"suspend\":false}}'",
        ],
    },
    Case {
        name: "backup-class",
        old: &[],
        new: &[(
            "storage: { size: 10Gi }",
            "storage: { size: 10Gi, storageClassName: fast }",
        )],
        exit: 3,
        must: &["change its storage class", "delete pvc redis-backup"],
    },
    Case {
        name: "namespace",
        old: &[],
        new: &[("namespace: welcomebot\n", "namespace: welcomebot-v2\n")],
        exit: 3,
        must: &[
            "NOT possible in place",
            "also deletes the claim redis-backup and the backup snapshots",
            // The paths plan was given, not placeholders.
            "redis-sentinel-gen render new.yaml --out NEW-DIR",
            "redis-sentinel-gen render old.yaml | kubectl delete -f -",
        ],
    },
    Case {
        name: "name-prefix",
        old: &[],
        new: &[(
            "masterName: welcomebot-master\n",
            "masterName: welcomebot-master\n  namePrefix: v2-\n",
        )],
        exit: 3,
        must: &["spec.namePrefix"],
    },
    Case {
        name: "master-name",
        old: &[],
        new: &[(
            "masterName: welcomebot-master\n",
            "masterName: welcomebot\n",
        )],
        exit: 3,
        must: &["spec.masterName", "different spec.namePrefix"],
    },
    Case {
        name: "auth-off",
        old: &[],
        new: &[AUTH_OFF],
        exit: 3,
        must: &["turning auth off"],
    },
    Case {
        name: "auth-on",
        old: &[AUTH_OFF],
        new: &[],
        exit: 3,
        must: &["create secret generic redis-auth"],
    },
    Case {
        name: "secret-change",
        old: &[],
        new: &[("secretName: redis-auth\n", "secretName: redis-auth-2026\n")],
        exit: 3,
        must: &[
            "rotate-password.sh add",
            "rotate-password.sh switch",
            "rotate-password.sh remove",
        ],
    },
];

fn reference() -> String {
    std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .expect("reference profile")
}

fn edited(edits: &[(&str, &str)]) -> String {
    support::edited(&reference(), edits)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsg-plan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Run the binary in `dir` (so the profile paths in its output are the bare file names).
fn plan(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_redis-sentinel-gen"))
        .arg("plan")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run redis-sentinel-gen plan");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../golden/plan");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn every_kind_of_change_has_its_plan() {
    let dir = scratch("cases");
    for case in CASES {
        std::fs::write(dir.join("old.yaml"), edited(case.old)).unwrap();
        std::fs::write(dir.join("new.yaml"), edited(case.new)).unwrap();
        let (code, stdout, stderr) = plan(&dir, &["old.yaml", "new.yaml"]);
        assert_eq!(
            code, case.exit,
            "{}: exit {code}, expected {}\n{stdout}{stderr}",
            case.name, case.exit
        );
        for text in case.must {
            assert!(
                stdout.contains(text),
                "{}: no {text:?} in\n{stdout}",
                case.name
            );
        }
        settings().bind(|| {
            insta::assert_snapshot!(case.name, format!("exit {code}\n{stdout}"));
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--from DIR` reads OLD from a committed tree and gives the same plan as the profile did;
/// `--json` carries the same verdicts.
#[test]
fn from_a_rendered_tree_and_as_json() {
    let dir = scratch("from");
    std::fs::write(dir.join("old.yaml"), reference()).unwrap();
    std::fs::write(dir.join("new.yaml"), edited(&[SENTINELS_5])).unwrap();
    let rendered = Command::new(env!("CARGO_BIN_EXE_redis-sentinel-gen"))
        .args(["render", "old.yaml", "--out", "tree"])
        .current_dir(&dir)
        .status()
        .expect("render --out");
    assert!(rendered.success());
    let from_profile = plan(&dir, &["old.yaml", "new.yaml"]);
    let from_tree = plan(&dir, &["--from", "tree", "new.yaml"]);
    assert_eq!(from_profile, from_tree);

    let (code, json, _) = plan(&dir, &["--from", "tree", "new.yaml", "--json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&json).expect("--json is JSON");
    assert_eq!(json["verdict"], "apply");
    assert_eq!(json["changes"][0]["field"], "spec.sentinel.replicas");

    // A new deployment: the old one is removed from the tree plan read it from.
    std::fs::write(
        dir.join("moved.yaml"),
        edited(&[("namespace: welcomebot\n", "namespace: welcomebot-v2\n")]),
    )
    .unwrap();
    let (code, text, _) = plan(&dir, &["--from", "tree", "moved.yaml"]);
    assert_eq!(code, 3, "{text}");
    for needle in [
        "redis-sentinel-gen render moved.yaml --out NEW-DIR",
        "kubectl delete -f tree/redis-sentinel.yaml",
    ] {
        assert!(text.contains(needle), "no {needle:?} in\n{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_input_exits_1() {
    let dir = scratch("invalid");
    std::fs::write(dir.join("old.yaml"), reference()).unwrap();
    std::fs::write(
        dir.join("bad.yaml"),
        edited(&[("    replicas: 3\n    quorum: 2\n", "    replicas: 4\n")]),
    )
    .unwrap();
    let (code, _, stderr) = plan(&dir, &["old.yaml", "bad.yaml"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("spec.sentinel.replicas"), "{stderr}");
    let (code, _, stderr) = plan(&dir, &["--from", "no-such-dir", "old.yaml"]);
    assert_eq!(code, 1, "{stderr}");
    let (code, _, _) = plan(&dir, &["--from", "tree", "old.yaml", "bad.yaml"]);
    assert_eq!(code, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// down-after is read by the Sentinels alone: only they restart, and the plan must not say
/// that Redis pods roll (it did, for every timing change).
#[test]
fn a_sentinel_only_timing_change_restarts_only_the_sentinels() {
    let dir = scratch("down-after");
    std::fs::write(dir.join("old.yaml"), reference()).unwrap();
    std::fs::write(
        dir.join("new.yaml"),
        edited(&[("downAfterMilliseconds: 5000", "downAfterMilliseconds: 8000")]),
    )
    .unwrap();
    let (code, stdout, stderr) = plan(&dir, &["old.yaml", "new.yaml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("restarts redis-sentinel-2, redis-sentinel-1, redis-sentinel-0"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("StatefulSet redis-replica")
            && !stdout.contains("StatefulSet redis-master"),
        "only the Sentinels restart:\n{stdout}"
    );
    assert!(
        !stdout.contains("Redis pods"),
        "the notes say Redis pods roll, but none do:\n{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
