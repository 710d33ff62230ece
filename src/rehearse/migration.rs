//! `rehearse --migration`: the migration from a single Redis, run for real (DESIGN §4.4, §5).
//!
//! An old single Redis with data runs on its own address under the name the profile migrates
//! from: the base's workload behind `migration.from.host` (its container's arguments) when a
//! base is given, else a plain `redis-server`. Two client workloads write to it every 5 ms
//! with their `REDIS_ADDR` env. Then the phases run in the order of `migration/README.md`:
//! phase 1 starts the rendered Redis pods without Sentinels, `migrate.sh copy` and `cutover`
//! run with hooks that stand for `kubectl exec` into those pods, phase 2 starts the Sentinels,
//! restarts the old Redis if phase 2 changes its workload, and rolls each client onto the
//! switched env at its own time after the cutover (a default-configured Sentinel client: no
//! socket timeout); `migrate.sh verify` runs; phase 3 removes the old Redis. Afterwards every
//! original key and every acknowledged write must be on the master the Sentinels name, and the
//! cutover must not have caused a full resync.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, sleep};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use super::client::ClientEnv;
use super::resp::{Conn, Reply, info_field};
use super::rig::Rig;
use super::runtime::{Cluster, Dns};
use super::{Manifests, PASSWORD, Secrets};
use crate::old_redis::OldRedis;
use crate::render::migration::{self as rendered_migration, PHASES};
use crate::resolve::{Deployment, REDIS_PORT, SENTINEL_PORT};

/// Keys the old Redis holds before the migration starts.
pub const DEFAULT_PRELOADED: usize = 20_000;
const WRITE_INTERVAL: Duration = Duration::from_millis(5);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
const RETRY_INTERVAL: Duration = Duration::from_millis(20);
/// From the first start of the pods to a new master with every replica online.
const PODS_UP: Duration = Duration::from_secs(120);
/// From the Sentinels' start to a deployment that agrees on its master.
const SENTINELS_UP: Duration = Duration::from_secs(90);
/// When each client's rollout onto the switched env lands, after the cutover.
const SWITCH_AFTER: [Duration; 2] = [Duration::from_millis(1500), Duration::from_millis(5000)];
/// When the old Redis is restarted in [`Scenario::OldRedisRestarted`]: after the first client
/// switched, before the second.
const OLD_RESTART_AFTER: Duration = Duration::from_millis(3000);
/// How long `copy` may take to refuse a wrong password (hooks and checks included).
const FAIL_FAST: Duration = Duration::from_secs(10);
/// Writes after the last switch, so a late loss would show.
const TAIL: Duration = Duration::from_secs(1);
/// The password of the old Redis in [`Scenario::WrongOldPassword`]: not the Secret's.
const OLD_PASSWORD: &str = "old * pass'word";

/// What is done during the migration (`rehearse --migration --only <scenario>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The README's order, cutover 2 s after copy.
    Normal,
    /// Cutover the moment copy returns.
    CutoverRightAfterCopy,
    /// The old Redis killed and started again (with phase 2's workload) after the first
    /// client switched and before the second: the second still writes to it.
    OldRedisRestarted,
    /// The old Redis has a password that is not the deployment's: copy must stop at once and
    /// change nothing.
    WrongOldPassword,
}

pub const SCENARIOS: [Scenario; 4] = [
    Scenario::Normal,
    Scenario::CutoverRightAfterCopy,
    Scenario::OldRedisRestarted,
    Scenario::WrongOldPassword,
];

impl Scenario {
    pub fn title(self) -> &'static str {
        match self {
            Scenario::Normal => "migration",
            Scenario::CutoverRightAfterCopy => "migration, cutover right after copy",
            Scenario::OldRedisRestarted => "migration, old Redis restarted after cutover",
            Scenario::WrongOldPassword => "migration, wrong old-Redis password",
        }
    }
}

/// The old Redis's address for pods from `first_ip`: clear of the pods and of the addresses
/// a restarted pod moves to.
pub fn old_ip(first_ip: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(first_ip) + 100)
}

/// Where the rehearsal runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub first_ip: Ipv4Addr,
    /// The old Redis's address (outside the pods' range).
    pub old_ip: Ipv4Addr,
    pub preloaded: usize,
}

