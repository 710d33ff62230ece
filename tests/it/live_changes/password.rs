//! The zero-downtime password rotation on the real servers while a client writes.

use crate::support;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, ensure};

use redis_sentinel_gen::profile::defaults::{REDIS_PORT, SENTINEL_PORT};
use redis_sentinel_gen::rehearse::client::{ClientEnv, Style, Writer};
use redis_sentinel_gen::rehearse::resp::{Conn, Reply};
use redis_sentinel_gen::rehearse::rig::Rig;

use super::{
    CONVERGE, PASSWORD, SECRET, reference_profile, scratch_dir, sentinel_master, start_rig,
};

/// The zero-downtime password rotation (finding 3) on the real servers while a client
/// writes: `rotate-password.sh add`, `switch` on every pod, a replica and a Sentinel
/// restarted mid-rotation (they must accept both passwords), the Secret updated, the client
/// moved to the new password, `remove` on every pod, and a replica restarted afterwards.
/// No failover (same master, same epoch on every Sentinel), no acknowledged write lost, no
/// gap in the acknowledgements above 2 s, the old password refused and the new one accepted
/// everywhere at the end.
#[test]
fn password_rotation_without_restart_or_failover() -> Result<()> {
    if !support::real_redis_prerequisites(&[]) {
        return Ok(());
    }
    let _turn = support::real_redis_turn();
    const NEW: &str = "n3w \"rot ated' $pass";
    let tmp = scratch_dir("rotation")?;
    let profile_path = tmp.join("welcomebot.yaml");
    std::fs::write(&profile_path, reference_profile())?;
    let dep = support::resolve_profile(&profile_path);
    let rendered = support::render_profile(&profile_path);
    let mut rig = start_rig(&rendered)?;
    let master = rig.wait_agreement(CONVERGE)?;
    let epoch = |rig: &Rig| -> Result<Vec<String>> {
        rig.sentinels
            .iter()
            .map(|s| {
                sentinel_master(rig, s)?
                    .remove("config-epoch")
                    .context("no config-epoch")
            })
            .collect()
    };
    let epochs = epoch(&rig)?;
    let redis_pods = rig.redis.clone();
    let sentinels = rig.sentinels.clone();
    let every_pod: Vec<String> = redis_pods.iter().chain(&sentinels).cloned().collect();
    let replica = redis_pods
        .iter()
        .find(|p| **p != master)
        .context("no replica")?
        .clone();

    let old_env = ClientEnv::of(&dep, Some(PASSWORD))?;
    let new_env = ClientEnv::of(&dep, Some(NEW))?;
    let old_writer = Writer::start(
        old_env,
        rig.cluster.dns(),
        "rotation:old".into(),
        Style::Library,
    );
    std::thread::sleep(Duration::from_millis(500));

    let step = |rig: &Rig, pod: &str, what: &str, password: Option<&str>| -> Result<()> {
        let script = "/config/rotate-password.sh";
        let argv: Vec<String> = match password {
            Some(pw) => vec![
                "sh".into(),
                "-c".into(),
                format!("printf '%s' \"$1\" | sh {script} {what}"),
                "sh".into(),
                pw.into(),
            ],
            None => vec!["sh".into(), script.into(), what.into()],
        };
        let (ok, out) = rig.cluster.exec(pod, &argv, Duration::from_secs(20))?;
        ensure!(ok, "{pod}: rotate-password.sh {what} failed:\n{out}");
        Ok(())
    };
    for pod in &every_pod {
        step(&rig, pod, "add", Some(NEW))?;
    }
    for pod in &every_pod {
        step(&rig, pod, "switch", None)?;
    }
    // Restarted before the Secret changes: each comes back accepting both passwords.
    let sentinel = sentinels.last().context("no Sentinel")?.clone();
    for pod in [&replica, &sentinel] {
        rig.cluster.stop(pod)?;
        rig.cluster.start(pod)?;
    }
    rig.wait_agreement(CONVERGE)
        .with_context(|| rig.cluster.log_tails(20))?;
    for pod in [&replica, &sentinel] {
        ensure!(
            rig.cluster
                .log(pod)
                .contains("password rotation in progress"),
            "{pod} did not see the rotation at its restart"
        );
        for pw in [PASSWORD, NEW] {
            accepts(&rig, pod, pw).with_context(|| format!("{pod} restarted mid-rotation"))?;
        }
    }

    // The Secret now holds the new password; the client moves over.
    rig.cluster.set_secret(SECRET.0, SECRET.1, NEW);
    rig.password = Some(NEW.into());
    let new_writer = Writer::start(
        new_env,
        rig.cluster.dns(),
        "rotation:new".into(),
        Style::Library,
    );
    std::thread::sleep(Duration::from_millis(500));
    let old_acks = old_writer.stop();
    for pod in &every_pod {
        step(&rig, pod, "remove", Some(PASSWORD))?;
    }
    // Restarted after the rotation: the Secret's password only.
    rig.cluster.stop(&replica)?;
    rig.cluster.start(&replica)?;
    rig.wait_agreement(CONVERGE)
        .with_context(|| rig.cluster.log_tails(20))?;
    std::thread::sleep(Duration::from_millis(500));
    let new_acks = new_writer.stop();

    for pod in &every_pod {
        accepts(&rig, pod, NEW)?;
        ensure!(
            accepts(&rig, pod, PASSWORD).is_err(),
            "{pod} still accepts the old password"
        );
    }
    let now_master = rig.wait_agreement(CONVERGE)?;
    ensure!(
        now_master == master,
        "failed over: {now_master} is master, was {master}"
    );
    let epochs_after = epoch(&rig)?;
    ensure!(
        epochs_after == epochs,
        "Sentinel config-epochs went from {epochs:?} to {epochs_after:?}: a failover"
    );
    let ip = rig.cluster.pod(&master)?.ip;
    let mut conn = Conn::open(
        SocketAddr::from((ip, REDIS_PORT)),
        Some(NEW),
        Duration::from_secs(5),
    )?;
    let mut report = String::new();
    for (key, acks) in [("rotation:old", &old_acks), ("rotation:new", &new_acks)] {
        ensure!(!acks.is_empty(), "no write acknowledged on {key}");
        let stored: std::collections::BTreeSet<u64> = conn
            .call(&["SMEMBERS", key])?
            .strings()?
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let lost = acks.iter().filter(|a| !stored.contains(&a.seq)).count();
        let gap = acks
            .windows(2)
            .map(|w| w[1].at - w[0].at)
            .max()
            .unwrap_or_default();
        report.push_str(&format!(
            "  {key}: {} acknowledged, {lost} lost, longest gap {gap:.2?}\n",
            acks.len()
        ));
        ensure!(lost == 0, "{lost} acknowledged writes lost\n{report}");
        ensure!(
            gap <= Duration::from_secs(2),
            "a gap of {gap:.2?} between acknowledged writes\n{report}"
        );
    }
    eprintln!("password rotated, master still {master}, epochs {epochs:?}:\n{report}");
    Ok(())
}

/// A fresh connection to `pod` authenticates with `password` and answers PING.
fn accepts(rig: &Rig, pod: &str, password: &str) -> Result<()> {
    let plan = rig.cluster.pod(pod)?;
    let port = if plan.ports().contains(&SENTINEL_PORT) {
        SENTINEL_PORT
    } else {
        REDIS_PORT
    };
    let mut conn = Conn::open(
        SocketAddr::from((plan.ip, port)),
        Some(password),
        Duration::from_secs(2),
    )?;
    let pong = conn.call(&["PING"])?;
    ensure!(
        pong == Reply::Status("PONG".into()),
        "{pod}: PING answered {pong:?}"
    );
    Ok(())
}
