//! The migration overlay (issue 3), proven by its consumers:
//!
//! - `kubectl kustomize` builds every phase of the reference profile over the fixture base
//!   (`tests/fixtures/migration/base`: the single Redis and the two welcomebot Deployments with
//!   `REDIS_ADDR`), and the parsed result is what each phase promises;
//! - the data carry-over runs for real: an "old" `redis-server` holding N keys and taking
//!   continuous writes is migrated by the rendered `migration/migrate.sh` (the script the
//!   README tells operators to run) onto the rendered pods (`rehearse` emulation: the real start
//!   scripts, config and env), then the rendered Sentinels start; every key and every
//!   acknowledged write must be on the master the Sentinels name.
//!
//! The real-Redis test binds 127.0.0.100 and up (the pods) and 127.0.0.120 (the old Redis).

mod support;

use std::io::{BufRead, BufReader, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use redis_sentinel_gen::rehearse::redis_cli::{RedisCli, field, poll, values_of};
use redis_sentinel_gen::rehearse::{Cluster, Manifests, Secrets};

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");
const NAMESPACE: &str = "welcomebot";
const MASTER_NAME: &str = "welcomebot-master";
const CLIENTS: [&str; 2] = ["welcomebot-master", "welcomebot-worker"];

fn fixture() -> PathBuf {
    support::repo_root().join("tests/fixtures/migration")
}

/// A scratch directory holding a copy of the fixture base at `base/`, so that an output
/// directory `out/` beside it finds it as `../base`.
fn scratch_with_base(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsg-migration-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let base = dir.join("base");
    std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(fixture().join("base")).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = path.file_name().unwrap_or_default();
        std::fs::copy(&path, base.join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

fn render_out(profile: &Path, out: &Path) -> Output {
    Command::new(BIN)
        .arg("render")
        .arg(profile)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"))
}

fn kustomize(kubectl: &Path, dir: &Path) -> Vec<Value> {
    let output = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubectl: {e}"));
    assert!(
        output.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

fn containers(workload: &Value) -> &Vec<Value> {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap_or_else(|| panic!("no containers in {workload}"))
}

fn container<'a>(workload: &'a Value, name: &str) -> &'a Value {
    containers(workload)
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name} in {workload}"))
}

/// The env of a container as (name, entry without its name).
fn env(container: &Value) -> Vec<(String, Value)> {
    container["env"]
        .as_array()
        .map(|vars| {
            vars.iter()
                .map(|v| {
                    let mut rest = v.clone();
                    let name = rest["name"].as_str().unwrap_or_default().to_string();
                    if let Some(map) = rest.as_object_mut() {
                        map.remove("name");
                    }
                    (name, rest)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn value_of<'a>(env: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    env.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// The switched env of the reference profile: every Sentinel pod, the master name, the
/// password from the Secret, no `REDIS_ADDR`; the container's other variables kept.
fn assert_switched(workload: &Value, container_name: &str, kept: &[&str]) {
    let vars = env(container(workload, container_name));
    let sentinels: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "redis-sentinel-{i}.redis-sentinel-headless.{NAMESPACE}.svc.cluster.local:26379"
            )
        })
        .collect();
    assert_eq!(
        value_of(&vars, "REDIS_SENTINEL_ADDRS"),
        Some(&serde_json::json!({"value": sentinels.join(",")})),
        "{container_name}: {vars:?}"
    );
    assert_eq!(
        value_of(&vars, "REDIS_MASTER_NAME"),
        Some(&serde_json::json!({"value": MASTER_NAME})),
        "{container_name}: {vars:?}"
    );
    assert_eq!(
        value_of(&vars, "REDIS_PASSWORD"),
        Some(
            &serde_json::json!({"valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}}})
        ),
        "{container_name}: {vars:?}"
    );
    assert!(
        value_of(&vars, "REDIS_ADDR").is_none(),
        "{container_name} still has REDIS_ADDR: {vars:?}"
    );
    for name in kept {
        assert!(
            value_of(&vars, name).is_some(),
            "{container_name} lost {name}: {vars:?}"
        );
    }
}

fn assert_unswitched(workload: &Value, container_name: &str) {
    let vars = env(container(workload, container_name));
    assert_eq!(
        value_of(&vars, "REDIS_ADDR"),
        Some(&serde_json::json!({"value": "redis-service:6379"})),
        "{container_name}: {vars:?}"
    );
    for name in ["REDIS_SENTINEL_ADDRS", "REDIS_MASTER_NAME"] {
        assert!(
            value_of(&vars, name).is_none(),
            "{container_name}: {vars:?}"
        );
    }
}

fn replicas(objects: &[Value], kind: &str, name: &str) -> Option<i64> {
    find(objects, kind, name).and_then(|o| o["spec"]["replicas"].as_i64())
}

#[test]
fn every_phase_builds_over_the_fixture_base_and_does_what_it_says() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    let dir = scratch_with_base("phases");
    let out = dir.join("out");
    let rendered = render_out(&support::repo_root().join("profiles/welcomebot.yaml"), &out);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    // The base exists beside the output directory: no warning about it.
    assert!(
        !String::from_utf8_lossy(&rendered.stderr).contains("spec.migration"),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let read =
        |p: &str| std::fs::read_to_string(out.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert_eq!(
        read("migration/deployment/redis-sentinel.yaml"),
        read("redis-sentinel.yaml"),
        "the phases' copy of the deployment differs from redis-sentinel.yaml"
    );

    let base = kustomize(&kubectl, &dir.join("base"));
    let old_count = |objects: &[Value]| {
        [("Deployment", "redis"), ("Service", "redis-service")]
            .iter()
            .filter(|(kind, name)| find(objects, kind, name).is_some())
            .count()
    };
    assert_eq!(old_count(&base), 2, "the fixture base lacks the old Redis");

    // Phase 1: the Redis pods beside the old Redis, no Sentinel, clients untouched.
    let phase1 = kustomize(&kubectl, &out.join("migration/1-deploy"));
    assert_eq!(old_count(&phase1), 2);
    assert_eq!(replicas(&phase1, "StatefulSet", "redis-master"), Some(1));
    assert_eq!(replicas(&phase1, "StatefulSet", "redis-replica"), Some(2));
    assert_eq!(replicas(&phase1, "StatefulSet", "redis-sentinel"), Some(0));
    for client in CLIENTS {
        let workload = find(&phase1, "Deployment", client).expect("client in phase 1");
        assert_eq!(
            Some(workload),
            find(&base, "Deployment", client),
            "phase 1 changed {client}"
        );
        assert_unswitched(workload, client);
    }
    // The reference profile has network policies: phase 1 opens egress to the old Redis.
    let copy = find(&phase1, "NetworkPolicy", "redis-master-migration-copy")
        .expect("phase 1 lets the Redis pods reach the old Redis");
    assert_eq!(copy["spec"]["egress"][0]["ports"][0]["port"], 6379);

    // Phases 2 and 3: Sentinels at full count, every client switched.
    for phase in ["2-switch", "3-cleanup"] {
        let objects = kustomize(&kubectl, &out.join("migration").join(phase));
        assert_eq!(
            replicas(&objects, "StatefulSet", "redis-sentinel"),
            Some(3),
            "{phase}"
        );
        assert!(find(&objects, "NetworkPolicy", "redis-master-migration-copy").is_none());
        for client in CLIENTS {
            let workload = find(&objects, "Deployment", client).expect("client");
            let before = find(&base, "Deployment", client).expect("client in base");
            assert_eq!(
                containers(workload).len(),
                containers(before).len(),
                "{phase}: the patch must not add a container to {client}"
            );
            assert_switched(workload, client, &["LOG_LEVEL"]);
        }
        // Only the container named in the profile is switched.
        let worker = find(&objects, "Deployment", "welcomebot-worker").expect("worker");
        assert_eq!(
            value_of(&env(container(worker, "log-shipper")), "REDIS_ADDR"),
            Some(&serde_json::json!({"value": "logs-redis:6379"}))
        );
        let expected_old = if phase == "3-cleanup" { 0 } else { 2 };
        assert_eq!(
            old_count(&objects),
            expected_old,
            "{phase}: old Redis objects"
        );
        // Everything else of the base survives every phase.
        assert!(find(&objects, "StatefulSet", "redis-master").is_some());
    }

    // The Component alone, over the base, does the switch.
    let alone = dir.join("component-only");
    std::fs::create_dir_all(&alone).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        alone.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
         resources: [../base]\ncomponents: [../out/clients]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let objects = kustomize(&kubectl, &alone);
    assert_eq!(objects.len(), base.len());
    for client in CLIENTS {
        assert_switched(
            find(&objects, "Deployment", client).expect("client"),
            client,
            &["LOG_LEVEL"],
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_migration_base_that_does_not_exist_is_an_error_with_its_position() {
    let dir = scratch_with_base("missing-base");
    let profile = dir.join("profile.yaml");
    let text = std::fs::read_to_string(fixture().join("profile.yaml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace("base: ../base", "base: ../bsae");
    std::fs::write(&profile, text).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    let output = render_out(&profile, &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for needle in [
        "error: the migration base",
        "bsae does not exist",
        "profile.yaml:25:",
        "= field: spec.migration.base",
        "relative to the output directory",
    ] {
        assert!(stderr.contains(needle), "`{needle}` not in\n{stderr}");
    }
    assert!(!out.exists(), "an invalid profile wrote output");
    // `check` judges the same paths.
    let check = Command::new(BIN)
        .arg("check")
        .arg(&profile)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stderr).contains("spec.migration.base"));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// The data carry-over on real Redis

/// The Secret the fixture profile names, and an awkward password for it.
const SECRET: (&str, &str) = ("redis-auth", "password");
const PASSWORD: &str = "m1gr \"pa ss' $word";
const FIRST_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 100);
const OLD_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 120);
const OLD_HOST: &str = "redis-service";
/// Keys the old Redis holds before the migration starts.
const PRELOADED: usize = 20_000;
const REDIS_PORT: u16 = 6379;
const SENTINEL_PORT: u16 = 26379;
const CONVERGE: Duration = Duration::from_secs(60);

#[test]
fn migration_from_a_single_redis_loses_no_acknowledged_write() -> Result<()> {
    let Some(redis_cli) = prerequisites() else {
        return Ok(());
    };
    let dir = scratch_with_base("real");
    let out = dir.join("out");
    let rendered = render_out(&fixture().join("profile.yaml"), &out);
    ensure!(
        rendered.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let script = out.join("migration/migrate.sh");
    let manifests = Manifests::parse(&std::fs::read_to_string(out.join("redis-sentinel.yaml"))?)?;
    let secrets = Secrets::from([((SECRET.0.into(), SECRET.1.into()), PASSWORD.into())]);
    let mut cluster = Cluster::new(manifests, secrets, FIRST_IP, "cluster.local")?;
    cluster.add_host(OLD_IP, OLD_HOST)?;
    let cli = RedisCli {
        bin: redis_cli,
        password: PASSWORD.into(),
    };
    let ip_of = |sts: &str| -> Vec<Ipv4Addr> {
        cluster
            .pods()
            .iter()
            .filter(|p| p.stateful_set == sts)
            .map(|p| p.ip)
            .collect()
    };
    let master_ip = ip_of("redis-master")[0];
    let sentinel_ips = ip_of("redis-sentinel");
    let master_fqdn = format!("redis-master-0.redis-headless.{NAMESPACE}.svc.cluster.local");

    // The single Redis of today, with its data, taking writes all along.
    let old = OldRedis::start(&dir)?;
    let loaded = preload(PRELOADED)?;
    ensure!(
        loaded == PRELOADED,
        "preloaded {loaded} of {PRELOADED} keys"
    );
    let writer = Writer::start();

    // Phase 1: the Redis pods, no Sentinel.
    let redis_pods: Vec<String> = cluster
        .pods()
        .iter()
        .filter(|p| p.stateful_set != "redis-sentinel")
        .map(|p| p.name.clone())
        .collect();
    for pod in &redis_pods {
        cluster.start(pod)?;
    }
    let logs = |cluster: &Cluster, e: anyhow::Error| {
        e.context(format!(
            "pod logs:\n{}\nold Redis log:\n{}",
            cluster.log_tails(20),
            old.log()
        ))
    };
    poll(
        CONVERGE,
        "the new master with 2 replicas online",
        || exited(&mut cluster),
        || {
            let info = cli.info(master_ip, REDIS_PORT, "replication")?;
            ensure!(
                field(&info, "role") == Some("master")
                    && field(&info, "connected_slaves") == Some("2"),
                "{info:?}"
            );
            Ok(())
        },
    )
    .map_err(|e| logs(&cluster, e))?;

    let hooks = Hooks {
        old: format!("env -u REDISCLI_AUTH redis-cli -h {OLD_IP} -p {REDIS_PORT}"),
        new: format!("redis-cli -h {master_ip} -p {REDIS_PORT}"),
        sentinel: format!("redis-cli -h {} -p {SENTINEL_PORT}", sentinel_ips[0]),
    };
    hooks.run(&script, "copy").map_err(|e| logs(&cluster, e))?;
    let acked_at_copy = writer.acked();
    // Writes keep flowing to the old Redis and through to the new master.
    thread::sleep(Duration::from_secs(2));
    let acked_before_cutover = writer.acked();
    hooks
        .run(&script, "cutover")
        .map_err(|e| logs(&cluster, e))?;

    // Phase 2: the Sentinels.
    let sentinel_pods: Vec<String> = cluster
        .pods()
        .iter()
        .filter(|p| p.stateful_set == "redis-sentinel")
        .map(|p| p.name.clone())
        .collect();
    for pod in &sentinel_pods {
        cluster.start(pod)?;
    }
    poll(
        CONVERGE,
        "every Sentinel naming the new master",
        || exited(&mut cluster),
        || {
            for ip in &sentinel_ips {
                let reply = cli.call(
                    *ip,
                    SENTINEL_PORT,
                    &["SENTINEL", "get-master-addr-by-name", MASTER_NAME],
                )?;
                ensure!(
                    reply.lines().next() == Some(master_fqdn.as_str()),
                    "{ip}: {reply:?}"
                );
                let replicas =
                    cli.call(*ip, SENTINEL_PORT, &["SENTINEL", "replicas", MASTER_NAME])?;
                ensure!(
                    values_of(&replicas, "ip").len() == 2,
                    "{ip} knows replicas {replicas:?}"
                );
                let quorum =
                    cli.call(*ip, SENTINEL_PORT, &["SENTINEL", "ckquorum", MASTER_NAME])?;
                ensure!(quorum.starts_with("OK 3 "), "{ip}: {quorum}");
            }
            Ok(())
        },
    )
    .map_err(|e| logs(&cluster, e))?;
    hooks
        .run(&script, "verify")
        .map_err(|e| logs(&cluster, e))?;
    let (acked, rejected) = writer.stop()?;

    // Count on the master the Sentinels name.
    let named = cli.call(
        sentinel_ips[1],
        SENTINEL_PORT,
        &["SENTINEL", "get-master-addr-by-name", MASTER_NAME],
    )?;
    let named_ip = cluster
        .pods()
        .iter()
        .find(|p| Some(p.fqdn.as_str()) == named.lines().next())
        .map(|p| p.ip)
        .with_context(|| format!("the Sentinels name an unknown master: {named:?}"))?;
    let mut master = Resp::connect(named_ip, Some(PASSWORD))?;
    let mut missing_preloaded = 0;
    for i in 0..PRELOADED {
        if master.command(&["GET", &format!("k:{i}")])? != Reply::Bulk(Some(format!("v{i}"))) {
            missing_preloaded += 1;
        }
    }
    let mut lost = Vec::new();
    for i in &acked {
        if master.command(&["GET", &format!("w:{i}")])? != Reply::Bulk(Some(i.to_string())) {
            lost.push(*i);
        }
    }
    let not_fenced: Vec<&(u64, String)> = rejected
        .iter()
        .filter(|(_, e)| !e.starts_with("NOREPLICAS"))
        .collect();
    // The new master takes writes (its replicas satisfy min-replicas-to-write).
    let probe = master.command(&["SET", "migration:probe", "1"])?;

    eprintln!(
        "\nmigration on real Redis: N = {PRELOADED} preloaded keys, {} missing; {} writes \
         acknowledged by the old Redis ({} of them while it streamed to the synced new master), {} lost; {} refused after the \
         cutover (NOREPLICAS)",
        missing_preloaded,
        acked.len(),
        acked_before_cutover - acked_at_copy,
        lost.len(),
        rejected.len()
    );
    ensure!(
        missing_preloaded == 0,
        "{missing_preloaded} of {PRELOADED} preloaded keys missing"
    );
    ensure!(
        lost.is_empty(),
        "{} acknowledged writes lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(20)]
    );
    ensure!(
        acked_before_cutover > acked_at_copy,
        "no write was acknowledged while the copy ran"
    );
    ensure!(
        not_fenced.is_empty(),
        "writes refused for another reason than the fence: {not_fenced:?}"
    );
    ensure!(
        probe == Reply::Simple("OK".into()),
        "the new master refuses writes: {probe:?}"
    );
    drop(cluster);
    drop(old);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Pods whose container exited: no use waiting for them.
fn exited(cluster: &mut Cluster) -> Option<String> {
    let exited: Vec<String> = cluster
        .exited()
        .iter()
        .map(|(pod, status)| format!("{pod} ({status})"))
        .collect();
    (!exited.is_empty()).then(|| format!("pods exited: {}", exited.join(", ")))
}

/// Root and every tool the emulation, the script and the checks use; `None`: skipped (never
/// in CI).
fn prerequisites() -> Option<PathBuf> {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        assert!(
            !support::in_ci(),
            "this test needs root in CI (mount namespaces)"
        );
        eprintln!("\n!!!!!!!!!!\nSKIPPED: real-Redis migration test needs root\n!!!!!!!!!!\n");
        return None;
    }
    // What the emulation runs pods with (`redis_sentinel_gen::rehearse`), and the script.
    for tool in [
        "unshare",
        "setpriv",
        "nsenter",
        "busybox",
        "redis-server",
        "redis-sentinel",
        "sh",
    ] {
        support::require_tool(tool)?;
    }
    support::require_tool("redis-cli")
}

/// How `migrate.sh` reaches each server in this test: redis-cli straight to the emulated
/// addresses instead of `kubectl exec`. The password travels as `REDISCLI_AUTH`, as in the
/// containers; the old Redis has none.
struct Hooks {
    old: String,
    new: String,
    sentinel: String,
}

impl Hooks {
    fn run(&self, script: &Path, step: &str) -> Result<()> {
        let output = Command::new("sh")
            .arg(script)
            .arg(step)
            .env("OLD_REDIS", &self.old)
            .env("NEW_REDIS", &self.new)
            .env("SENTINEL", &self.sentinel)
            .env("REDISCLI_AUTH", PASSWORD)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", script.display()))?;
        let said = String::from_utf8_lossy(&output.stderr);
        eprint!("{said}");
        ensure!(
            output.status.success(),
            "migrate.sh {step} failed ({}):\n{said}",
            output.status
        );
        Ok(())
    }
}

/// The old single Redis: a plain `redis-server` on its own address, stopped on drop.
struct OldRedis {
    child: Child,
    log: PathBuf,
}

impl OldRedis {
    fn start(dir: &Path) -> Result<Self> {
        TcpListener::bind((OLD_IP, REDIS_PORT))
            .with_context(|| format!("{OLD_IP}:{REDIS_PORT} is in use"))?;
        let data = dir.join("old-redis");
        std::fs::create_dir_all(&data)?;
        let log = data.join("log");
        let child = Command::new("setpriv")
            .args(["--pdeathsig=KILL", "--", "redis-server"])
            .args([
                "--bind",
                &OLD_IP.to_string(),
                "--port",
                &REDIS_PORT.to_string(),
            ])
            // As a Redis in a pod: reachable from other addresses, no password.
            .args(["--protected-mode", "no", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&data)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .spawn()
            .context("cannot start the old redis-server")?;
        let old = OldRedis { child, log };
        poll(
            Duration::from_secs(10),
            "the old Redis answering",
            || None,
            || {
                let mut conn = Resp::connect(OLD_IP, None)?;
                ensure!(conn.command(&["PING"])? == Reply::Simple("PONG".into()));
                Ok(())
            },
        )?;
        Ok(old)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for OldRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `k:<i>` = `v<i>` for i < n on the old Redis, pipelined; the number acknowledged.
fn preload(n: usize) -> Result<usize> {
    let mut conn = Resp::connect(OLD_IP, None)?;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        for i in chunk {
            conn.send(&["SET", &format!("k:{i}"), &format!("v{i}")])?;
        }
        for _ in chunk {
            ensure!(
                conn.read()? == Reply::Simple("OK".into()),
                "preload refused"
            );
        }
    }
    let Reply::Int(size) = conn.command(&["DBSIZE"])? else {
        bail!("DBSIZE did not answer a number");
    };
    Ok(usize::try_from(size)?)
}

/// The writes acknowledged (by index) and the writes refused (index, error reply).
type Outcome = (Vec<u64>, Vec<(u64, String)>);

/// A client of the old Redis writing `w:<i>` = `<i>` one after the other until stopped,
/// remembering which writes were acknowledged and which refused (and why).
struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
    handle: thread::JoinHandle<Result<Outcome>>,
}

impl Writer {
    fn start() -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicUsize::new(0));
        let (stop_flag, counter) = (stop.clone(), acked.clone());
        let handle = thread::spawn(move || {
            let mut conn = Resp::connect(OLD_IP, None)?;
            let (mut ok, mut refused) = (Vec::new(), Vec::new());
            let mut i = 0u64;
            while !stop_flag.load(Ordering::Relaxed) {
                match conn.command(&["SET", &format!("w:{i}"), &i.to_string()])? {
                    Reply::Simple(s) if s == "OK" => {
                        ok.push(i);
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    Reply::Error(e) => refused.push((i, e)),
                    other => bail!("SET w:{i} answered {other:?}"),
                }
                i += 1;
                thread::sleep(Duration::from_millis(2));
            }
            Ok((ok, refused))
        });
        Writer {
            stop,
            acked,
            handle,
        }
    }

    fn acked(&self) -> usize {
        self.acked.load(Ordering::Relaxed)
    }

    fn stop(self) -> Result<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.join() {
            Ok(result) => result,
            Err(_) => bail!("the writer thread panicked"),
        }
    }
}

/// One RESP reply, as far as this test needs them.
#[derive(Debug, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
}

/// A minimal Redis client: one connection, commands in, replies out, a deadline per reply
/// long enough to outlast a write pause.
struct Resp {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Resp {
    fn connect(ip: Ipv4Addr, password: Option<&str>) -> Result<Resp> {
        let stream = TcpStream::connect_timeout(&(ip, REDIS_PORT).into(), Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(90)))?;
        let reader = BufReader::new(stream.try_clone()?);
        let mut conn = Resp { stream, reader };
        if let Some(password) = password {
            let reply = conn.command(&["AUTH", password])?;
            ensure!(reply == Reply::Simple("OK".into()), "AUTH: {reply:?}");
        }
        Ok(conn)
    }

    fn send(&mut self, args: &[&str]) -> Result<()> {
        let mut out = format!("*{}\r\n", args.len());
        for arg in args {
            out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.stream.write_all(out.as_bytes())?;
        Ok(())
    }

    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        let started = Instant::now();
        self.reader.read_line(&mut line)?;
        ensure!(
            line.ends_with("\r\n"),
            "connection closed after {:?}",
            started.elapsed()
        );
        line.truncate(line.len() - 2);
        Ok(line)
    }

    fn read(&mut self) -> Result<Reply> {
        let line = self.line()?;
        let (kind, rest) = line.split_at(1.min(line.len()));
        Ok(match kind {
            "+" => Reply::Simple(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse()?),
            "$" if rest == "-1" => Reply::Bulk(None),
            "$" => {
                let value = self.line()?;
                ensure!(
                    value.len() == rest.parse::<usize>()?,
                    "bulk length mismatch"
                );
                Reply::Bulk(Some(value))
            }
            _ => bail!("unexpected reply {line:?}"),
        })
    }

    fn command(&mut self, args: &[&str]) -> Result<Reply> {
        self.send(args)?;
        self.read()
    }
}

#[test]
fn migrate_sh_passes_shellcheck_for_every_shipped_profile() {
    let Some(shellcheck) = support::require_tool("shellcheck") else {
        return;
    };
    for profile in support::shipped_profiles() {
        let stem = profile
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let out =
            std::env::temp_dir().join(format!("rsg-migrate-sh-{stem}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let rendered = render_out(&profile, &out);
        assert!(
            rendered.status.success(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        let script = out.join("migration/migrate.sh");
        if !script.exists() {
            continue;
        }
        let checked = Command::new(&shellcheck)
            .args(["--shell=sh", "--severity=style"])
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run shellcheck: {e}"));
        assert!(
            checked.status.success(),
            "{stem}: shellcheck migrate.sh:\n{}",
            String::from_utf8_lossy(&checked.stdout)
        );
        let _ = std::fs::remove_dir_all(&out);
    }
}

/// Kinds no Kubernetes OpenAPI schema knows (Prometheus Operator CRDs of the monitoring
/// feature); `tests/monitoring.rs` checks those.
const CRD_KINDS: &[&str] = &["ServiceMonitor", "PrometheusRule"];

#[test]
fn every_built_phase_validates_strictly_against_the_kubernetes_schemas() {
    let (Some(kubectl), Some(validator)) = (
        support::require_tool("kubectl"),
        support::require_tool("kubernetes-validate"),
    ) else {
        return;
    };
    let dir = scratch_with_base("conformance");
    let out = dir.join("out");
    let rendered = render_out(&support::repo_root().join("profiles/welcomebot.yaml"), &out);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let mut files = Vec::new();
    for phase in ["1-deploy", "2-switch", "3-cleanup"] {
        let objects: Vec<Value> = kustomize(&kubectl, &out.join("migration").join(phase))
            .into_iter()
            .filter(|o| !CRD_KINDS.iter().any(|kind| o["kind"] == *kind))
            .collect();
        let file = dir.join(format!("{phase}.json"));
        // One JSON document per line is also a YAML stream kubernetes-validate reads.
        let stream: Vec<String> = objects.iter().map(|o| format!("---\n{o}\n")).collect();
        std::fs::write(&file, stream.concat()).unwrap_or_else(|e| panic!("{e}"));
        files.push(file);
    }
    for version in ["1.29.0", "1.37.0"] {
        let output = Command::new(&validator)
            .args(["--strict", "--no-warn", "--kubernetes-version", version])
            .args(&files)
            .output()
            .unwrap_or_else(|e| panic!("cannot run kubernetes-validate: {e}"));
        assert!(
            output.status.success(),
            "Kubernetes {version}:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `migrate.sh` against a fake redis-cli (a shell script answering from canned replies):
/// the states in which copying would lose data are refused before anything is changed.
#[test]
fn migrate_sh_refuses_to_copy_while_sentinels_watch_or_over_existing_data() {
    let Some(sh) = support::require_tool("sh") else {
        return;
    };
    let dir = scratch_with_base("refusals");
    let out = dir.join("out");
    let rendered = render_out(&fixture().join("profile.yaml"), &out);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    // Answers like a fresh master; CLIENT LIST and DBSIZE come from the environment; any
    // command that would change something is recorded.
    let fake = dir.join("fake-redis-cli");
    std::fs::write(
        &fake,
        "#!/bin/sh\n\
         case \"$*\" in\n\
         'INFO replication') printf 'role:master\\r\\nconnected_slaves:2\\r\\n' ;;\n\
         'CLIENT LIST') printf '%s\\n' \"$FAKE_CLIENTS\" ;;\n\
         DBSIZE) printf '%s\\n' \"$FAKE_KEYS\" ;;\n\
         *) printf '%s\\n' \"$*\" >>\"$FAKE_CHANGES\"; echo OK ;;\n\
         esac\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let changes = dir.join("changes");
    let run = |clients: &str, keys: &str| {
        Command::new(&sh)
            .arg(out.join("migration/migrate.sh"))
            .arg("copy")
            .env("OLD_REDIS", format!("sh {}", fake.display()))
            .env("NEW_REDIS", format!("sh {}", fake.display()))
            .env("SENTINEL", format!("sh {}", fake.display()))
            .env("FAKE_CLIENTS", clients)
            .env("FAKE_KEYS", keys)
            .env("FAKE_CHANGES", &changes)
            .env("SYNC_TIMEOUT_SECONDS", "0")
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let watched = run(
        "id=7 addr=10.0.0.9:40000 name=sentinel-3f2a91c0-cmd db=0",
        "0",
    );
    let said = String::from_utf8_lossy(&watched.stderr);
    assert_eq!(watched.status.code(), Some(1), "{said}");
    assert!(said.contains("Sentinels are connected"), "{said}");
    let full = run("id=8 addr=10.0.0.9:40001 name= db=0", "12");
    let said = String::from_utf8_lossy(&full.stderr);
    assert_eq!(full.status.code(), Some(1), "{said}");
    assert!(said.contains("holds 12 keys"), "{said}");
    assert!(!changes.exists(), "a refused copy changed something");
    // The same fake, empty and unwatched: copy goes ahead (and reconfigures the master).
    let _ = run("id=8 addr=10.0.0.9:40001 name= db=0", "0");
    let made = std::fs::read_to_string(&changes).unwrap_or_default();
    assert!(made.contains("REPLICAOF redis-service 6379"), "{made}");
    let _ = std::fs::remove_dir_all(&dir);
}
