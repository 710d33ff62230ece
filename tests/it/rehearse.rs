//! `redis-sentinel-gen rehearse` (issue 5, DESIGN §5): the rendered deployments of the
//! reference profile and of the five-Sentinel profile run on the real Redis binaries and go
//! through every failover scenario; every scenario must meet its bound.
//!
//! The verdicts are the command's own (`--json`); this test checks that every scenario ran
//! and passed, and prints the report. Needs root, `unshare`, `setpriv`, `nsenter`, `busybox`
//! and Debian's `redis-server` and `redis-sentinel`. Pods listen on 127.0.2.1 and up.

use crate::support;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");
/// Every scenario the issue asks for, by the slug the report uses.
const SCENARIOS: &[&str] = &[
    "manual-failover",
    "manual-failover-lagging",
    "master-killed",
    "master-stopped",
    "master-stopped-lagging",
    "master-stopped-saving",
    "raw-sentinel-failover",
    "stopping-replica-promoted",
    "old-master-returns",
    "sentinel-killed",
    "replica-killed",
    "sentinels-restarted-master-killed",
    "sentinel-restarted-in-place",
    "rollout-config",
    "rollout-image",
    "full-restart-after-failover",
];

/// Both profiles in one test, one after the other: two rehearsals side by side on two cores
/// would measure each other's load, not failover.
#[test]
fn rendered_deployments_pass_every_failover_scenario() {
    if !support::real_redis_prerequisites(&["rsvg-convert"]) {
        return;
    }
    let _turn = support::real_redis_turn();
    let svg = std::env::temp_dir().join(format!("rsg-rehearse-svg-{}", std::process::id()));
    for profile in ["profiles/welcomebot.yaml", "profiles/ha-5.yaml"] {
        let dir = svg.join(profile.trim_start_matches("profiles/"));
        let report = rehearse(profile, &dir);
        check(profile, &report);
        check_timelines(profile, &report, &dir);
    }
    let _ = std::fs::remove_dir_all(&svg);
}

#[test]
fn a_pod_address_off_loopback_is_a_usage_error() {
    let out = Command::new(BIN)
        .args(["rehearse", "--first-ip", "10.0.0.1"])
        .output()
        .expect("run the binary");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
}

#[test]
fn an_unknown_scenario_is_a_usage_error_that_lists_the_valid_ones() {
    let out = Command::new(BIN)
        .args(["rehearse", "--scenario", "manual-failover-laging"])
        .output()
        .expect("run the binary");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for slug in SCENARIOS {
        assert!(stderr.contains(slug), "{slug} not listed:\n{stderr}");
    }
}

/// Run the rehearsal of `profile` with `--json` and `--svg svg`; its report.
fn rehearse(profile: &str, svg: &Path) -> Value {
    let out = Command::new(BIN)
        .args(["rehearse", "--json", "--svg"])
        .arg(svg)
        .arg(support::repo_root().join(profile))
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{profile}: no JSON report ({e}); stderr:\n{stderr}"));
    eprintln!("{profile}:\n{}", table(&report));
    assert!(
        out.status.success(),
        "{profile}: the rehearsal failed ({}):\n{}\n{stderr}",
        out.status,
        table(&report)
    );
    report
}

