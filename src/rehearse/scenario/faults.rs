//! The harder cases' set-up: a lagging replica, a replica Sentinel prefers, a raw
//! `SENTINEL FAILOVER`, writes straight to the old master.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::super::resp::{Conn, Reply};
use super::super::rig::Rig;
use crate::profile::defaults::{REDIS_PORT, SENTINEL_PORT};

/// How long a lagging replica's replication is held back (`CLIENT PAUSE … WRITE` on the
/// replica postpones the stream from its master, NOTES), and how long before the hand-over
/// that starts: the writes of that head start are on the master and the other replicas only.
const LAG: Duration = Duration::from_secs(2);
const LAG_HEAD_START: Duration = Duration::from_millis(300);
/// Sentinel publishes a hello on every instance every 2 s and pings it every second.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// `replica-priority` that makes the lagging replica the one Sentinel prefers (lower wins;
/// the rendered default is 100), so the scenario is the bad case, not a coin toss.
const PREFERRED_PRIORITY: &str = "50";
pub(super) const DEFAULT_PRIORITY: &str = "100";
/// How long every Sentinel may take to see a changed priority (INFO every 10 s).
const PRIORITY_SEEN_TIMEOUT: Duration = Duration::from_secs(25);
/// How long writes go straight to the old master's address after `failover-redis.sh`
/// reported success.
const DIRECT_WRITES: Duration = Duration::from_millis(1500);
/// A direct write still waiting this long after the probe ended is given up on.
const DIRECT_WRITE_PATIENCE: Duration = Duration::from_secs(5);

/// Wait until every running Sentinel has read every replica's role since it last changed
/// (`role-reported` is `slave`). A Sentinel that still holds an older `INFO` in which a
/// replica was master takes that replica's promotion for a stray master and converts it
/// back (`+convert-to-slave`), and the failover aborts: a real race, but one of scenarios
/// run seconds apart, which a raw failover has no hand-over to absorb.
pub(super) fn wait_roles_seen(rig: &mut Rig) -> Result<()> {
    let deadline = Instant::now() + PRIORITY_SEEN_TIMEOUT;
    for sentinel in rig.running(&rig.sentinels.clone()) {
        loop {
            let view = rig.sentinel_view(&sentinel, "replicas").unwrap_or_default();
            if !view.is_empty()
                && view
                    .values()
                    .all(|f| f.get("role-reported").map(String::as_str) == Some("slave"))
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("{sentinel} still sees a replica as master: {view:?}");
            }
            sleep(Duration::from_millis(200));
        }
    }
    Ok(())
}

/// `SENTINEL FAILOVER` sent to the first Sentinel, as the tutorials say.
pub(super) fn raw_failover(rig: &Rig) -> Result<()> {
    let sentinel = rig.sentinels.first().context("no Sentinel")?;
    let reply = rig.call(
        sentinel,
        SENTINEL_PORT,
        &["SENTINEL", "FAILOVER", &rig.master_name],
    )?;
    if reply != Reply::Status("OK".into()) {
        bail!("{sentinel} answered SENTINEL FAILOVER with {reply:?}");
    }
    Ok(())
}

/// Make one replica of `master` the one Sentinel prefers (a lower `replica-priority`; every
/// other replica back at the rendered default, whatever an earlier scenario left there) and
/// wait until every running Sentinel sees exactly that; the replica. A second replica left
/// at the preferred priority would tie, and Sentinel would break the tie by replication
/// offset, not by the scenario's choice.
pub(super) fn prefer_a_replica(rig: &mut Rig, master: &str) -> Result<String> {
    let replicas: Vec<String> = rig
        .running(&rig.redis.clone())
        .into_iter()
        .filter(|p| p != master)
        .collect();
    let replica = replicas.first().context("no replica")?.clone();
    let wanted = |pod: &str| {
        if pod == replica {
            PREFERRED_PRIORITY
        } else {
            DEFAULT_PRIORITY
        }
    };
    for pod in &replicas {
        rig.call(
            pod,
            REDIS_PORT,
            &["CONFIG", "SET", "replica-priority", wanted(pod)],
        )?;
    }
    let deadline = Instant::now() + PRIORITY_SEEN_TIMEOUT;
    for sentinel in rig.running(&rig.sentinels.clone()) {
        loop {
            let view = rig.sentinel_view(&sentinel, "replicas").unwrap_or_default();
            let differs: Vec<String> = replicas
                .iter()
                .filter_map(|pod| {
                    let seen = view.get(pod).and_then(|f| f.get("slave-priority"));
                    (seen.map(String::as_str) != Some(wanted(pod)))
                        .then(|| format!("{pod} at {}", seen.map_or("-", String::as_str)))
                })
                .collect();
            if differs.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{sentinel} does not see replica-priority {PREFERRED_PRIORITY} on {replica} \
                     and {DEFAULT_PRIORITY} on the others: it sees {}",
                    differs.join(", ")
                );
            }
            sleep(Duration::from_millis(200));
        }
    }
    Ok(replica)
}