/// One client's figures.
#[derive(Debug, Clone)]
pub struct ClientFigures {
    pub name: String,
    /// When its rollout onto the switched env landed, after the cutover.
    pub switched_after: Duration,
    pub acked_before_cutover: usize,
    pub acked_after_cutover: usize,
    /// Acknowledged, and not on the final master.
    pub lost: usize,
    /// Refused by the old Redis with NOREPLICAS (its fence).
    pub refused_by_fence: usize,
    /// The longest time between two acknowledged writes.
    pub longest_gap: Duration,
}

/// One scenario's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub scenario: Scenario,
    pub preloaded: usize,
    /// Original keys found on the final master.
    pub carried: usize,
    pub clients: Vec<ClientFigures>,
    /// Full syncs the new master served from the start of the cutover to the end.
    pub full_syncs_after_cutover: Option<u64>,
    /// How long `copy` took to fail ([`Scenario::WrongOldPassword`]).
    pub copy_failed_after: Option<Duration>,
    /// What `verify` said about an old Redis that could have acknowledged a write (it must
    /// fail): (what was done, whether verify failed).
    pub verify_checks: Vec<(String, bool)>,
    /// Bounds missed and steps that failed.
    pub failures: Vec<String>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    pub fn json(&self) -> Value {
        json!({
            "scenario": self.scenario.title(),
            "preloaded_keys": self.preloaded,
            "keys_carried": self.carried,
            "full_syncs_after_cutover": self.full_syncs_after_cutover,
            "copy_failed_after_s": self.copy_failed_after.map(|d| d.as_secs_f64()),
            "clients": self.clients.iter().map(|c| json!({
                "name": c.name,
                "switched_after_cutover_s": c.switched_after.as_secs_f64(),
                "acked_before_cutover": c.acked_before_cutover,
                "acked_after_cutover": c.acked_after_cutover,
                "lost": c.lost,
                "refused_by_fence": c.refused_by_fence,
                "longest_gap_s": c.longest_gap.as_secs_f64(),
            })).collect::<Vec<_>>(),
            "verify_checks": self.verify_checks.iter().map(|(what, failed)| json!({
                "tampering": what, "verify_failed": failed,
            })).collect::<Vec<_>>(),
            "failures": self.failures,
            "elapsed_s": self.elapsed.as_secs_f64(),
        })
    }

    /// A few lines for a person.
    pub fn summary(&self) -> String {
        let mut text = format!("{}:", self.scenario.title());
        if let Some(after) = self.copy_failed_after {
            text.push_str(&format!(" copy refused in {:.1} s;", after.as_secs_f64()));
        } else {
            text.push_str(&format!(
                " {} of {} keys carried; full syncs caused by cutover: {};",
                self.carried,
                self.preloaded,
                self.full_syncs_after_cutover
                    .map_or("?".into(), |n| n.to_string())
            ));
        }
        for c in &self.clients {
            text.push_str(&format!(
                "\n  {}: switched {:.1} s after cutover; acknowledged {} before cutover, {} after; \
                 {} lost; {} refused by the fence; longest gap {:.2} s",
                c.name,
                c.switched_after.as_secs_f64(),
                c.acked_before_cutover,
                c.acked_after_cutover,
                c.lost,
                c.refused_by_fence,
                c.longest_gap.as_secs_f64()
            ));
        }
        for (what, failed) in &self.verify_checks {
            text.push_str(&format!(
                "\n  verify after {what}: {}",
                if *failed {
                    "failed, as it must"
                } else {
                    "PASSED"
                }
            ));
        }
        for failure in &self.failures {
            text.push_str(&format!("\n  FAILED: {failure}"));
        }
        text
    }
}

