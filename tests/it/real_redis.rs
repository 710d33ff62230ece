//! The rendered `redis-sentinel.yaml` runs on the real Redis binaries (issue 2 item 6,
//! DESIGN §5): every pod of the reference profile's StatefulSets is emulated from the
//! manifests themselves (the library's `rehearse` emulation: its own address, DNS names, env, volumes, command) and
//! the deployment must come up as one master with two replicas, watched by three Sentinels
//! that agree on it and know each other.
//!
//! Needs root (namespaces, mounts), `unshare`, `setpriv`, `nsenter`, `busybox` and Debian's `redis-server`,
//! `redis-sentinel` and `redis-cli`. Pods listen on 127.0.0.10 and up, so a Redis on
//! 127.0.0.1:6379 does not interfere.

use crate::support;

use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use redis_sentinel_gen::rehearse::redis_cli::{RedisCli, field, poll, values_of};
use redis_sentinel_gen::rehearse::{Cluster, Manifests, Secrets};

/// The Secret the reference profile names (`spec.auth`).
const SECRET: (&str, &str) = ("redis-auth", "password");
/// Awkward on purpose: a space, both quotes and a `$` break any script or config file that
/// handles the password without quoting it properly.
const PASSWORD: &str = "t3st \"pa ss' $word";
const FIRST_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 10);
const CLUSTER_DOMAIN: &str = "cluster.local";
/// The reference deployment (DESIGN §2): names, master name and ports.
const MASTER_NAME: &str = "welcomebot-master";
const MASTER_STS: &str = "redis-master";
const REPLICA_STS: &str = "redis-replica";
const SENTINEL_STS: &str = "redis-sentinel";
const REDIS_PORT: u16 = 6379;
const SENTINEL_PORT: u16 = 26379;
/// From the first start to a fully agreed deployment. The start scripts ask the other pods
/// for the master before starting, so the pods started first wait on those not yet up.
const CONVERGE: Duration = Duration::from_secs(60);

#[test]
fn rendered_deployment_comes_up_on_real_redis() -> Result<()> {
    let Some(redis_cli) = prerequisites() else {
        return Ok(());
    };
    let _turn = support::real_redis_turn();
    let rendered = support::render_profile(
        &support::repo_root()
            .join("profiles")
            .join("welcomebot.yaml"),
    );
    let manifests = Manifests::parse(&rendered)?;
    let secrets = Secrets::from([((SECRET.0.into(), SECRET.1.into()), PASSWORD.into())]);
    let mut cluster = Cluster::new(manifests, secrets, FIRST_IP, CLUSTER_DOMAIN)?;
    let cli = RedisCli {
        bin: redis_cli,
        password: PASSWORD.into(),
    };
    let topology = Topology::of(&cluster)?;

    let started = Instant::now();
    let names: Vec<String> = cluster.pods().iter().map(|p| p.name.clone()).collect();
    for name in &names {
        cluster.start(name)?;
    }
    let report = poll(
        CONVERGE,
        "one master, two replicas and three Sentinels agreeing on it",
        || {
            let exited = cluster.exited();
            let exited: Vec<String> = exited
                .iter()
                .map(|(pod, status)| format!("{pod} ({status})"))
                .collect();
            (!exited.is_empty()).then(|| format!("pods exited: {}", exited.join(", ")))
        },
        || topology.check(&cli),
    );
    match report {
        Ok(report) => {
            eprintln!(
                "{report}  (agreed {:.1?} after the first start)",
                started.elapsed()
            );
            Ok(())
        }
        Err(e) => Err(e.context(format!("pod logs (last lines):\n{}", cluster.log_tails(25)))),
    }
}

/// Root, and every tool the emulation and the checks use. `None`: skipped (never in CI,
/// where `support::require_tool` and the root check fail instead).
fn prerequisites() -> Option<std::path::PathBuf> {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        assert!(
            !support::in_ci(),
            "this test needs root in CI (mount namespaces)"
        );
        eprintln!(
            "\n!!!!!!!!!!\nSKIPPED: real-Redis test needs root (mount namespaces)\n!!!!!!!!!!\n"
        );
        return None;
    }
    for tool in [
        "unshare",
        "setpriv",
        "nsenter",
        "busybox",
        "redis-server",
        "redis-sentinel",
    ] {
        support::require_tool(tool)?;
    }
    support::require_tool("redis-cli")
}

/// A pod to check and where it listens.
struct Member {
    name: String,
    fqdn: String,
    ip: Ipv4Addr,
}

/// The reference deployment's pods by role, taken from the emulated cluster.
struct Topology {
    master: Member,
    replicas: Vec<Member>,
    sentinels: Vec<Member>,
}

impl Topology {
    fn of(cluster: &Cluster) -> Result<Self> {
        let members = |sts: &str| -> Vec<Member> {
            cluster
                .pods()
                .iter()
                .filter(|p| p.stateful_set == sts)
                .map(|p| Member {
                    name: p.name.clone(),
                    fqdn: p.fqdn.clone(),
                    ip: p.ip,
                })
                .collect()
        };
        let mut masters = members(MASTER_STS);
        let replicas = members(REPLICA_STS);
        let sentinels = members(SENTINEL_STS);
        ensure!(
            masters.len() == 1,
            "expected 1 {MASTER_STS} pod, found {}",
            masters.len()
        );
        ensure!(
            replicas.len() == 2,
            "expected 2 {REPLICA_STS} pods, found {}",
            replicas.len()
        );
        ensure!(
            sentinels.len() == 3,
            "expected 3 {SENTINEL_STS} pods, found {}",
            sentinels.len()
        );
        let master = masters.pop().context("no master pod")?;
        Ok(Topology {
            master,
            replicas,
            sentinels,
        })
    }