/// Hold back `replica`'s replication for [`LAG`] and let the master run ahead of it for
/// [`LAG_HEAD_START`]; it still looks online to its master all along.
///
/// The pause also holds the next hello a Sentinel PUBLISHes on the replica, and with it
/// every later command on that Sentinel's link (`INFO`, `REPLICAOF NO ONE`): a promotion
/// would wait for the replica to catch up, which is the lucky case. A replica that lags
/// because its stream is stuck on the way still answers Sentinel at once, so the pause starts
/// right after the Sentinel the hand-over asks (the first) published its hello on this
/// replica; its next one comes 2 s later. (Watching the hello channel would not do: hellos
/// published on the master reach the replica's subscribers too, through replication.)
pub(super) fn hold_back(rig: &Rig, replica: &str) -> Result<()> {
    let leader = rig.sentinels.first().context("no Sentinel")?;
    let leader_addr = format!(" addr={}:", rig.cluster.pod(leader)?.ip);
    let deadline = Instant::now() + HELLO_TIMEOUT;
    let mut last_command: Option<String> = None;
    loop {
        let clients = rig
            .call(replica, REDIS_PORT, &["CLIENT", "LIST", "TYPE", "normal"])?
            .text()?;
        // The last command the leader sent on its command link to this replica.
        let command = clients
            .lines()
            .find(|l| l.contains(&leader_addr) && l.contains("-cmd "))
            .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("cmd=")))
            .map(str::to_string);
        if command.as_deref() == Some("publish")
            && last_command.as_deref().is_some_and(|c| c != "publish")
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("{leader} published no hello on {replica} within {HELLO_TIMEOUT:?}");
        }
        last_command = command.or(last_command);
        sleep(Duration::from_millis(10));
    }
    let ms = LAG.as_millis().to_string();
    rig.call(replica, REDIS_PORT, &["CLIENT", "PAUSE", &ms, "WRITE"])?
        .text()
        .with_context(|| format!("CLIENT PAUSE on {replica}"))?;
    sleep(LAG_HEAD_START);
    Ok(())
}

/// Writes straight to `old_master`'s address for [`DIRECT_WRITES`], as a client with the
/// address configured (or one that asked a Sentinel that has not caught up) sends them; how
/// many were acknowledged. Each waits for its reply like a client library without a socket
/// timeout, so a write parked in a pause and executed later is counted too.
pub(super) fn write_directly(rig: &Rig, old_master: &str) -> Result<usize> {
    let addr = std::net::SocketAddr::from((rig.cluster.pod(old_master)?.ip, REDIS_PORT));
    let start = Instant::now();
    let give_up = || start.elapsed() > DIRECT_WRITES + DIRECT_WRITE_PATIENCE;
    let mut acked = 0;
    let mut conn: Option<Conn> = None;
    let mut seq = 0u64;
    while start.elapsed() < DIRECT_WRITES {
        let Some(c) = conn.as_mut() else {
            conn = Conn::open(addr, rig.password.as_deref(), Duration::from_millis(300)).ok();
            sleep(Duration::from_millis(5));
            continue;
        };
        seq += 1;
        let write = ["SADD", "rehearse:direct", &seq.to_string()];
        match c.call_patiently(&write, Duration::from_millis(100), &give_up) {
            Ok(Reply::Int(_)) => acked += 1,
            Ok(_) => {}
            Err(_) => conn = None,
        }
        sleep(Duration::from_millis(5));
    }
    Ok(acked)
}
