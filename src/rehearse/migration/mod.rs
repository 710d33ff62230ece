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
//!
//! - `outcome`: what a scenario measured, and its verdict;
//! - `steps`: the pieces of the run (phase 2's arguments for the old Redis, waits, snapshots);
//! - `old`: the old single Redis process;
//! - `hooks`: the hooks `migrate.sh` runs, standing for `kubectl exec`.
//!
//! The client workloads are the rehearsal's [`Writer`], started on the old Redis's address and
//! switched to the Sentinels when their rollout lands.

mod hooks;
mod old;
mod outcome;
mod steps;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use super::client::{ClientEnv, Record, Style, Target, Writer};
use super::cluster::Cluster;
use super::resp::{Conn, Reply};
use super::rig::Rig;
use super::{Manifests, PASSWORD, Secrets};
use crate::kustomization::old_redis::OldRedis;
use crate::profile::defaults::REDIS_PORT;
use crate::render::migration::{self as rendered_migration, PHASES};
use crate::resolve::Deployment;

pub use outcome::{ClientFigures, Outcome};

use hooks::Hooks;
use old::OldProcess;
use outcome::judge;
use steps::{full_syncs, phase_args, preload, sleep_until, snapshot, wait_pods_up};

/// Keys the old Redis holds before the migration starts.
pub const DEFAULT_PRELOADED: usize = 20_000;
/// From the first start of the pods to a new master with every replica online.
pub(super) const PODS_UP: Duration = Duration::from_secs(120);
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
pub(super) const OLD_PASSWORD: &str = "old * pass'word";

/// The set a client workload adds its sequence numbers to.
fn client_key(client: &str) -> String {
    format!("migration:{client}")
}

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

    // The bots, on their REDIS_ADDR until their rollout, as a default-configured client
    // library: no socket timeout.
    let env = ClientEnv::of(dep, Some(PASSWORD))?;
    let mut clients: Vec<(String, Writer)> = dep
        .clients
        .iter()
        .take(SWITCH_AFTER.len())
        .map(|c| {
            let writer = Writer::start_on(
                Target::Address(migration.from.host.clone(), migration.from.port),
                rig.cluster.dns(),
                client_key(&c.name),
                Style::Library,
            );
            (c.name.clone(), writer)
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
    for ((_, writer), after) in clients.iter().zip(SWITCH_AFTER) {
        writer.switch_at(Target::Sentinels(env.clone()), cutover + after);
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
    let finished: Vec<(String, Record)> = clients
        .drain(..)
        .map(|(name, writer)| (name, writer.finish()))
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
    for (name, run) in finished {
        let stored: BTreeSet<u64> = conn
            .call(&["SMEMBERS", &client_key(&name)])?
            .strings()?
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let lost = run.acks.iter().filter(|a| !stored.contains(&a.seq)).count();
        let longest_gap = run
            .acks
            .windows(2)
            .map(|w| w[1].at - w[0].at)
            .max()
            .unwrap_or_default();
        // The fence is the old Redis's: NOREPLICAS while the client still wrote to it.
        let refused_by_fence = run
            .refusals
            .iter()
            .filter(|r| r.kind == "NOREPLICAS" && run.switched.is_none_or(|s| r.at < s))
            .count();
        let switched = run.switched.unwrap_or(cutover);
        outcome.clients.push(ClientFigures {
            name,
            switched_after: switched.saturating_duration_since(cutover),
            acked_before_cutover: run.acks.iter().filter(|a| a.at < cutover).count(),
            acked_after_cutover: run.acks.iter().filter(|a| a.at >= cutover).count(),
            lost,
            refused_by_fence,
            longest_gap,
        });
    }
    judge(&mut outcome);
    drop(rig);
    let _ = std::fs::remove_dir_all(&work);
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}
