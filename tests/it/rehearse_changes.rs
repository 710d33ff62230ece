//! `rehearse --from`: changes to a running deployment rehearsed on the real Redis binaries,
//! with `plan`'s manual steps run exactly as printed (issue 10's done-when): an image tag,
//! redis.replicas 2 → 3 → 2, sentinel.replicas 3 → 5 → 3, a timing, and a password
//! rotation. Each is the binary run as a user runs it; its JSON report must pass every bound
//! of every step.
//!
//! Needs root (namespaces, mounts), `unshare`, `setpriv`, `nsenter`, `busybox`, `openssl`
//! and Debian's `redis-server`, `redis-sentinel` and `redis-cli`. Pods listen on 127.0.6.1
//! and up (new addresses from 127.0.6.129); the tests take turns through the emulation's
//! address lock.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const FIRST_IP: &str = "127.0.6.1";

fn reference() -> String {
    std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .expect("reference profile")
}

/// The reference profile with each `from` (which must occur once) replaced by `to`.
fn edited(edits: &[(&str, &str)]) -> String {
    support::edited(&reference(), edits)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rsg-rehearse-changes-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Root and the rehearsal's tools, and openssl (the rotation's printed steps call it).
fn prerequisites() -> bool {
    support::real_redis_prerequisites(&["openssl"])
}

/// `rehearse --from` over `profiles` (name, text), in `dir`: the JSON report, after
/// checking that the rehearsal passed and reported one passing step per change.
fn rehearse(dir: &Path, profiles: &[(&str, String)]) -> Value {
    for (name, text) in profiles {
        std::fs::write(dir.join(name), text).expect("write profile");
    }
    let mut args: Vec<&str> = vec!["rehearse", "--first-ip", FIRST_IP, "--json", "--from"];
    for (i, (name, _)) in profiles.iter().enumerate() {
        if i >= 2 {
            args.push("--then");
        }
        args.push(name);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_redis-sentinel-gen"))
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("run redis-sentinel-gen rehearse --from");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}), exit {:?}:\n{stderr}",
            out.status.code()
        )
    });
    let steps = report["steps"].as_array().expect("steps");
    for step in steps {
        eprintln!(
            "{} → {}: {:.2} s, longest gap {:.2} s, {} acknowledged, {} lost, {} commands, missed {}",
            step["from"],
            step["to"],
            step["duration_s"].as_f64().unwrap_or(-1.0),
            step["longest_gap_s"].as_f64().unwrap_or(-1.0),
            step["acknowledged"],
            step["lost"],
            step["commands"].as_array().map_or(0, Vec::len),
            step["missed"]
        );
    }
    assert!(
        out.status.success() && report["passed"] == true,
        "exit {:?}, report {report:#}\n{stderr}",
        out.status.code()
    );
    assert_eq!(steps.len(), profiles.len() - 1, "{report:#}");
    for step in steps {
        assert_eq!(step["passed"], true, "{step:#}");
        assert_eq!(step["lost"], 0, "{step:#}");
        assert!(
            step["longest_gap_s"].as_f64().is_some_and(|g| g <= 2.0),
            "{step:#}"
        );
        assert!(
            step["acknowledged"].as_u64().is_some_and(|n| n > 0),
            "{step:#}"
        );
    }
    report
}

/// The printed command lines a step ran.
fn commands(step: &Value) -> Vec<String> {
    step["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| {
            assert_eq!(c["status"], 0, "{c:#}");
            c["command"].as_str().expect("command").to_string()
        })
        .collect()
}