fn check(profile: &str, report: &Value) {
    assert_eq!(report["passed"], true, "{profile}: {report:#}");
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    for slug in SCENARIOS {
        let runs: Vec<&Value> = scenarios
            .iter()
            .filter(|s| s["scenario"] == *slug)
            .collect();
        assert!(!runs.is_empty(), "{profile}: scenario {slug} did not run");
        for run in runs {
            assert_eq!(run["passed"], true, "{profile}: {run:#}");
            assert!(run["masterAfter"].is_string(), "{profile}: {run:#}");
            assert!(
                run["acknowledged"].as_u64().is_some_and(|n| n > 0),
                "{profile}: no write acknowledged in {run:#}"
            );
        }
    }
    let kills = scenarios
        .iter()
        .filter(|s| s["scenario"] == "master-killed")
        .count();
    assert!(kills >= 3, "{profile}: only {kills} master-kill runs");
    let median = report["killMedianMs"].as_u64().expect("a kill median");
    let bound = report["bounds"]["killToNewMasterMs"]
        .as_u64()
        .expect("bound");
    assert!(
        median <= bound,
        "{profile}: median {median} ms > {bound} ms"
    );
    for rollout in ["rollout-config", "rollout-image"] {
        let run = scenarios
            .iter()
            .find(|s| s["scenario"] == rollout)
            .expect("rollout scenario");
        // Both Redis StatefulSets rolled at once: one hand-over, one master and at most one
        // Redis pod down at every sample, no write refused for longer than the bound.
        assert_eq!(run["masterChanges"], 1, "{profile}: {run:#}");
        assert_eq!(run["breaches"], serde_json::json!([]), "{profile}: {run:#}");
    }
    // The issue's bounds, restated here so that a change to the command's own verdicts
    // cannot loosen them unnoticed.
    for planned in [
        "manual-failover",
        "manual-failover-lagging",
        "master-stopped",
        "master-stopped-lagging",
        "master-stopped-saving",
        "rollout-config",
        "rollout-image",
    ] {
        let run = scenarios
            .iter()
            .find(|s| s["scenario"] == planned)
            .expect("planned scenario");
        assert_eq!(run["lost"], 0, "{profile}: {run:#}");
        assert!(
            run["longestGapMs"].as_u64().is_some_and(|g| g <= 2000),
            "{run:#}"
        );
    }
    let manual = scenarios
        .iter()
        .find(|s| s["scenario"] == "manual-failover")
        .expect("manual failover");
    assert_eq!(manual["directAcknowledged"], 0, "{profile}: {manual:#}");
    let raw = scenarios
        .iter()
        .find(|s| s["scenario"] == "raw-sentinel-failover")
        .expect("raw failover");
    let window = raw["lossWindowMs"].as_u64().unwrap_or(0);
    assert!(
        window
            <= report["bounds"]["rawFailoverLossWindowMs"]
                .as_u64()
                .expect("bound"),
        "{profile}: {raw:#}"
    );
    let promoted = scenarios
        .iter()
        .find(|s| s["scenario"] == "stopping-replica-promoted")
        .expect("stopping replica promoted");
    assert!(
        promoted["longestGapMs"].as_u64().expect("gap")
            < report["downAfterMilliseconds"]
                .as_u64()
                .expect("down-after"),
        "{profile}: {promoted:#}"
    );
}

/// One line per scenario, for the test log.
fn table(report: &Value) -> String {
    report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            format!(
                "  {:<36} new master {:>6} ms  longest gap {:>6} ms (bot {:>6} ms)  acked {:>5}  lost {:>3}  {}\n",
                s["scenario"].as_str().unwrap_or("?"),
                s["newMasterAfterMs"],
                s["longestGapMs"],
                s["botLongestGapMs"],
                s["acknowledged"],
                s["lost"],
                if s["passed"] == true { "ok" } else { "FAILED" }
            )
        })
        .collect()
}

