//! Changes to a running deployment, on the real Redis binaries (issue 10, DESIGN §4.2): the
//! rendered manifests run as emulated pods (the library's `rehearse` emulation), a changed
//! profile is re-rendered and applied the way `kubectl apply` and the StatefulSet
//! controllers would, and what Redis and Sentinel then report is checked.
//!
//! Needs root (namespaces, mounts), `unshare`, `setpriv`, `nsenter`, `busybox` and Debian's
//! `redis-server`, `redis-sentinel` and `redis-cli`. Pods listen on 127.0.4.1 and up.

use crate::support;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use redis_sentinel_gen::rehearse::client::{ClientEnv, Style, Writer};
use redis_sentinel_gen::rehearse::resp::{Conn, Reply, info_field};
use redis_sentinel_gen::rehearse::rig::Rig;
use redis_sentinel_gen::rehearse::{Cluster, Manifests, Secrets};
use redis_sentinel_gen::resolve::{REDIS_PORT, SENTINEL_PORT};

const FIRST_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 4, 1);
const CLUSTER_DOMAIN: &str = "cluster.local";
const MASTER_NAME: &str = "welcomebot-master";
const SECRET: (&str, &str) = ("redis-auth", "password");
/// Awkward on purpose (space, both quotes, `$`): the saved Sentinel state must carry it.
const PASSWORD: &str = "l1ve \"cha nge' $s";
const CONVERGE: Duration = Duration::from_secs(90);

fn reference_profile() -> String {
    let path = support::repo_root()
        .join("profiles")
        .join("welcomebot.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `render` of profile text, through the built binary as a user runs it.
fn render_text(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    support::render_profile(&path)
}

/// A fresh directory for this test's profiles (the rendered header names them).
fn scratch_dir(name: &str) -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("rsg-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn start_rig(rendered: &str) -> Result<Rig> {
    let secrets = Secrets::from([((SECRET.0.into(), SECRET.1.into()), PASSWORD.into())]);
    let cluster = Cluster::new(
        Manifests::parse(rendered)?,
        secrets,
        FIRST_IP,
        CLUSTER_DOMAIN,
    )?;
    let mut rig = Rig::new(cluster, MASTER_NAME.into(), Some(PASSWORD.into()), 2)?;
    let pods: Vec<String> = rig.cluster.pods().iter().map(|p| p.name.clone()).collect();
    for pod in &pods {
        rig.cluster.start(pod)?;
    }
    rig.wait_agreement(CONVERGE)
        .with_context(|| format!("not up:\n{}", rig.cluster.log_tails(20)))?;
    Ok(rig)
}

/// `SENTINEL MASTER <name>` of `sentinel` as field → value.
fn sentinel_master(rig: &Rig, sentinel: &str) -> Result<BTreeMap<String, String>> {
    let reply = rig.call(
        sentinel,
        SENTINEL_PORT,
        &["SENTINEL", "MASTER", MASTER_NAME],
    )?;
    if let Reply::Error(e) = &reply {
        bail!("{sentinel}: SENTINEL MASTER: {e}");
    }
    let fields = reply.strings()?;
    Ok(fields
        .chunks(2)
        .filter_map(|kv| Some((kv[0].clone(), kv.get(1)?.clone())))
        .collect())
}

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

/// A full Redis refuses writes with an OOM error instead of growing past its container's
/// memory limit (finding 4): the rendered `maxmemory` holds on the real server.
///
/// The memory limit goes down to 64Mi (default maxmemory (64 − 4 − 2 × 4) / 2 = 26Mi) and
/// 64 KiB values are written to the master until it refuses one, for at most the limit's
/// worth of data plus a margin: a Redis without `maxmemory` takes it all.
#[test]
fn a_full_redis_refuses_writes_instead_of_growing() -> Result<()> {
    if !support::real_redis_prerequisites(&[]) {
        return Ok(());
    }
    let _turn = support::real_redis_turn();
    const LIMIT: u64 = 64 * 1024 * 1024;
    const VALUE: usize = 64 * 1024;
    let tmp = scratch_dir("maxmemory")?;
    let profile = support::edited(
        &reference_profile(),
        &[(
            "requests: { cpu: 100m, memory: 256Mi }\n      limits: { cpu: \"1\", memory: 512Mi }",
            "requests: { cpu: 100m, memory: 64Mi }\n      limits: { cpu: \"1\", memory: 64Mi }",
        )],
    );
    let rendered = render_text(&tmp, "small.yaml", &profile);
    let mut rig = start_rig(&rendered)?;
    let master = rig.wait_agreement(CONVERGE)?;
    let ip = rig.cluster.pod(&master)?.ip;
    let mut conn = Conn::open(
        SocketAddr::from((ip, REDIS_PORT)),
        Some(PASSWORD),
        Duration::from_secs(5),
    )?;
    let value = "x".repeat(VALUE);
    let bound = usize::try_from(LIMIT)? / VALUE + 64;
    let mut refused = None;
    let mut written = 0;
    for i in 0..bound {
        match conn.call(&["SET", &format!("fill:{i}"), &value])? {
            Reply::Status(_) => written += 1,
            Reply::Error(e) => {
                refused = Some(e);
                break;
            }
            other => bail!("SET answered {other:?}"),
        }
    }
    let info = conn.call(&["INFO", "memory"])?.text()?;
    let field = |k: &str| -> Result<u64> {
        info_field(&info, k)
            .with_context(|| format!("no {k} in INFO memory"))?
            .parse()
            .with_context(|| format!("{k} is not a number"))
    };
    let (used, maxmemory) = (field("used_memory")?, field("maxmemory")?);
    eprintln!(
        "{written} writes of {VALUE} bytes accepted; then {refused:?}; used_memory {used}, maxmemory {maxmemory}, limit {LIMIT}"
    );
    let refused = refused.with_context(|| {
        format!(
            "{written} writes ({} MiB) accepted without an error: used_memory {used} bytes, \
             maxmemory {maxmemory}, container limit {LIMIT}",
            written * VALUE / (1024 * 1024)
        )
    })?;
    ensure!(
        refused.starts_with("OOM"),
        "the write was refused with {refused:?}, not an OOM error"
    );
    // used_memory also counts what maxmemory leaves out (the replication backlog, the
    // replicas' and the AOF's buffers): the budget's reserve of limit/16 is for that.
    ensure!(
        maxmemory > 0 && used <= maxmemory + LIMIT / 16 && used < LIMIT / 2,
        "used_memory {used} above maxmemory {maxmemory} + {} or half the limit {LIMIT}",
        LIMIT / 16
    );
    // Reads still work on a full Redis.
    let read = conn.call(&["STRLEN", "fill:0"])?;
    ensure!(read == Reply::Int(VALUE as i64), "STRLEN answered {read:?}");
    Ok(())
}

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
