//! Issue 9, finding 5: a Sentinel client library at its defaults (no socket timeout) whose
//! write is parked on the hand-over's `CLIENT PAUSE WRITE` must be released once the
//! Sentinels name the new master, not when the old Redis process exits.
//!
//! The situation that tells the two apart: the master is deleted while it holds a data set
//! (64 MiB) whose final RDB save on SIGTERM keeps the old process running, connections open,
//! for about a second after its preStop hook handed over. The rendered preStop closes the
//! paused client connections once the Sentinels name the new master (lib.sh, `hand_over`).
//! Without that, the client's writes come back only when the process is gone, and the outage
//! passes the 2 s bound. Needs what `tests/it/rehearse.rs` needs; pods listen on 127.0.2.1 and up.

use crate::support;

use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");

#[test]
fn a_client_waiting_on_the_paused_master_is_released_before_the_old_redis_exits() {
    if !support::real_redis_prerequisites(&[]) {
        return;
    }
    let _turn = support::real_redis_turn();
    let out = Command::new(BIN)
        .args(["rehearse", "--json", "--scenario", "master-stopped-saving"])
        .arg(support::repo_root().join("profiles/welcomebot.yaml"))
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr:\n{stderr}"));
    let run = report["scenarios"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["scenario"] == "master-stopped-saving"))
        .unwrap_or_else(|| panic!("the scenario did not run; stderr:\n{stderr}"));
    eprintln!("{run:#}");
    let ms = |field: &str| {
        run[field]
            .as_u64()
            .unwrap_or_else(|| panic!("no {field} in {run:#}\n{stderr}"))
    };
    let (named, gone, gap) = (
        ms("newMasterAfterMs"),
        ms("oldRedisGoneAfterMs"),
        ms("longestGapMs"),
    );
    // The situation is there: the old process ran on after the new master was named.
    assert!(
        gone >= named + 400,
        "the old Redis was gone {gone} ms after the delete, the new master named at {named} ms: \
         nothing to rehearse\n{stderr}"
    );
    // The client was released by the hook, not by the exit (a client released by the exit
    // writes again a few milliseconds before the harness sees the process reaped), and within
    // the bound.
    let back = run["writesBackAfterMs"].as_u64();
    assert!(
        back.is_some_and(|b| b + 250 <= gone),
        "writes back at {back:?} ms, the old Redis gone at {gone} ms (new master at {named} ms, \
         longest gap {gap} ms): the client waited for the process to exit\n{stderr}"
    );
    assert!(gap <= 2000, "longest gap {gap} ms > 2000 ms\n{stderr}");
    assert_eq!(run["lost"], 0, "{run:#}");
    assert_eq!(run["passed"], true, "{run:#}\n{stderr}");
    assert!(out.status.success(), "{}\n{stderr}", out.status);
}
