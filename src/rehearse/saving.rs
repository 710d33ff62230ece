//! The master stopped while it holds a data set that takes a while to save: a situation in
//! which the old Redis process keeps running after the Sentinels named the new master.
//!
//! On SIGTERM, Redis writes its final RDB snapshot (the rendered `save` points) before it
//! exits, and it writes it in its main thread: the client connections stay open, and a write
//! paused by the hand-over's `CLIENT PAUSE WRITE` stays parked. A client library without a
//! socket timeout (redis-py's `Sentinel` at its defaults) waits on such a write until the
//! server answers or closes the connection. Unless the preStop hook closes the paused
//! connections once the Sentinels name the new master (lib.sh, `hand_over`), that client is
//! stuck until the process is gone: the whole save, after the whole hand-over (issue 9,
//! finding 5).

use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use super::resp::{Reply, info_field};
use super::rig::Rig;
use super::rollout::Events;
use crate::profile::defaults::REDIS_PORT;

/// The data set put on the master before it is stopped: 64 MiB in values of 256 KiB,
/// incompressible (RDB compresses values with LZF), about a third of the reference
/// profile's `maxmemory`. Its final save took 0.8–1.2 s on the 2-core VM of the
/// measurements, with the connections of the paused clients open all along.
pub const DATA_SET_BYTES: usize = 64 << 20;
const VALUE_BYTES: usize = 256 << 10;
const KEY_PREFIX: &str = "rehearse:data-set:";
/// How long the replicas may take to receive the data set.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the stopped pod may take to be gone (hook, save, exit).
const GONE_TIMEOUT: Duration = Duration::from_secs(180);
const POLL: Duration = Duration::from_millis(10);

/// When the stop of the master went through its steps, from the delete.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stop {
    /// A quorum of Sentinels named another master.
    pub new_master: Option<Duration>,
    /// The preStop hook was done and SIGTERM sent.
    pub sigterm: Option<Duration>,
    /// The old Redis process was gone.
    pub exited: Option<Duration>,
}

/// Write the data set on `master` and wait until every replica linked to it holds it.
pub fn fill(rig: &Rig, master: &str) -> Result<()> {
    let mut seed = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos() as u64 | 1;
    for i in 0..DATA_SET_BYTES / VALUE_BYTES {
        let value = noise(&mut seed, VALUE_BYTES);
        let key = format!("{KEY_PREFIX}{i}");
        let reply = rig.call(master, REDIS_PORT, &["SET", &key, &value])?;
        if reply != Reply::Status("OK".into()) {
            bail!("{master} answered SET {key} with {reply:?}");
        }
    }
    wait_replicas_hold(rig, master)
}

/// Remove the data set from `master` (the later scenarios start small again).
pub fn clear(rig: &Rig, master: &str) -> Result<()> {
    let keys: Vec<String> = (0..DATA_SET_BYTES / VALUE_BYTES)
        .map(|i| format!("{KEY_PREFIX}{i}"))
        .collect();
    let mut args = vec!["UNLINK"];
    args.extend(keys.iter().map(String::as_str));
    rig.call(master, REDIS_PORT, &args)?;
    Ok(())
}

/// `kubectl delete pod master`, watched: when the Sentinels name a new master, when the hook
/// is done (SIGTERM), when the process is gone. Each step also goes into `events`.
pub fn stop_watched(rig: &mut Rig, master: &str, t0: Instant, events: &mut Events) -> Result<Stop> {
    let sigterm_note = format!("===== {master}: SIGTERM =====");
    let sigterms_before = rig.cluster.log(master).matches(&sigterm_note).count();
    let deletion = rig.cluster.delete(master)?;
    let mut stop = Stop::default();
    while stop.exited.is_none() {
        if t0.elapsed() > GONE_TIMEOUT {
            bail!("{master} was not gone within {GONE_TIMEOUT:?}");
        }
        if stop.new_master.is_none()
            && let Some(named) = rig.named_master().filter(|m| m != master)
        {
            stop.new_master = Some(t0.elapsed());
            events.push((t0.elapsed(), format!("the Sentinels name {named}")));
        }
        if stop.sigterm.is_none()
            && rig.cluster.log(master).matches(&sigterm_note).count() > sigterms_before
        {
            stop.sigterm = Some(t0.elapsed());
            events.push((t0.elapsed(), format!("{master}: preStop done, SIGTERM")));
        }
        if deletion.is_done() {
            stop.exited = Some(t0.elapsed());
            events.push((t0.elapsed(), format!("{master}: old Redis gone")));
        }
        sleep(POLL);
    }
    deletion.wait();
    Ok(stop)
}

/// Poll until every replica linked to `master` holds its replication offset.
fn wait_replicas_hold(rig: &Rig, master: &str) -> Result<()> {
    let deadline = Instant::now() + SYNC_TIMEOUT;
    loop {
        let info = rig.replication(master)?;
        let target: u64 = info_field(&info, "master_repl_offset")
            .context("no master_repl_offset")?
            .parse()?;
        let replicas: Vec<String> = info
            .lines()
            .filter(|l| l.starts_with("slave") && l.contains("state=online"))
            .filter_map(|l| l.split("ip=").nth(1)?.split(',').next())
            .filter_map(|host| rig.pod_of(host))
            .collect();
        let behind = replicas.iter().any(|r| {
            rig.replication(r)
                .ok()
                .and_then(|i| info_field(&i, "slave_repl_offset")?.parse::<u64>().ok())
                .is_none_or(|o| o < target)
        });
        if !replicas.is_empty() && !behind {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the replicas of {master} did not take the data set within {SYNC_TIMEOUT:?}");
        }
        sleep(Duration::from_millis(100));
    }
}

/// `len` characters that LZF cannot shorten (64 symbols, xorshift).
fn noise(state: &mut u64, len: usize) -> String {
    const SYMBOLS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let mut bits = *state;
        for _ in 0..10 {
            out.push(SYMBOLS[(bits & 63) as usize] as char);
            bits >>= 6;
        }
    }
    out.truncate(len);
    out
}
