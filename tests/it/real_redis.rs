//! The rendered `redis-sentinel.yaml` runs on the real Redis binaries (issue 2 item 6,
//! DESIGN §5): every pod of the reference profile's StatefulSets is emulated from the
//! manifests themselves (the library's `rehearse` emulation: its own address, DNS names, env,
//! volumes, command) and the deployment must come up healthy as the rehearsal defines it
//! (`Rig::agreement`: one master, every replica linked to it, every Sentinel naming it and
//! knowing the others) with one master and two replicas watched by three Sentinels, every one
//! of them announced by its DNS name.
//!
//! Needs root (namespaces, mounts), `unshare`, `setpriv`, `nsenter`, `busybox` and Debian's
//! `redis-server` and `redis-sentinel`. Pods listen on 127.0.0.10 and up, so a Redis on
//! 127.0.0.1:6379 does not interfere.

use crate::support;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};

use redis_sentinel_gen::rehearse::resp::info_field;
use redis_sentinel_gen::rehearse::rig::Rig;
use redis_sentinel_gen::rehearse::{Cluster, Manifests, Secrets};

/// The Secret the reference profile names (`spec.auth`).
const SECRET: (&str, &str) = ("redis-auth", "password");
/// Awkward on purpose: a space, both quotes and a `$` break any script or config file that
/// handles the password without quoting it properly.
const PASSWORD: &str = "t3st \"pa ss' $word";
const FIRST_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 10);
const CLUSTER_DOMAIN: &str = "cluster.local";
/// The reference deployment (DESIGN §2): master name, master pod and ports.
const MASTER_NAME: &str = "welcomebot-master";
const FIRST_MASTER: &str = "redis-master-0";
const REDIS_PORT: u16 = 6379;
const SENTINEL_PORT: u16 = 26379;
/// From the first start to a fully agreed deployment. The start scripts ask the other pods
/// for the master before starting, so the pods started first wait on those not yet up.
const CONVERGE: Duration = Duration::from_secs(60);

#[test]
fn rendered_deployment_comes_up_on_real_redis() -> Result<()> {
    if !support::real_redis_prerequisites(&[]) {
        return Ok(());
    }
    let _turn = support::real_redis_turn();
    let rendered = support::render_profile(
        &support::repo_root()
            .join("profiles")
            .join("welcomebot.yaml"),
    );
    let manifests = Manifests::parse(&rendered)?;
    let secrets = Secrets::from([((SECRET.0.into(), SECRET.1.into()), PASSWORD.into())]);
    let cluster = Cluster::new(manifests, secrets, FIRST_IP, CLUSTER_DOMAIN)?;
    let mut rig = Rig::new(cluster, MASTER_NAME.into(), Some(PASSWORD.into()), 2)?;
    ensure!(
        rig.redis.len() == 3 && rig.sentinels.len() == 3,
        "expected 3 Redis pods and 3 Sentinels, found {:?} and {:?}",
        rig.redis,
        rig.sentinels
    );

    let started = Instant::now();
    let names: Vec<String> = rig.cluster.pods().iter().map(|p| p.name.clone()).collect();
    for name in &names {
        rig.cluster.start(name)?;
    }
    // Healthy as the rehearsal defines it, with the first master, and every pod named by DNS.
    let report = loop {
        let outcome = rig.agreement().and_then(|master| {
            ensure!(
                master == FIRST_MASTER,
                "{master} is master, not {FIRST_MASTER}"
            );
            announced_by_dns_names(&rig, &master)
        });
        match outcome {
            Ok(report) => break Ok(report),
            Err(e) if started.elapsed() > CONVERGE => {
                break Err(e.context(format!(
                    "not healthy within {CONVERGE:?}; pod logs (last lines):\n{}",
                    rig.cluster.log_tails(25)
                )));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }?;
    eprintln!(
        "{report}  (agreed {:.1?} after the first start)",
        started.elapsed()
    );
    Ok(())
}

/// The pod's DNS name (`<pod>.<service>.<namespace>.svc.<domain>`).
fn fqdn(rig: &Rig, pod: &str) -> Result<String> {
    Ok(rig.cluster.pod(pod)?.fqdn.clone())
}

/// What a healthy deployment of the reference profile adds to [`Rig::agreement`]: the master
/// has both replicas online, and every pod is announced by its DNS name, never an address
/// (`replica-announce-ip`, Sentinel's `announce-hostnames`): in the master's replica list, in
/// what the Sentinels name as master, and in their tables of replicas and Sentinels. A short
/// report of what came up, or the first thing that does not hold yet.
fn announced_by_dns_names(rig: &Rig, master: &str) -> Result<String> {
    let mut report = String::from("\nreal Redis: the rendered reference deployment came up\n");
    let replicas: Vec<&String> = rig.redis.iter().filter(|p| *p != master).collect();
    let info = rig.replication(master)?;
    ensure!(
        info_field(&info, "connected_slaves") == Some("2"),
        "{master} has not 2 replicas: {info:?}"
    );
    report.push_str(&format!("  {master:<18} master, 2 replicas online\n"));
    for replica in &replicas {
        let online = format!("ip={},port={REDIS_PORT},state=online", fqdn(rig, replica)?);
        ensure!(
            info.lines()
                .any(|l| l.starts_with("slave") && l.contains(&online)),
            "{master} does not list {replica} by DNS name as online: {info:?}"
        );
        report.push_str(&format!("  {replica:<18} replica of {master}, link up\n"));
    }
    let master_fqdn = fqdn(rig, master)?;
    for sentinel in &rig.sentinels {
        let named = rig
            .call(
                sentinel,
                SENTINEL_PORT,
                &["SENTINEL", "get-master-addr-by-name", MASTER_NAME],
            )?
            .strings()?;
        ensure!(
            named == [master_fqdn.clone(), REDIS_PORT.to_string()],
            "{sentinel} names master {named:?}, not {master_fqdn}:{REDIS_PORT}"
        );
        for (what, expected) in [
            ("replicas", replicas.clone()),
            (
                "sentinels",
                rig.sentinels.iter().filter(|s| *s != sentinel).collect(),
            ),
        ] {
            let mut seen: Vec<String> = rig
                .sentinel_view(sentinel, what)?
                .into_values()
                .map(|fields| fields.get("ip").cloned().unwrap_or_default())
                .collect();
            seen.sort();
            let mut want = expected
                .iter()
                .map(|pod| fqdn(rig, pod))
                .collect::<Result<Vec<_>>>()?;
            want.sort();
            ensure!(
                seen == want,
                "{sentinel} knows {what} {seen:?}, expected {want:?}"
            );
        }
        report.push_str(&format!(
            "  {sentinel:<18} master {master_fqdn}:{REDIS_PORT}, knows 2 Sentinels and 2 replicas\n"
        ));
    }
    Ok(report)
}