/// One SVG per scenario run: a real renderer (librsvg) must draw it, and the longest stretch
/// without an acknowledged write that its bars show must be the one in the report's table.
fn check_timelines(profile: &str, report: &Value, dir: &Path) {
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    for (i, run) in scenarios.iter().enumerate() {
        let slug = run["scenario"].as_str().expect("slug");
        let file = dir.join(format!("{:02}-{slug}.svg", i + 1));
        let svg = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{profile}: no timeline {}: {e}", file.display()));
        let png = dir.join(format!("{:02}-{slug}.png", i + 1));
        support::run_ok(
            Command::new("rsvg-convert")
                .arg("--output")
                .arg(&png)
                .arg(&file),
        );
        assert!(
            std::fs::metadata(&png).is_ok_and(|m| m.len() > 1000),
            "{profile}: rsvg-convert drew nothing for {slug}"
        );
        let fault_ms = number(&attribute_of(&svg, r#"data-mark="fault""#, "data-at-ms"));
        let mut with_acks: Vec<u64> = elements(&svg, r#"class="ack""#)
            .map(|e| number(&attribute(e, "data-bucket")))
            .filter(|b| *b >= fault_ms / 100)
            .collect();
        with_acks.insert(0, fault_ms / 100);
        let widest = with_acks
            .windows(2)
            .map(|w| (w[1] - w[0]) * 100)
            .max()
            .unwrap_or(0);
        let table = run["longestGapMs"].as_u64().expect("longestGapMs");
        assert!(
            widest.abs_diff(table) <= 200,
            "{profile} {slug}: the bars show a gap of about {widest} ms, the table {table} ms"
        );
        if let Some(back) = run["writesBackAfterMs"].as_u64() {
            let mark = number(&attribute_of(
                &svg,
                r#"data-mark="writes back""#,
                "data-at-ms",
            ));
            assert!(
                (fault_ms + back).abs_diff(mark) <= 1,
                "{profile} {slug}: writes back at {mark} ms in the picture, {back} ms after the fault at {fault_ms} ms in the table"
            );
            let shaded = number(&attribute_of(&svg, r#"class="gap""#, "data-gap-ms"));
            assert_eq!(shaded, table, "{profile} {slug}: shaded gap");
        }
    }
}

/// The start tags of `svg` that contain `marker`.
fn elements<'a>(svg: &'a str, marker: &'a str) -> impl Iterator<Item = &'a str> {
    svg.split('<').filter(move |e| e.contains(marker))
}

/// `name="…"` of the first element of `svg` containing `marker`.
fn attribute_of(svg: &str, marker: &str, name: &str) -> String {
    let element = elements(svg, marker)
        .next()
        .unwrap_or_else(|| panic!("no element with {marker}"));
    attribute(element, name)
}

fn attribute(element: &str, name: &str) -> String {
    let start = element
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("no {name} in <{element}"))
        + name.len()
        + 3;
    element[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn number(text: &str) -> u64 {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} is not a number: {e}"))
}

/// A timeline drawn from made-up observations (no Redis needed): librsvg draws it, and the
/// gap its bars show is the one measured.
#[test]
fn a_timeline_is_valid_svg_and_shows_the_measured_gap() {
    use redis_sentinel_gen::rehearse::client::Refusal;
    use redis_sentinel_gen::rehearse::report::Row;
    use redis_sentinel_gen::rehearse::scenario::{Kind, Measured, Timeline};
    use redis_sentinel_gen::rehearse::svg;
    use redis_sentinel_gen::rehearse::watch::{Seen, State, Watch};
    use std::time::{Duration, Instant};

    if support::require_tool("rsvg-convert").is_none() {
        return;
    }
    let start = Instant::now();
    let ms = |n: u64| start + Duration::from_millis(n);
    // Writes every 10 ms, except from 2,000 ms to 3,500 ms (refused with NOREPLICAS).
    let acks: Vec<Instant> = (0..500)
        .map(|i| i * 10)
        .filter(|t| !(2000..3500).contains(t))
        .map(ms)
        .collect();
    let refusals = (2000..3500)
        .step_by(10)
        .map(|t| Refusal {
            at: ms(t),
            kind: "NOREPLICAS".into(),
        })
        .collect();
    let lane = |states: &[(u64, State)]| {
        states
            .iter()
            .map(|(t, state)| Seen {
                at: ms(*t),
                state: *state,
            })
            .collect::<Vec<_>>()
    };
    let watch = Watch {
        pods: [
            (
                "redis-master-0".to_string(),
                lane(&[
                    (0, State::Master),
                    (1900, State::Paused),
                    (2600, State::Down),
                ]),
            ),
            (
                "redis-replica-0".to_string(),
                lane(&[(0, State::Replica), (2500, State::Master)]),
            ),
        ]
        .into(),
    };
    let measured = Measured {
        kind: Kind::RolloutConfig,
        master_before: "redis-master-0".into(),
        master_after: Some("redis-replica-0".into()),
        new_master_after: Some(Duration::from_millis(1500)),
        writes_back_after: Some(Duration::from_millis(2500)),
        longest_gap: Duration::from_millis(1510),
        bot_gap: Duration::from_millis(1510),
        acked: acks.len(),
        lost: 0,
        loss_window: None,
        direct_acked: None,
        old_exit_after: None,
        oldest_lost_before_fault: None,
        failures: Vec::new(),
        refused: [("NOREPLICAS".to_string(), 150)].into(),
        breaches: Vec::new(),
        master_changes: 1,
        timeline: Some(Timeline {
            start,
            fault: ms(1000),
            end: ms(5000),
            acks,
            refusals,
            watch,
            events: vec![(Duration::from_millis(10), "redis-master-0 deleted".into())],
        }),
    };
    let row = Row {
        measured,
        missed: Vec::new(),
    };
    let dir = std::env::temp_dir().join(format!("rsg-svg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let file = dir.join(svg::file_name(0, &row));
    std::fs::write(&file, svg::timeline(&row).expect("a timeline")).expect("written");
    let report = serde_json::json!({"scenarios": [{
        "scenario": "rollout-config",
        "longestGapMs": 1510,
        "writesBackAfterMs": 2500,
    }]});
    check_timelines("synthetic", &report, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}
