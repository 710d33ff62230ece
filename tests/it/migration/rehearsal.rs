//! The whole migration on real Redis: `rehearse --migration`, with and without a base.

use std::process::Command;

use serde_json::Value;

use super::{BIN, fixture};
use crate::support;

/// `redis-sentinel-gen rehearse --migration` on the fixture profile and base: every scenario
/// within its bounds. The pods take 127.0.0.100 and up, the old Redis 127.0.0.200.
#[test]
fn rehearse_migration_passes_every_scenario() {
    if !support::real_redis_prerequisites(&["redis-cli", "sh"]) {
        return;
    }
    let _turn = support::real_redis_turn();
    let output = Command::new(BIN)
        .arg("rehearse")
        .arg(fixture().join("profile.yaml"))
        .arg("--migration")
        .arg("--base")
        .arg(fixture().join("base"))
        .args(["--first-ip", "127.0.0.100", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stderr}");
    let outcomes: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); exit {:?}", output.status));
    let titles: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o["scenario"].as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "migration",
            "migration, cutover right after copy",
            "migration, old Redis restarted after cutover",
            "migration, wrong old-Redis password",
        ]
    );
    // The bounds, checked here as well as by the rehearsal's own verdict.
    for outcome in &outcomes {
        let title = outcome["scenario"].as_str().unwrap_or_default();
        assert_eq!(outcome["failures"], serde_json::json!([]), "{title}");
        if title.ends_with("password") {
            let took = outcome["copy_failed_after_s"]
                .as_f64()
                .expect("copy timing");
            assert!(took < 10.0, "{title}: copy took {took} s to fail");
            continue;
        }
        assert_eq!(
            outcome["keys_carried"], outcome["preloaded_keys"],
            "{title}"
        );
        assert_eq!(outcome["full_syncs_after_cutover"], 0, "{title}");
        let clients = outcome["clients"].as_array().expect("clients");
        assert_eq!(clients.len(), 2, "{title}");
        for client in clients {
            assert_eq!(client["lost"], 0, "{title}: {client}");
            assert!(
                client["acked_before_cutover"].as_u64() > Some(0),
                "{title}: {client}"
            );
            assert!(
                client["acked_after_cutover"].as_u64() > Some(0),
                "{title}: {client}"
            );
        }
        // The clients switch at different times after the cutover.
        assert_ne!(
            clients[0]["switched_after_cutover_s"]
                .as_f64()
                .map(|s| (s * 10.0).round()),
            clients[1]["switched_after_cutover_s"]
                .as_f64()
                .map(|s| (s * 10.0).round()),
            "{title}"
        );
        if title.ends_with("after cutover") {
            // The second client wrote to the restarted old Redis: the fence refused it.
            assert!(
                clients[1]["refused_by_fence"].as_u64() > Some(0),
                "{title}: {}",
                clients[1]
            );
        }
        if title == "migration" {
            let checks = outcome["verify_checks"].as_array().expect("verify checks");
            assert_eq!(checks.len(), 2, "{title}");
            for check in checks {
                assert_eq!(check["verify_failed"], true, "{title}: {check}");
            }
        }
    }
    assert!(output.status.success(), "exit {:?}", output.status);
}

/// Without a base the old Redis is a plain `redis-server` that phase 2 leaves running as it
/// is: `verify` then judges the very process of the cutover (same run_id: its write count and
/// replication offset), and must still fail when a write got past the fence.
#[test]
fn rehearse_migration_without_a_base() {
    if !support::real_redis_prerequisites(&["redis-cli", "sh"]) {
        return;
    }
    let _turn = support::real_redis_turn();
    let output = Command::new(BIN)
        .arg("rehearse")
        .arg(fixture().join("profile.yaml"))
        .args(["--migration", "--only", "normal"])
        .args(["--first-ip", "127.0.0.100", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stderr}");
    let outcomes: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); exit {:?}", output.status));
    let [outcome] = outcomes.as_slice() else {
        panic!("one scenario expected: {outcomes:?}");
    };
    assert!(stderr.contains("a plain redis-server"), "{stderr}");
    assert!(!stderr.contains("restarted it with the fence"), "{stderr}");
    assert_eq!(outcome["failures"], serde_json::json!([]));
    assert_eq!(outcome["keys_carried"], outcome["preloaded_keys"]);
    for client in outcome["clients"].as_array().expect("clients") {
        assert_eq!(client["lost"], 0, "{client}");
    }
    for check in outcome["verify_checks"].as_array().expect("verify checks") {
        assert_eq!(check["verify_failed"], true, "{check}");
    }
    assert!(output.status.success(), "exit {:?}", output.status);
}
