//! Sentinel changes on a running deployment: new quorum and timings adopted by restarted
//! Sentinels that keep their state, and a scale-down with the steps `plan` prints.

use crate::support;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use redis_sentinel_gen::profile::defaults::SENTINEL_PORT;
use redis_sentinel_gen::rehearse::Manifests;
use redis_sentinel_gen::rehearse::resp::Reply;
use redis_sentinel_gen::rehearse::rig::Rig;

use super::{
    CONVERGE, MASTER_NAME, PASSWORD, reference_profile, render_text, scratch_dir, sentinel_master,
    start_rig,
};

/// A Sentinel that kept its saved state through a profile change adopts the new quorum and
/// timings, and keeps the master, the epoch and the peers it learned (finding 1).
///
/// The deployment fails over first (so the current master is no longer the initial one and
/// the epoch is above 0), then the profile goes from 3 Sentinels with quorum 2 and
/// 5000/10000 ms to 5 Sentinels with quorum 3 and 10000/30000 ms; the two new Sentinels
/// start, and the three old ones are restarted one at a time, highest ordinal first, as the
/// StatefulSet controller rolls them, each keeping its state volume.
#[test]
fn restarted_sentinels_adopt_new_quorum_and_timings_and_keep_their_state() -> Result<()> {
    if !support::real_redis_prerequisites(&[]) {
        return Ok(());
    }
    let _turn = support::real_redis_turn();
    let tmp = scratch_dir("sentinel-reconfig")?;
    let old_profile = reference_profile();
    let new_profile = support::edited(
        &old_profile,
        &[
            (
                "    replicas: 3\n    quorum: 2\n",
                "    replicas: 5\n    quorum: 3\n",
            ),
            (
                "downAfterMilliseconds: 5000",
                "downAfterMilliseconds: 10000",
            ),
            ("failoverTimeout: 10000", "failoverTimeout: 30000"),
        ],
    );
    let old = render_text(&tmp, "old.yaml", &old_profile);
    let new = render_text(&tmp, "new.yaml", &new_profile);
    let mut rig = start_rig(&old)?;
    let old_sentinels = rig.sentinels.clone();

    // A failover, so that there is something learned to keep: a master other than the
    // initial one and an epoch above 0.
    let initial = rig.wait_agreement(CONVERGE)?;
    let asked = rig.call(
        &old_sentinels[0],
        SENTINEL_PORT,
        &["SENTINEL", "FAILOVER", MASTER_NAME],
    )?;
    ensure!(
        matches!(asked, Reply::Status(_)),
        "SENTINEL FAILOVER: {asked:?}"
    );
    let (master, _) = rig.wait_new_master(&initial, Instant::now(), CONVERGE)?;
    let master = {
        let agreed = rig.wait_agreement(CONVERGE)?;
        ensure!(agreed == master, "agreed on {agreed}, expected {master}");
        agreed
    };
    let before = sentinel_master(&rig, &old_sentinels[0])?;
    let epoch: u64 = before
        .get("config-epoch")
        .context("no config-epoch")?
        .parse()?;
    ensure!(epoch >= 1, "config-epoch {epoch} after a failover");
    eprintln!(
        "failed over from {initial} to {master}: config-epoch {epoch}, quorum {}, down-after {}",
        before["quorum"], before["down-after-milliseconds"]
    );

    rig.cluster.apply(Manifests::parse(&new)?)?;
    let all: Vec<String> = rig
        .cluster
        .pods()
        .iter()
        .filter(|p| p.stateful_set == "redis-sentinel")
        .map(|p| p.name.clone())
        .collect();
    ensure!(all.len() == 5, "the new stream has {} Sentinels", all.len());
    for added in all.iter().filter(|s| !old_sentinels.contains(s)) {
        rig.cluster.start(added)?;
    }
    rig.sentinels = all.clone();
    rig.quorum = 3;
    for sentinel in old_sentinels.iter().rev() {
        rig.cluster.stop(sentinel)?;
        rig.cluster.start(sentinel)?;
        wait_answers(&mut rig, sentinel)?;
    }
    let agreed = rig
        .wait_agreement(CONVERGE)
        .with_context(|| rig.cluster.log_tails(20))?;
    ensure!(
        agreed == master,
        "after the change the Sentinels agree on {agreed}, not {master}"
    );

    let mut report = String::new();
    let mut wrong = Vec::new();
    for sentinel in &all {
        let seen = sentinel_master(&rig, sentinel)?;
        let got = |k: &str| seen.get(k).map(String::as_str).unwrap_or("?");
        report.push_str(&format!(
            "  {sentinel}: quorum {} down-after {} failover-timeout {} parallel-syncs {} config-epoch {} other sentinels {}\n",
            got("quorum"),
            got("down-after-milliseconds"),
            got("failover-timeout"),
            got("parallel-syncs"),
            got("config-epoch"),
            got("num-other-sentinels"),
        ));
        for (key, want) in [
            ("quorum", "3"),
            ("down-after-milliseconds", "10000"),
            ("failover-timeout", "30000"),
            ("parallel-syncs", "1"),
            ("num-other-sentinels", "4"),
        ] {
            if got(key) != want {
                wrong.push(format!(
                    "{sentinel}: {key} is {}, the profile says {want}",
                    got(key)
                ));
            }
        }
        let kept: u64 = got("config-epoch").parse()?;
        if kept < epoch {
            wrong.push(format!(
                "{sentinel}: config-epoch {kept}, below the {epoch} learned before the restart"
            ));
        }
    }
    for sentinel in &old_sentinels {
        // Fresh starts would also find the master through their peers; only the log says
        // the saved state was the one kept.
        let log = rig.cluster.log(sentinel);
        if !log.contains("keeping the state in") {
            wrong.push(format!("{sentinel} did not start from its saved state"));
        }
    }
    ensure!(wrong.is_empty(), "{}\n{report}", wrong.join("\n"));
    eprintln!("after the change, master still {master}:\n{report}");
    Ok(())
}