/// Run `scenario` for `dep`, its old Redis taken from `old` (found in the base) when given.
pub fn run(
    dep: &Deployment,
    old: Option<&OldRedis>,
    scenario: Scenario,
    opts: &Options,
    progress: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    if let Some(why) = super::missing_prerequisites() {
        bail!("{why}");
    }
    let migration = dep
        .migration
        .as_ref()
        .context("the profile has no spec.migration")?;
    let yaml = crate::render::redis_sentinel_yaml(dep)?;
    let files = rendered_migration::files(dep, &yaml, old)?;
    let file = |path: &str| {
        files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, text)| text.clone())
            .with_context(|| format!("{path} was not rendered"))
    };
    let phase2 = file(&format!("migration/{}/kustomization.yaml", PHASES[1]))?;
    let (base_args, switched_args) = match old {
        Some(old) => (old.args.clone(), phase_args(&phase2, old)?),
        None => (Vec::new(), Vec::new()),
    };
    let secrets: Secrets = dep
        .auth
        .iter()
        .map(|s| ((s.name.clone(), s.key.clone()), PASSWORD.to_string()))
        .collect();
    let password = dep.auth.as_ref().map(|_| PASSWORD.to_string());
    let mut cluster = Cluster::new(
        Manifests::parse(&yaml)?,
        secrets,
        opts.first_ip,
        &dep.cluster_domain,
    )?;
    let started = Instant::now();
    cluster.add_host(opts.old_ip, &migration.from.host)?;
    let work = std::env::temp_dir().join(format!(
        "rsg-migration-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let script = work.join("migrate.sh");
    std::fs::write(&script, file(rendered_migration::SCRIPT)?)?;

    let old_password = (scenario == Scenario::WrongOldPassword).then_some(OLD_PASSWORD);
    let old_redis = OldProcess::start(
        opts.old_ip,
        migration.from.port,
        &work.join("old"),
        &base_args,
        old_password,
    )?;
    preload(
        opts.old_ip,
        migration.from.port,
        old_password,
        opts.preloaded,
    )?;
    progress(&format!(
        "{}: old Redis at {}:{} ({}) with {} keys",
        scenario.title(),
        opts.old_ip,
        migration.from.port,
        old.map_or("a plain redis-server".to_string(), |o| format!(
            "{} `{}` of the base",
            o.workload.kind, o.workload.name
        )),
        opts.preloaded
    ));

    let quorum = usize::try_from(dep.sentinel.quorum)?;
    let mut rig = Rig::new(cluster, dep.master_name.clone(), password, quorum)?;
    // Declared after the cluster, so dropped before it on every path: the cluster's address
    // lock must outlive the old Redis on its address.
    let mut old_redis = old_redis;
    let master_pod = rig.redis[0].clone();
    let mut outcome = Outcome {
        scenario,
        preloaded: opts.preloaded,
        carried: 0,
        clients: Vec::new(),
        full_syncs_after_cutover: None,
        copy_failed_after: None,
        verify_checks: Vec::new(),
        failures: Vec::new(),
        elapsed: Duration::ZERO,
    };

    // Phase 1: the Redis pods, no Sentinel.
    for pod in rig.redis.clone() {
        rig.cluster.start(&pod)?;
    }
    wait_pods_up(&mut rig, &master_pod, dep.redis.replicas)
        .with_context(|| format!("phase 1 did not come up:\n{}", rig.cluster.log_tails(20)))?;
    progress(&format!(
        "phase 1: {master_pod} master with {} replicas ({:.1} s)",
        dep.redis.replicas,
        started.elapsed().as_secs_f64()
    ));
    let hooks = Hooks::new(&rig, &master_pod, opts.old_ip, migration.from.port)?;

    if scenario == Scenario::WrongOldPassword {
        let before = snapshot(
            &rig,
            &master_pod,
            opts.old_ip,
            migration.from.port,
            old_password,
        )?;
        let t0 = Instant::now();
        let result = hooks.run(&script, "copy", old_password);
        let took = t0.elapsed();
        outcome.copy_failed_after = Some(took);
        match result {
            Ok(_) => outcome
                .failures
                .push("copy succeeded with a wrong old-Redis password".into()),
            Err(said) => {
                progress(&format!("copy refused after {:.1} s", took.as_secs_f64()));
                if !said.contains("refuses the password") {
                    outcome
                        .failures
                        .push(format!("copy failed without naming the password: {said}"));
                }
            }
        }
        if took > FAIL_FAST {
            outcome.failures.push(format!(
                "copy took {:.1} s to fail (bound {} s)",
                took.as_secs_f64(),
                FAIL_FAST.as_secs()
            ));
        }
        let after = snapshot(
            &rig,
            &master_pod,
            opts.old_ip,
            migration.from.port,
            old_password,
        )?;
        if before != after {
            outcome.failures.push(format!(
                "a refused copy changed something: {before:?} → {after:?}"
            ));
        }
        drop(rig);
        old_redis.stop();
        let _ = std::fs::remove_dir_all(&work);
        outcome.elapsed = started.elapsed();
        return Ok(outcome);
    }

    // The bots, on their REDIS_ADDR until their rollout.
    let env = ClientEnv::of(dep, Some(PASSWORD))?;
    let mut clients: Vec<SwitchingClient> = dep
        .clients
        .iter()
        .take(SWITCH_AFTER.len())
        .map(|c| {
            SwitchingClient::start(
                c.name.clone(),
                (migration.from.host.clone(), migration.from.port),
                env.clone(),
                rig.cluster.dns(),
            )
        })
        .collect();
    ensure!(
        clients.len() == SWITCH_AFTER.len(),
        "the profile lists {} clients; the rehearsal needs {}",
        clients.len(),
        SWITCH_AFTER.len()
    );
    sleep(Duration::from_millis(500));

    hooks
        .run(&script, "copy", None)
        .map_err(|said| anyhow::anyhow!("migrate.sh copy failed:\n{said}"))?;
    if scenario != Scenario::CutoverRightAfterCopy {
        sleep(Duration::from_secs(2));
    }
    let syncs_before = full_syncs(&rig, &master_pod)?;
    hooks
        .run(&script, "cutover", None)
        .map_err(|said| anyhow::anyhow!("migrate.sh cutover failed:\n{said}"))?;
    let cutover = Instant::now();
    progress(&format!(
        "cutover done ({:.1} s)",
        started.elapsed().as_secs_f64()
    ));

    // Phase 2: Sentinels, the old Redis's workload as phase 2 has it, the client rollouts.
    for pod in rig.sentinels.clone() {
        rig.cluster.start(&pod)?;
    }
    if switched_args != base_args {
        old_redis.restart(&switched_args)?;
        progress("phase 2 changed the old Redis's workload: restarted it with the fence");
    }
    for (client, after) in clients.iter().zip(SWITCH_AFTER) {
        client.switch_at(cutover + after);
    }
    if scenario == Scenario::OldRedisRestarted {
        sleep_until(cutover + OLD_RESTART_AFTER);
        old_redis.restart(&switched_args)?;
        progress("old Redis restarted while the last client still writes to it");
    }
    sleep_until(cutover + SWITCH_AFTER[SWITCH_AFTER.len() - 1]);
    rig.wait_agreement(SENTINELS_UP)
        .with_context(|| format!("phase 2 did not converge:\n{}", rig.cluster.log_tails(20)))?;
    sleep(TAIL);
    let sentinel_hooks = hooks.with_sentinel(&rig)?;
    if let Err(said) = sentinel_hooks.run(&script, "verify", None) {
        outcome.failures.push(format!("verify failed:\n{said}"));
    }
    if scenario == Scenario::Normal {
        // verify must fail when the old Redis could have acknowledged a write, and say why.
        let mut old_conn = old_redis.conn()?;
        let check = |what: &str, reason: &str, outcome: &mut Outcome| {
            let (failed, said) = match sentinel_hooks.run(&script, "verify", None) {
                Ok(said) => (false, said),
                Err(said) => (true, said),
            };
            outcome.verify_checks.push((what.to_string(), failed));
            if !failed {
                outcome
                    .failures
                    .push(format!("verify passed although {what}"));
            } else if !said.contains(reason) {
                outcome.failures.push(format!(
                    "verify failed after {what}, but not for `{reason}`:\n{said}"
                ));
            }
        };
        old_conn.call(&["CONFIG", "SET", "min-replicas-to-write", "0"])?;
        check("the fence was lifted", "is not fenced", &mut outcome);
        old_conn.call(&["SET", "written-past-the-fence", "1"])?;
        old_conn.call(&["CONFIG", "SET", "min-replicas-to-write", "1"])?;
        check(
            "the old Redis acknowledged a write, fence back on",
            "write command(s)",
            &mut outcome,
        );
    }
    // Phase 3: the old Redis is deleted.
    old_redis.stop();
    sleep(Duration::from_millis(500));
    let finished: Vec<(String, Instant, ClientRun)> = clients
        .drain(..)
        .map(|c| {
            let switched = c
                .switched
                .lock()
                .map(|s| s.unwrap_or(cutover))
                .unwrap_or(cutover);
            let name = c.name.clone();
            (name, switched, c.stop())
        })
        .collect();

    // Count on the master the Sentinels name.
    let master = rig
        .named_master()
        .context("no quorum of Sentinels names a master at the end")?;
    let syncs_after = full_syncs(&rig, &master_pod)?;
    outcome.full_syncs_after_cutover = Some(syncs_after.saturating_sub(syncs_before));
    let addr = SocketAddr::from((rig.cluster.pod(&master)?.ip, REDIS_PORT));
    let mut conn = Conn::open(addr, rig.password.as_deref(), Duration::from_secs(5))?;
    for i in 0..opts.preloaded {
        if conn.call(&["GET", &format!("k:{i}")])? == Reply::Bulk(Some(format!("v{i}"))) {
            outcome.carried += 1;
        }
    }
    for (name, switched, run) in finished {
        let stored: BTreeSet<u64> = conn
            .call(&["SMEMBERS", &client_key(&name)])?
            .strings()?
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let lost = run
            .acks
            .iter()
            .filter(|(seq, _)| !stored.contains(seq))
            .count();
        let longest_gap = run
            .acks
            .windows(2)
            .map(|w| w[1].1 - w[0].1)
            .max()
            .unwrap_or_default();
        outcome.clients.push(ClientFigures {
            name,
            switched_after: switched.saturating_duration_since(cutover),
            acked_before_cutover: run.acks.iter().filter(|(_, at)| *at < cutover).count(),
            acked_after_cutover: run.acks.iter().filter(|(_, at)| *at >= cutover).count(),
            lost,
            refused_by_fence: run.refused_by_fence,
            longest_gap,
        });
    }
    judge(&mut outcome);
    drop(rig);
    let _ = std::fs::remove_dir_all(&work);
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// The bounds: every key carried, no acknowledged write lost, no full sync caused by the
/// cutover, writes acknowledged on both sides of the cutover by every client.
fn judge(outcome: &mut Outcome) {
    if outcome.carried != outcome.preloaded {
        outcome.failures.push(format!(
            "{} of {} original keys on the final master",
            outcome.carried, outcome.preloaded
        ));
    }
    if let Some(n) = outcome.full_syncs_after_cutover.filter(|n| *n > 0) {
        outcome.failures.push(format!(
            "the cutover caused {n} full resync(s) of the new master's replicas"
        ));
    }
    for c in &outcome.clients {
        if c.lost > 0 {
            outcome
                .failures
                .push(format!("{}: {} acknowledged writes lost", c.name, c.lost));
        }
        if c.acked_before_cutover == 0 || c.acked_after_cutover == 0 {
            outcome.failures.push(format!(
                "{}: writes acknowledged {} before and {} after the cutover; both must be > 0",
                c.name, c.acked_before_cutover, c.acked_after_cutover
            ));
        }
    }
}

/// The arguments of the old Redis container once phase 2's patch (rendered in `kustomization`)
/// is applied to the base's: the `add` operations on its `args`, as kustomize applies them.
fn phase_args(kustomization: &str, old: &OldRedis) -> Result<Vec<String>> {
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
fn wait_pods_up(rig: &mut Rig, master: &str, replicas: u32) -> Result<()> {
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
fn full_syncs(rig: &Rig, pod: &str) -> Result<u64> {
    let stats = rig.call(pod, REDIS_PORT, &["INFO", "stats"])?.text()?;
    Ok(info_field(&stats, "sync_full").unwrap_or("0").parse()?)
}

/// What a refused copy must leave as it was: the new master's role, keys and masteruser,
/// the old Redis's keys and replicas.
fn snapshot(
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

fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        sleep(at - now);
    }
}

/// `k:<i>` = `v<i>` for i < n on the old Redis, pipelined in chunks.
fn preload(ip: Ipv4Addr, port: u16, password: Option<&str>, n: usize) -> Result<()> {
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

/// The old single Redis: `redis-server` with the base container's arguments, on its own
/// address, its data directory kept across restarts.
struct OldProcess {
    ip: Ipv4Addr,
    port: u16,
    dir: PathBuf,
    password: Option<String>,
    child: Option<Child>,
}

impl OldProcess {
    fn start(
        ip: Ipv4Addr,
        port: u16,
        dir: &Path,
        args: &[String],
        password: Option<&str>,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut old = OldProcess {
            ip,
            port,
            dir: dir.to_path_buf(),
            password: password.map(str::to_string),
            child: None,
        };
        old.launch(args)?;
        Ok(old)
    }

    fn launch(&mut self, args: &[String]) -> Result<()> {
        // The image's entrypoint runs `redis-server` with arguments that start with `-`.
        let mut command = Command::new("setpriv");
        command
            .args(["--pdeathsig=KILL", "--", "redis-server"])
            .args(args.iter().filter(|a| a.as_str() != "redis-server"))
            // What the pod gives it: its own address, its volume.
            .args([
                "--bind",
                &self.ip.to_string(),
                "--bind-source-addr",
                &self.ip.to_string(),
            ])
            .args(["--port", &self.port.to_string(), "--protected-mode", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("log"));
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .context("cannot start the old redis-server")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // PONG once it has loaded its data (LOADING before).
            let pong = self
                .conn()
                .and_then(|mut conn| conn.call(&["PING"]))
                .is_ok_and(|r| r == Reply::Status("PONG".into()));
            if pong {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "the old Redis did not start");
            sleep(Duration::from_millis(50));
        }
    }

    fn conn(&self) -> Result<Conn> {
        Conn::open(
            SocketAddr::from((self.ip, self.port)),
            self.password.as_deref(),
            Duration::from_secs(2),
        )
    }

    /// SIGKILL and start again with `args`: a crash, or a pod replaced by its rollout.
    fn restart(&mut self, args: &[String]) -> Result<()> {
        self.stop();
        self.launch(args)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OldProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The hooks of `migrate.sh`, as the rehearsal's stand-ins for `kubectl exec`: redis-cli in
/// the pod's container (with its env, so its REDISCLI_AUTH), told the pod's address because
/// the emulated pods share the host's network; the old Redis straight at its address.
struct Hooks {
    old: String,
    new: String,
    sentinel: String,
}

impl Hooks {
    fn new(rig: &Rig, master: &str, old_ip: Ipv4Addr, old_port: u16) -> Result<Self> {
        let ip = rig.cluster.pod(master)?.ip;
        Ok(Hooks {
            old: format!("redis-cli -h {old_ip} -p {old_port}"),
            new: shell_words(&rig.cluster.exec_command(
                master,
                &[
                    "/usr/bin/redis-cli".into(),
                    "-h".into(),
                    ip.to_string(),
                    "-p".into(),
                    REDIS_PORT.to_string(),
                ],
            )?),
            // No Sentinel runs before phase 2: copy and cutover do not use it.
            sentinel: "false".into(),
        })
    }

    /// The same with the first Sentinel pod as `statefulset/<sentinel>` (kubectl picks it).
    fn with_sentinel(&self, rig: &Rig) -> Result<Self> {
        let sentinel = &rig.sentinels[0];
        let ip = rig.cluster.pod(sentinel)?.ip;
        Ok(Hooks {
            old: self.old.clone(),
            new: self.new.clone(),
            sentinel: shell_words(&rig.cluster.exec_command(
                sentinel,
                &[
                    "/usr/bin/redis-cli".into(),
                    "-h".into(),
                    ip.to_string(),
                    "-p".into(),
                    SENTINEL_PORT.to_string(),
                ],
            )?),
        })
    }

    /// `sh migrate.sh STEP` as the README runs it; what it said, as `Err` when it failed.
    fn run(&self, script: &Path, step: &str, old_password: Option<&str>) -> Result<String, String> {
        let mut command = Command::new("sh");
        command
            .arg(script)
            .arg(step)
            .env("OLD_REDIS", &self.old)
            .env("NEW_REDIS", &self.new)
            .env("SENTINEL", &self.sentinel)
            .env_remove("REDISCLI_AUTH")
            .stdin(Stdio::null());
        if let Some(password) = old_password {
            command.env("OLD_REDISCLI_AUTH", password);
        }
        let output = command
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.success() {
            Ok(said)
        } else {
            Err(said)
        }
    }
}

/// `words` as one `sh` command line.
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn client_key(client: &str) -> String {
    format!("migration:{client}")
}

/// A client's record: acknowledged writes (sequence number, when) and NOREPLICAS refusals.
#[derive(Default)]
struct ClientRun {
    acks: Vec<(u64, Instant)>,
    refused_by_fence: usize,
}

/// A bot that writes `SADD migration:<name> <seq>` every 5 ms: to `REDIS_ADDR` until its
/// rollout lands, then through Sentinel discovery with the switched env, as a
/// default-configured client library does (no socket timeout; on any error, drop the
/// connection and ask the Sentinels again).
struct SwitchingClient {
    name: String,
    switch_at: Arc<Mutex<Option<Instant>>>,
    /// When the client actually started using the switched env.
    switched: Arc<Mutex<Option<Instant>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<ClientRun>>,
}

impl SwitchingClient {
    fn start(name: String, addr: (String, u16), env: ClientEnv, dns: Dns) -> Self {
        let switch_at = Arc::new(Mutex::new(None));
        let switched = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let worker = ClientLoop {
            key: client_key(&name),
            addr,
            env,
            dns,
            switch_at: switch_at.clone(),
            switched: switched.clone(),
            stop: stop.clone(),
        };
        let thread = std::thread::spawn(move || worker.run());
        SwitchingClient {
            name,
            switch_at,
            switched,
            stop,
            thread: Some(thread),
        }
    }

    fn switch_at(&self, at: Instant) {
        if let Ok(mut slot) = self.switch_at.lock() {
            *slot = Some(at);
        }
    }

    fn stop(mut self) -> ClientRun {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for SwitchingClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct ClientLoop {
    key: String,
    addr: (String, u16),
    env: ClientEnv,
    dns: Dns,
    switch_at: Arc<Mutex<Option<Instant>>>,
    switched: Arc<Mutex<Option<Instant>>>,
    stop: Arc<AtomicBool>,
}

impl ClientLoop {
    fn run(self) -> ClientRun {
        let mut record = ClientRun::default();
        let mut conn: Option<Conn> = None;
        let mut on_sentinel = false;
        let mut seq = 0u64;
        while !self.stop.load(Ordering::Relaxed) {
            let due = self
                .switch_at
                .lock()
                .ok()
                .and_then(|s| *s)
                .is_some_and(|at| Instant::now() >= at);
            if due && !on_sentinel {
                // The rollout: a new pod with the new env; the old pod's connection goes.
                on_sentinel = true;
                conn = None;
                if let Ok(mut s) = self.switched.lock() {
                    *s = Some(Instant::now());
                }
            }
            let Some(c) = conn.as_mut() else {
                conn = if on_sentinel {
                    self.connect_to_master().ok()
                } else {
                    self.connect_to_addr().ok()
                };
                if conn.is_none() {
                    sleep(RETRY_INTERVAL);
                }
                continue;
            };
            seq += 1;
            match c.call(&["SADD", &self.key, &seq.to_string()]) {
                Ok(Reply::Int(_)) => record.acks.push((seq, Instant::now())),
                Ok(Reply::Error(e)) => {
                    if e.starts_with("NOREPLICAS") && !on_sentinel {
                        record.refused_by_fence += 1;
                    }
                    // Sentinel clients drop the connection on an error and rediscover;
                    // a plain client keeps its connection and retries.
                    if on_sentinel {
                        conn = None;
                    }
                }
                _ => conn = None,
            }
            sleep(WRITE_INTERVAL);
        }
        record
    }

    fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr> {
        let ip = match host.parse::<Ipv4Addr>() {
            Ok(ip) => ip,
            Err(_) => *self
                .dns
                .read()
                .map_err(|_| anyhow::anyhow!("cluster DNS poisoned"))?
                .get(host)
                .with_context(|| format!("cannot resolve {host}"))?,
        };
        Ok(SocketAddr::from((ip, port)))
    }

    /// `REDIS_ADDR`, no password (the base's env has none), no socket timeout.
    fn connect_to_addr(&self) -> Result<Conn> {
        let mut conn = Conn::open(
            self.resolve(&self.addr.0, self.addr.1)?,
            None,
            CONNECT_TIMEOUT,
        )?;
        conn.wait_forever()?;
        Ok(conn)
    }

    /// Ask the Sentinels in order for the master, connect, check its role; no socket
    /// timeout on the connection that writes.
    fn connect_to_master(&self) -> Result<Conn> {
        let password = self.env.password.as_deref();
        for (host, port) in &self.env.sentinel_addrs {
            let Ok(addr) = self.resolve(host, *port) else {
                continue;
            };
            let Ok(mut sentinel) = Conn::open(addr, password, CONNECT_TIMEOUT) else {
                continue;
            };
            let Ok(reply) =
                sentinel.call(&["SENTINEL", "get-master-addr-by-name", &self.env.master_name])
            else {
                continue;
            };
            let Ok([host, port]) = <[String; 2]>::try_from(reply.strings()?) else {
                continue;
            };
            let mut conn = Conn::open(
                self.resolve(&host, port.parse()?)?,
                password,
                CONNECT_TIMEOUT,
            )?;
            if conn.call(&["ROLE"])?.first_text().as_deref() != Some("master") {
                bail!("{host} is not a master");
            }
            conn.wait_forever()?;
            return Ok(conn);
        }
        bail!("no Sentinel named a master")
    }
}