/// An image tag: apply alone; every pod rolls, no manual step.
#[test]
fn an_image_tag_change_then_a_timing_change() {
    if !prerequisites() {
        return;
    }
    let _turn = support::real_redis_turn();
    let dir = scratch("image-timing");
    let image = ("image: redis:7.2.5-alpine", "image: redis:7.2.6-alpine");
    let report = rehearse(
        &dir,
        &[
            ("old.yaml", reference()),
            ("image.yaml", edited(&[image])),
            (
                "timing.yaml",
                edited(&[
                    image,
                    ("downAfterMilliseconds: 5000", "downAfterMilliseconds: 6000"),
                ]),
            ),
        ],
    );
    let steps = report["steps"].as_array().unwrap();
    assert!(commands(&steps[0]).is_empty(), "{:#}", steps[0]);
    let image_events = steps[0]["events"].to_string();
    for pod in ["redis-master-0", "redis-replica-1", "redis-sentinel-0"] {
        assert!(
            image_events.contains(&format!("{pod} Ready")),
            "{pod} did not roll: {image_events}"
        );
    }
    // The timing step runs plan's check on every Sentinel, and the report holds the value.
    let timing = commands(&steps[1]);
    assert_eq!(timing.len(), 3, "{timing:?}");
    assert!(
        timing.iter().all(|c| c.contains("SENTINEL MASTER")),
        "{timing:?}"
    );
    for view in steps[1]["sentinels"].as_array().unwrap() {
        assert_eq!(view["down_after_milliseconds"], "6000", "{view:#}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// redis.replicas 2 → 3 → 2: the scale-down's SENTINEL RESET steps and the removed pod's
/// PVC deletion run as printed. A small rolloutWaitSeconds: every Redis pod rolled after the
/// scale-down waits that long in its preStop hook for the removed replica, which its old
/// config still lists, to come back.
#[test]
fn redis_replicas_up_and_down() {
    if !prerequisites() {
        return;
    }
    let _turn = support::real_redis_turn();
    let dir = scratch("redis-replicas");
    let wait = (
        "    minReplicasMaxLag: 10\n",
        "    minReplicasMaxLag: 10\n    rolloutWaitSeconds: 20\n",
    );
    let report = rehearse(
        &dir,
        &[
            ("two.yaml", edited(&[wait])),
            (
                "three.yaml",
                edited(&[
                    wait,
                    ("  redis:\n    replicas: 2\n", "  redis:\n    replicas: 3\n"),
                ]),
            ),
            ("two-again.yaml", edited(&[wait])),
        ],
    );
    let steps = report["steps"].as_array().unwrap();
    let down = commands(&steps[1]);
    assert!(
        down.iter().any(|c| c.contains("SENTINEL RESET")),
        "no reset step ran: {down:?}"
    );
    assert!(
        down.iter()
            .any(|c| c.contains("delete pvc data-redis-replica-2")),
        "the removed pod's PVC was not deleted: {down:?}"
    );
    for view in steps[1]["sentinels"].as_array().unwrap() {
        assert_eq!(view["num_slaves"], "2", "{view:#}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// sentinel.replicas 3 → 5 → 3: the new quorum everywhere, and after the scale-down's
/// SENTINEL RESET steps no Sentinel counts a removed one.
#[test]
fn sentinel_replicas_up_and_down() {
    if !prerequisites() {
        return;
    }
    let _turn = support::real_redis_turn();
    let dir = scratch("sentinel-replicas");
    let five = (
        "    replicas: 3\n    quorum: 2\n",
        "    replicas: 5\n    quorum: 3\n",
    );
    let report = rehearse(
        &dir,
        &[
            ("three.yaml", reference()),
            ("five.yaml", edited(&[five])),
            ("three-again.yaml", reference()),
        ],
    );
    let steps = report["steps"].as_array().unwrap();
    for view in steps[0]["sentinels"].as_array().unwrap() {
        assert_eq!(
            (
                view["quorum"].as_str(),
                view["num_other_sentinels"].as_str()
            ),
            (Some("3"), Some("4")),
            "{view:#}"
        );
    }
    let down = commands(&steps[1]);
    assert!(
        down.iter().filter(|c| c.contains("SENTINEL RESET")).count() == 3,
        "one reset per remaining Sentinel: {down:?}"
    );
    for view in steps[1]["sentinels"].as_array().unwrap() {
        assert_eq!(
            (
                view["quorum"].as_str(),
                view["num_other_sentinels"].as_str()
            ),
            (Some("2"), Some("2")),
            "{view:#}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A password rotation (a new Secret): plan's rotation procedure with rotate-password.sh,
/// as printed: the new Secret, `add` and `switch` on every pod, the clients moved, the apply
/// (every pod restarts onto the new Secret), then `remove` on every pod. Before the fix,
/// `remove` failed on the pods the apply had restarted ("no rotation in progress here").
#[test]
fn a_password_rotation() {
    if !prerequisites() {
        return;
    }
    let _turn = support::real_redis_turn();
    let dir = scratch("rotation");
    let report = rehearse(
        &dir,
        &[
            ("old.yaml", reference()),
            (
                "rotated.yaml",
                edited(&[("secretName: redis-auth\n", "secretName: redis-auth-2\n")]),
            ),
        ],
    );
    let step = &report["steps"][0];
    let ran = commands(step);
    for what in ["create secret generic redis-auth-2", "apply -k DIR/clients"] {
        assert!(
            ran.iter().any(|c| c.contains(what)),
            "no {what:?} in {ran:?}"
        );
    }
    for what in ["add", "switch", "remove"] {
        let n = ran
            .iter()
            .filter(|c| c.ends_with(&format!("rotate-password.sh {what}")))
            .count();
        assert_eq!(n, 6, "rotate-password.sh {what} on every pod: {ran:?}");
    }
    let events = step["events"].to_string();
    assert!(
        events.contains("client restarted with the new Secret"),
        "{events}"
    );
    assert!(
        events.contains("redis-master-0 Ready"),
        "the apply rolled no pod: {events}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