    /// Every condition of a healthy deployment, or the first that does not hold yet. On
    /// success, a short report of what came up.
    fn check(&self, cli: &RedisCli) -> Result<String> {
        let mut report = String::from("\nreal Redis: the rendered reference deployment came up\n");
        for pod in std::iter::once(&self.master).chain(&self.replicas) {
            ping(cli, pod, REDIS_PORT)?;
        }
        for pod in &self.sentinels {
            ping(cli, pod, SENTINEL_PORT)?;
        }
        report.push_str(&self.check_master(cli)?);
        for replica in &self.replicas {
            report.push_str(&self.check_replica(cli, replica)?);
        }
        for sentinel in &self.sentinels {
            report.push_str(&self.check_sentinel(cli, sentinel)?);
        }
        Ok(report)
    }

    fn check_master(&self, cli: &RedisCli) -> Result<String> {
        let master = &self.master;
        let info = cli.info(master.ip, REDIS_PORT, "replication")?;
        ensure!(
            field(&info, "role") == Some("master"),
            "{} is not master: {info:?}",
            master.name
        );
        ensure!(
            field(&info, "connected_slaves") == Some("2"),
            "{} has not 2 replicas: {info:?}",
            master.name
        );
        for replica in &self.replicas {
            // Replicas announce their pod DNS name (`replica-announce-ip`), never an address.
            let online = format!("ip={},port={REDIS_PORT},state=online", replica.fqdn);
            ensure!(
                info.iter()
                    .any(|(k, v)| k.starts_with("slave") && v.starts_with(&online)),
                "{} does not list {} as an online replica: {info:?}",
                master.name,
                replica.fqdn
            );
        }
        Ok(format!(
            "  {:<18} {:<12} master, 2 replicas online\n",
            master.name, master.ip
        ))
    }

    fn check_replica(&self, cli: &RedisCli, replica: &Member) -> Result<String> {
        let info = cli.info(replica.ip, REDIS_PORT, "replication")?;
        ensure!(
            field(&info, "role") == Some("slave"),
            "{} is not a replica: {info:?}",
            replica.name
        );
        ensure!(
            field(&info, "master_host") == Some(&self.master.fqdn),
            "{} replicates from {:?}, not {}",
            replica.name,
            field(&info, "master_host"),
            self.master.fqdn
        );
        ensure!(
            field(&info, "master_link_status") == Some("up"),
            "{}: master link not up: {info:?}",
            replica.name
        );
        Ok(format!(
            "  {:<18} {:<12} replica of {}, link up\n",
            replica.name, replica.ip, self.master.name
        ))
    }

    /// The Sentinel names the master by its DNS name and knows every other Sentinel and
    /// every replica, by DNS name too (`announce-hostnames`).
    fn check_sentinel(&self, cli: &RedisCli, sentinel: &Member) -> Result<String> {
        let ask =
            |what: &str| cli.call(sentinel.ip, SENTINEL_PORT, &["SENTINEL", what, MASTER_NAME]);
        let master = ask("get-master-addr-by-name")?;
        let expected = format!("{}\n{REDIS_PORT}", self.master.fqdn);
        ensure!(
            master.trim() == expected,
            "{} names master {master:?}, not {expected:?}",
            sentinel.name
        );
        let others = self.sentinels.iter().filter(|s| s.name != sentinel.name);
        ensure_same(&sentinel.name, "Sentinels", &ask("sentinels")?, others)?;
        let replicas = ask("replicas")?;
        ensure_same(&sentinel.name, "replicas", &replicas, &self.replicas)?;
        if let Some(flags) = values_of(&replicas, "flags")
            .iter()
            .find(|f| f.as_str() != "slave")
        {
            bail!("{}: a replica is flagged {flags}", sentinel.name);
        }
        Ok(format!(
            "  {:<18} {:<12} master {}:{REDIS_PORT}, knows 2 Sentinels and 2 replicas\n",
            sentinel.name, sentinel.ip, self.master.fqdn
        ))
    }
}

fn ping(cli: &RedisCli, pod: &Member, port: u16) -> Result<()> {
    let pong = cli.call(pod.ip, port, &["PING"])?;
    ensure!(
        pong.trim() == "PONG",
        "{}: PING answered {pong:?}",
        pod.name
    );
    Ok(())
}

/// The `ip` fields of a `SENTINEL sentinels|replicas` reply are exactly `expected`'s names.
fn ensure_same<'a>(
    asked: &str,
    what: &str,
    reply: &str,
    expected: impl IntoIterator<Item = &'a Member>,
) -> Result<()> {
    let mut seen = values_of(reply, "ip");
    seen.sort();
    let mut want: Vec<String> = expected.into_iter().map(|m| m.fqdn.clone()).collect();
    want.sort();
    ensure!(
        seen == want,
        "{asked} knows {what} {seen:?}, expected {want:?}"
    );
    Ok(())
}
