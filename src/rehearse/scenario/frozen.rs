//! A stopping replica promoted, made certain: the Sentinel asked to fail over still goes by
//! the `replica-priority` it read before the replica's preStop hook lowered it to 0.
//!
//! Left to chance, this is rarely rehearsed: once a failover is in progress a Sentinel reads
//! every replica's `INFO` once a second (`sentinel.c`, `sentinelSendPeriodicCommands`), so
//! on the tick after `SENTINEL FAILOVER` it asks again any replica it last read more than a
//! second before, and it selects the replica one tick later (`sentinelSelectSlave` skips
//! priority 0). The hook lowers the priority in its first few milliseconds; only a failover
//! less than a second after that Sentinel's last `INFO` (every 10 s otherwise) promoted it.
//! In production the other order is just as real (the master's hand-over starts while the
//! replica's hook runs, and an `INFO` in flight was answered before the hook's
//! `CONFIG SET`), so the harness holds back that Sentinel's reads instead of waiting for luck.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::super::resp::Reply;
use super::super::rig::Rig;
use super::super::rollout;
use crate::profile::defaults::{REDIS_PORT, SENTINEL_PORT};

/// Sentinel PUBLISHes its hello on every instance every 2 s, on a timer tick (10–19 a
/// second).
const HELLO_WAIT: Duration = Duration::from_millis(2500);
/// A Sentinel closes a link on which a PING has waited half of down-after-milliseconds, and
/// a replica behind a closed link is no candidate: the link is released this much earlier.
const LINK_MARGIN: Duration = Duration::from_millis(500);
/// What lib.sh's `wait_until_leaving_is_safe` logs when the way is clear; the hook's next
/// step is the `INFO` that tells it whether it is still a replica.
const HOOK_MAY_LEAVE: &str = "staying; leaving";
/// From that line to the end of that `INFO` (one `redis-cli` call). The promotion must land
/// after it and before the hook looks again, a second later. Shorter than [`LINK_MARGIN`].
const ROLE_READ: Duration = Duration::from_millis(300);
const POLL: Duration = Duration::from_millis(10);

/// Stop `replica` (the one Sentinel prefers) and have the first Sentinel fail over while the
/// replica's preStop hook runs, with that Sentinel's view of the replica frozen from before
/// the hook: the hook lowers the priority to 0, the Sentinel selects the replica by the
/// priority it last read, and the promotion reaches the replica once the hook has found
/// itself a replica and waits. Returns when the pod is gone: the moment its stop began, and
/// whether the failover went as staged.
pub(super) fn stop_promoted(
    rig: &mut Rig,
    replica: &str,
    events: &mut rollout::Events,
) -> Result<(Instant, Result<()>)> {
    let leader = rig.sentinels.first().context("no Sentinel")?.clone();
    let down_after = rig
        .sentinel_master_record(&leader)?
        .remove("down-after-milliseconds")
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .context("SENTINEL MASTER without down-after-milliseconds")?;
    let hold = (down_after / 2).saturating_sub(LINK_MARGIN);
    // The pause's own end, should the harness not lift it.
    let pause = HELLO_WAIT + hold + LINK_MARGIN;
    rig.call(
        replica,
        REDIS_PORT,
        &["CLIENT", "PAUSE", &pause.as_millis().to_string(), "WRITE"],
    )?
    .text()
    .with_context(|| format!("CLIENT PAUSE on {replica}"))?;
    let frozen = match wait_link_stalled(rig, &leader, replica) {
        Ok(at) => at,
        Err(e) => {
            let _ = unpause(rig, replica);
            return Err(e);
        }
    };
    let t0 = Instant::now();
    let deletion = rig.cluster.delete(replica)?;
    let staged = stage(rig, &leader, replica, frozen + hold, t0, events);
    let released = unpause(rig, replica);
    events.push((
        t0.elapsed(),
        format!(
            "{leader}'s link to {replica} released after {} ms",
            frozen.elapsed().as_millis()
        ),
    ));
    deletion.wait();
    let staged = staged.and(released);
    Ok((t0, staged))
}

/// Wait until `sentinel`'s command link to `replica` is stalled: its hello PUBLISH waits in
/// the replica's `CLIENT PAUSE … WRITE`, and every command it sends there after it (`PING`,
/// `INFO`, the promotion) queues behind. Clients that only read or configure, such as the
/// hook's `INFO` and `CONFIG SET`, go on. The moment it was seen stalled.
fn wait_link_stalled(rig: &Rig, sentinel: &str, replica: &str) -> Result<Instant> {
    let addr = format!(" addr={}:", rig.cluster.pod(sentinel)?.ip);
    let deadline = Instant::now() + HELLO_WAIT;
    loop {
        let clients = rig
            .call(replica, REDIS_PORT, &["CLIENT", "LIST", "TYPE", "normal"])?
            .text()?;
        let stalled = clients
            .lines()
            .find(|l| l.contains(&addr) && l.contains("-cmd "))
            .is_some_and(|l| {
                field(l, "cmd") == Some("publish")
                    && field(l, "flags").is_some_and(|f| f.contains('b'))
            });
        if stalled {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!("{sentinel} published no hello on {replica} within {HELLO_WAIT:?}");
        }
        sleep(POLL);
    }
}

