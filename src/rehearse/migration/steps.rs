//! The pieces of a migration run: phase 2's arguments for the old Redis, waits, snapshots.

use std::net::{Ipv4Addr, SocketAddr};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use serde_json::Value;

use super::super::resp::{Conn, Reply, info_field};
use super::super::rig::Rig;
use super::PODS_UP;
use crate::kustomization::old_redis::OldRedis;
use crate::profile::defaults::REDIS_PORT;

/// The arguments of the old Redis container once phase 2's patch (rendered in `kustomization`)
/// is applied to the base's: the `add` operations on its `args`, as kustomize applies them.
pub(super) fn phase_args(kustomization: &str, old: &OldRedis) -> Result<Vec<String>> {
    let parsed: Value = serde_saphyr::from_str(kustomization)?;
    let mut args = old.args.clone();
    let path = format!(
        "/spec/template/spec/containers/{}/args",
        old.container_index
    );
    let patches = parsed["patches"].as_array().cloned().unwrap_or_default();
    for patch in patches
        .iter()
        .filter(|p| p["target"]["name"] == old.workload.name.as_str())
        .filter(|p| p["target"]["kind"] == old.workload.kind.as_str())
    {
        let ops: Value = serde_saphyr::from_str(patch["patch"].as_str().unwrap_or_default())?;
        for op in ops.as_array().cloned().unwrap_or_default() {
            ensure!(op["op"] == "add", "unexpected patch of the old Redis: {op}");
            let target = op["path"].as_str().unwrap_or_default();
            if target == format!("{path}/-") {
                args.push(op["value"].as_str().unwrap_or_default().to_string());
            } else if target == path {
                args = op["value"]
                    .as_array()
                    .map(|v| {
                        v.iter()
                            .filter_map(|a| a.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
            } else {
                bail!("unexpected patch path for the old Redis: {target}");
            }
        }
    }
    Ok(args)
}

/// Poll until `master` is master with `replicas` replicas online.
pub(super) fn wait_pods_up(rig: &mut Rig, master: &str, replicas: u32) -> Result<()> {
    let deadline = Instant::now() + PODS_UP;
    loop {
        if let Some((pod, status)) = rig.cluster.exited().into_iter().next() {
            bail!("{pod} exited ({status})");
        }
        let info = rig.replication(master).unwrap_or_default();
        let online = info
            .lines()
            .filter(|l| l.starts_with("slave") && l.contains("state=online"))
            .count();
        if info_field(&info, "role") == Some("master") && online == usize::try_from(replicas)? {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "{master}: {info}");
        sleep(Duration::from_millis(200));
    }
}

/// `sync_full` of `pod`'s INFO stats: full syncs it has served.
pub(super) fn full_syncs(rig: &Rig, pod: &str) -> Result<u64> {
    let stats = rig.call(pod, REDIS_PORT, &["INFO", "stats"])?.text()?;
    Ok(info_field(&stats, "sync_full").unwrap_or("0").parse()?)
}

/// What a refused copy must leave as it was: the new master's role, keys and masteruser,
/// the old Redis's keys and replicas.
pub(super) fn snapshot(
    rig: &Rig,
    master: &str,
    old_ip: Ipv4Addr,
    old_port: u16,
    old_password: Option<&str>,
) -> Result<Vec<String>> {
    let info = rig.replication(master)?;
    let keys = rig.call(master, REDIS_PORT, &["DBSIZE"])?.text()?;
    let masteruser = rig
        .call(master, REDIS_PORT, &["CONFIG", "GET", "masteruser"])?
        .strings()?
        .join("=");
    let mut old = Conn::open(
        SocketAddr::from((old_ip, old_port)),
        old_password,
        Duration::from_secs(2),
    )?;
    let old_keys = old.call(&["DBSIZE"])?.text()?;
    let old_info = old.call(&["INFO", "replication"])?.text()?;
    Ok(vec![
        format!("role {}", info_field(&info, "role").unwrap_or("?")),
        format!("keys {keys}"),
        format!("masteruser {masteruser}"),
        format!("old keys {old_keys}"),
        format!(
            "old replicas {}",
            info_field(&old_info, "connected_slaves").unwrap_or("?")
        ),
    ])
}

pub(super) fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        sleep(at - now);
    }
}

/// `k:<i>` = `v<i>` for i < n on the old Redis, pipelined in chunks.
pub(super) fn preload(ip: Ipv4Addr, port: u16, password: Option<&str>, n: usize) -> Result<()> {
    let mut conn = Conn::open(
        SocketAddr::from((ip, port)),
        password,
        Duration::from_secs(10),
    )?;
    for i in 0..n {
        let reply = conn.call(&["SET", &format!("k:{i}"), &format!("v{i}")])?;
        ensure!(reply == Reply::Status("OK".into()), "preload: {reply:?}");
    }
    Ok(())
}