/// Poll until `sentinel` answers again after a restart.
fn wait_answers(rig: &mut Rig, sentinel: &str) -> Result<()> {
    let start = Instant::now();
    loop {
        if rig.sentinel_master(sentinel).is_ok() {
            return Ok(());
        }
        if !rig.cluster.is_running(sentinel) || start.elapsed() > CONVERGE {
            bail!(
                "{sentinel} did not come back:\n{}",
                rig.cluster.log(sentinel)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sentinels 5 → 3 with the manual steps `plan` prints, run as printed (finding: the
/// remaining Sentinels count the removed ones as voters until reset). The StatefulSet
/// scale-down and roll are emulated; `kubectl exec POD … -- redis-cli …` goes through a
/// stand-in that runs the same `redis-cli` against the emulated pod's address.
#[test]
fn sentinel_scale_down_with_the_plans_steps() -> Result<()> {
    if !support::real_redis_prerequisites(&[]) {
        return Ok(());
    }
    let _turn = support::real_redis_turn();
    let tmp = scratch_dir("sentinels-down")?;
    let new_profile = reference_profile();
    let old_profile = support::edited(
        &new_profile,
        &[(
            "    replicas: 3\n    quorum: 2\n",
            "    replicas: 5\n    quorum: 3\n",
        )],
    );
    let old = render_text(&tmp, "old.yaml", &old_profile);
    let new = render_text(&tmp, "new.yaml", &new_profile);
    let plan = std::process::Command::new(env!("CARGO_BIN_EXE_redis-sentinel-gen"))
        .args(["plan", "old.yaml", "new.yaml", "--json"])
        .current_dir(&tmp)
        .output()?;
    ensure!(
        plan.status.code() == Some(3),
        "plan exited {:?}, expected 3 (manual steps)",
        plan.status.code()
    );
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout)?;
    let steps: Vec<String> = plan["changes"]
        .as_array()
        .context("no changes")?
        .iter()
        .filter(|c| c["field"] == "spec.sentinel.replicas")
        .flat_map(|c| c["after_apply"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["why"].as_str().is_some_and(|w| w.contains("reset")))
        .flat_map(|s| s["commands"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c.as_str().map(String::from))
        .collect();
    ensure!(
        !steps.is_empty(),
        "the plan prints no reset steps: {plan:#}"
    );

    let mut rig = start_rig(&old)?;
    rig.quorum = 3;
    let master = rig.wait_agreement(CONVERGE)?;
    // The StatefulSet scale-down stops the highest ordinals, then the roll restarts the rest.
    for gone in ["redis-sentinel-4", "redis-sentinel-3"] {
        rig.cluster.stop(gone)?;
    }
    rig.cluster.apply(Manifests::parse(&new)?)?;
    rig.sentinels.truncate(3);
    rig.quorum = 2;
    for sentinel in rig.sentinels.clone().iter().rev() {
        rig.cluster.stop(sentinel)?;
        rig.cluster.start(sentinel)?;
        wait_answers(&mut rig, sentinel)?;
    }
    let ghosts = |rig: &Rig| -> Result<Vec<String>> {
        rig.sentinels
            .iter()
            .map(|s| Ok(sentinel_master(rig, s)?["num-other-sentinels"].clone()))
            .collect()
    };
    let before = ghosts(&rig)?;
    eprintln!("after the scale-down, num-other-sentinels: {before:?} (2 is right)");
    ensure!(
        before.iter().any(|n| n != "2"),
        "no Sentinel counts a removed one: the reset steps would prove nothing"
    );

    // The stand-in kubectl and the pod addresses it resolves.
    let pods: String = rig
        .cluster
        .pods()
        .iter()
        .map(|p| format!("{} {}\n", p.name, p.ip))
        .collect();
    std::fs::write(tmp.join("pods"), pods)?;
    std::fs::write(
        tmp.join("kubectl"),
        "#!/bin/sh\n\
         # kubectl stand-in: `kubectl -n NS exec [-i] POD [-c C] -- redis-cli ARGS...` runs\n\
         # redis-cli against the emulated pod.\n\
         pod=''\n\
         while [ $# -gt 0 ]; do\n\
         \x20   case $1 in\n\
         \x20       -n | -c) shift 2 ;;\n\
         \x20       exec | -i) shift ;;\n\
         \x20       --) shift; break ;;\n\
         \x20       *) pod=$1; shift ;;\n\
         \x20   esac\n\
         done\n\
         ip=$(awk -v p=\"$pod\" '$1 == p { print $2 }' \"$PODS_FILE\")\n\
         [ -n \"$ip\" ] && [ \"$1\" = redis-cli ] || { echo \"stand-in kubectl: cannot run $* in '$pod'\" >&2; exit 1; }\n\
         shift\n\
         exec redis-cli -h \"$ip\" \"$@\"\n",
    )?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.join("kubectl"), std::fs::Permissions::from_mode(0o755))?;
    }
    let path = format!(
        "{}:{}",
        tmp.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for command in &steps {
        let status = std::process::Command::new("timeout")
            .args(["120", "sh", "-c", command])
            .env("PATH", &path)
            .env("PODS_FILE", tmp.join("pods"))
            .env("REDISCLI_AUTH", PASSWORD)
            .status()?;
        ensure!(status.success(), "{command}: {status}");
    }
    let after = ghosts(&rig)?;
    eprintln!("after the plan's steps, num-other-sentinels: {after:?}");
    ensure!(
        after.iter().all(|n| n == "2"),
        "after the reset steps: {after:?}"
    );
    let agreed = rig.wait_agreement(CONVERGE)?;
    ensure!(agreed == master, "master moved from {master} to {agreed}");
    Ok(())
}