/// The failover, staged while `replica`'s hook runs and `leader`'s view of it stays frozen
/// (until `release_by` at the latest).
fn stage(
    rig: &Rig,
    leader: &str,
    replica: &str,
    release_by: Instant,
    t0: Instant,
    events: &mut rollout::Events,
) -> Result<()> {
    let late = |what: &str| -> Result<()> {
        if Instant::now() > release_by {
            bail!(
                "{what} too late: {leader}'s link to {replica} must be released before {leader} closes it"
            );
        }
        Ok(())
    };
    // The hook has taken the replica out of Sentinel's choice (lib.sh, first thing).
    loop {
        let priority = rig
            .call(replica, REDIS_PORT, &["CONFIG", "GET", "replica-priority"])?
            .strings()?;
        if priority.get(1).map(String::as_str) == Some("0") {
            break;
        }
        late("the hook's replica-priority 0")?;
        sleep(POLL);
    }
    events.push((
        t0.elapsed(),
        format!("{replica}'s hook set replica-priority 0"),
    ));
    let reply = rig.call(
        leader,
        SENTINEL_PORT,
        &["SENTINEL", "FAILOVER", &rig.master_name],
    )?;
    if reply != Reply::Status("OK".into()) {
        bail!("{leader} answered SENTINEL FAILOVER with {reply:?}");
    }
    events.push((t0.elapsed(), format!("SENTINEL FAILOVER to {leader}")));
    loop {
        let state = rig.sentinel_master_record(leader)?.remove("failover-state");
        match state.as_deref() {
            Some("wait_start" | "select_slave") => {}
            Some(_) => break,
            None => bail!("{leader}'s failover ended before it selected a replica"),
        }
        late("the selection")?;
        sleep(POLL);
    }
    let view = rig.sentinel_view(leader, "replicas")?;
    let selected = view
        .iter()
        .find(|(_, f)| f.get("flags").is_some_and(|f| f.contains("promoted")))
        .map(|(pod, _)| pod.clone())
        .with_context(|| format!("{leader} flags no replica as promoted"))?;
    if selected != replica {
        bail!(
            "{leader} selected {selected}, not {replica}, with its view of {replica} frozen; \
             its master: {}; its replicas: {}",
            describe(&rig.sentinel_master_record(leader)?),
            rig.sentinel_records(leader, "replicas")?
                .iter()
                .map(|fields| format!("[{}]", describe(fields)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let priority = view
        .get(replica)
        .and_then(|f| f.get("slave-priority"))
        .cloned()
        .unwrap_or_default();
    events.push((
        t0.elapsed(),
        format!("{leader} selected {replica} (replica-priority {priority}, as it last read)"),
    ));
    while !rig.cluster.exec_output(replica).contains(HOOK_MAY_LEAVE) {
        late("the hook's role check")?;
        sleep(POLL);
    }
    sleep(ROLE_READ);
    Ok(())
}

/// `CLIENT UNPAUSE` on `replica`. The commands it releases may include the Sentinel's
/// promotion, which closes every normal client (`CLIENT KILL TYPE normal`), possibly before
/// the answer is written: then once more, on a new connection.
fn unpause(rig: &Rig, replica: &str) -> Result<()> {
    let unpause = || {
        rig.call(replica, REDIS_PORT, &["CLIENT", "UNPAUSE"])?
            .text()
            .map(drop)
    };
    unpause()
        .or_else(|_| unpause())
        .with_context(|| format!("CLIENT UNPAUSE on {replica}"))
}

/// The value of `name=` in a `CLIENT LIST` line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
}

/// The fields of a Sentinel's record that decide a selection, for an error message.
fn describe(fields: &std::collections::BTreeMap<String, String>) -> String {
    const KEYS: [&str; 9] = [
        "ip",
        "flags",
        "role-reported",
        "slave-priority",
        "slave-repl-offset",
        "info-refresh",
        "last-ok-ping-reply",
        "failover-state",
        "master-host",
    ];
    KEYS.iter()
        .filter_map(|k| Some(format!("{k}={}", fields.get(*k)?)))
        .collect::<Vec<_>>()
        .join(" ")
}
