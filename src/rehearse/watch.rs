//! Watching every Redis pod while a scenario runs: what each one is, many times a second,
//! so that the report can say whether there was exactly one master at every moment and how
//! many Redis pods were down at once, and the timeline can show who was master when.
//!
//! One thread per pod, so a pod that does not answer delays only its own observations.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::{JoinHandle, sleep};
use std::time::{Duration, Instant};

use super::cluster::Dns;
use super::resp::{Conn, Reply, info_field};
use crate::profile::defaults::REDIS_PORT;

/// Time between two observations of one pod.
const INTERVAL: Duration = Duration::from_millis(50);
/// An `INFO` not answered within this counts as a pod that is down.
const INFO_TIMEOUT: Duration = Duration::from_secs(1);
/// A `PUBLISH` to a master not answered within this means its writes are paused (`CLIENT
/// PAUSE … WRITE` holds `PUBLISH` too). `PUBLISH` changes no data, and a command still
/// held when its connection closes is dropped unexecuted ([`writable_probe`]).
const PAUSE_PROBE_TIMEOUT: Duration = Duration::from_millis(250);
/// The grid on which the pods' observations are compared ([`Watch::at`]).
pub const GRID: Duration = Duration::from_millis(100);
/// An observation older than this at a grid point says nothing about it.
const STALE: Duration = Duration::from_millis(1500);

/// The passwords a watcher may authenticate with, first choice first; shared, so that a
/// password rotation can add the new one while the watch runs.
pub type Passwords = Arc<RwLock<Vec<String>>>;

/// What a Redis pod was at one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not answering, or answering `LOADING`.
    Down,
    /// A replica that has not finished a sync since it started: it has no data set to
    /// serve yet (its full resync is still running).
    Syncing,
    /// A replica with a data set (its link may be switching to a new master).
    Replica,
    /// `role:master`, writes accepted (or refused for lack of replicas).
    Master,
    /// `role:master` with writes paused: a master handing over.
    Paused,
}

impl State {
    pub fn is_down(self) -> bool {
        matches!(self, State::Down | State::Syncing)
    }
}

/// One observation of one pod.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub state: State,
}

/// Every observation of every Redis pod, by pod.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    pub pods: BTreeMap<String, Vec<Seen>>,
}

impl Watch {
    /// Each pod's state at `t`: its last observation at or before `t`, if recent enough.
    pub fn at(&self, t: Instant) -> BTreeMap<&str, State> {
        self.pods
            .iter()
            .filter_map(|(pod, seen)| {
                let i = seen.partition_point(|s| s.at <= t);
                let last = seen.get(i.checked_sub(1)?)?;
                (t.duration_since(last.at) <= STALE).then_some((pod.as_str(), last.state))
            })
            .collect()
    }

    /// Grid points from `from` to `to`, every [`GRID`].
    pub fn grid(from: Instant, to: Instant) -> impl Iterator<Item = Instant> {
        std::iter::successors(Some(from), |t| Some(*t + GRID)).take_while(move |t| *t <= to)
    }

    /// The master at `t`: the pod that reports `role:master` and is not paused, when there
    /// is exactly one.
    pub fn master_at(&self, t: Instant) -> Option<String> {
        let states = self.at(t);
        let masters: Vec<&&str> = states
            .iter()
            .filter(|(_, s)| **s == State::Master)
            .map(|(p, _)| p)
            .collect();
        match masters.as_slice() {
            [one] => Some((**one).to_string()),
            _ => None,
        }
    }

    /// What breaks "exactly one master" and "at most one Redis pod down" between `from`
    /// and `to`, one line per kind of breach with its first time and how many grid points.
    /// A master handing over (paused) next to its successor is one master: it can
    /// acknowledge nothing.
    pub fn breaches(&self, from: Instant, to: Instant) -> Vec<String> {
        self.breaches_of(from, to, true)
    }

    /// What breaks "exactly one master" between `from` and `to`, as [`Watch::breaches`]
    /// words it; Redis pods down are not counted (a scaled-down pod is down for good).
    pub fn master_breaches(&self, from: Instant, to: Instant) -> Vec<String> {
        self.breaches_of(from, to, false)
    }

    fn breaches_of(&self, from: Instant, to: Instant, count_down: bool) -> Vec<String> {
        let mut found: BTreeMap<String, (Duration, usize)> = BTreeMap::new();
        let mut note = |what: String, t: Instant| {
            found.entry(what).or_insert((t - from, 0)).1 += 1;
        };
        for t in Self::grid(from, to) {
            let states = self.at(t);
            let writable = states.values().filter(|s| **s == State::Master).count();
            let paused = states.values().filter(|s| **s == State::Paused).count();
            if writable > 1 {
                note(format!("{writable} writable masters"), t);
            }
            if writable + paused == 0 {
                note("no master".into(), t);
            }
            let down: Vec<&str> = states
                .iter()
                .filter(|(_, s)| s.is_down())
                .map(|(p, _)| *p)
                .collect();
            if count_down && down.len() > 1 {
                note(format!("{} Redis pods down at once", down.len()), t);
            }
        }
        found
            .into_iter()
            .map(|(what, (first, n))| {
                format!("{what} at {n} samples from {:.2} s", first.as_secs_f64())
            })
            .collect()
    }

    /// How often the master changed between `from` and `to` (a master followed by a
    /// different one, gaps without one in between ignored).
    pub fn master_changes(&self, from: Instant, to: Instant) -> usize {
        let mut last: Option<String> = None;
        let mut changes = 0;
        for t in Self::grid(from, to) {
            if let Some(m) = self.master_at(t) {
                if last.as_ref().is_some_and(|l| *l != m) {
                    changes += 1;
                }
                last = Some(m);
            }
        }
        changes
    }
}

/// The watching threads, one per Redis pod, until [`Watcher::stop`].
pub struct Watcher {
    stop: Arc<AtomicBool>,
    threads: Vec<(String, JoinHandle<Vec<Seen>>)>,
}

impl Watcher {
    /// Watch `pods` (found through cluster DNS, which follows a pod to its new address).
    pub fn start(pods: &[String], dns: Dns, password: Option<String>) -> Self {
        Self::start_with(
            pods,
            dns,
            Arc::new(RwLock::new(password.into_iter().collect())),
        )
    }

    /// As [`Watcher::start`], authenticating with the first of `passwords` (as they are at
    /// each connection) that a pod accepts.
    pub fn start_with(pods: &[String], dns: Dns, passwords: Passwords) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = pods
            .iter()
            .map(|pod| {
                let (pod2, dns, passwords, stop) =
                    (pod.clone(), dns.clone(), passwords.clone(), stop.clone());
                let thread = std::thread::spawn(move || watch_pod(&pod2, &dns, &passwords, &stop));
                (pod.clone(), thread)
            })
            .collect();
        Watcher { stop, threads }
    }

    pub fn stop(self) -> Watch {
        self.stop.store(true, Ordering::Relaxed);
        let pods = self
            .threads
            .into_iter()
            .map(|(pod, thread)| (pod, thread.join().unwrap_or_default()))
            .collect();
        Watch { pods }
    }
}

fn watch_pod(pod: &str, dns: &Dns, passwords: &Passwords, stop: &AtomicBool) -> Vec<Seen> {
    let open = |addr: SocketAddr| {
        let passwords = passwords.read().map(|p| p.clone()).unwrap_or_default();
        Conn::open_any(addr, &passwords, INFO_TIMEOUT)
    };
    let mut seen = Vec::new();
    let mut conn: Option<(SocketAddr, Conn)> = None;
    // Whether this incarnation of the pod (this address) has held a data set yet.
    let mut synced: Option<SocketAddr> = None;
    while !stop.load(Ordering::Relaxed) {
        // Stamped with the moment the observation began: a paused master takes the whole
        // probe timeout to show it, but it was paused when the probe was sent.
        let at = Instant::now();
        let addr = dns
            .read()
            .ok()
            .and_then(|table| table.get(pod).copied())
            .map(|ip| SocketAddr::from((ip, REDIS_PORT)));
        let state = match addr {
            None => State::Down,
            Some(addr) => {
                if conn.as_ref().is_none_or(|(a, _)| *a != addr) {
                    conn = open(addr).ok().map(|c| (addr, c));
                }
                let reused = conn.is_some();
                let mut state = conn
                    .as_mut()
                    .map_or(State::Down, |(_, c)| observe(c, addr, &mut synced));
                if state == State::Down && reused {
                    // Sentinel closes every client connection of a node it reconfigures
                    // (CLIENT KILL TYPE normal): a closed connection is not a pod down.
                    conn = open(addr).ok().map(|c| (addr, c));
                    state = conn
                        .as_mut()
                        .map_or(State::Down, |(_, c)| observe(c, addr, &mut synced));
                }
                if state == State::Down || state == State::Paused {
                    // A timed-out connection is out of step with its replies.
                    conn = None;
                }
                state
            }
        };
        seen.push(Seen { at, state });
        sleep(INTERVAL);
    }
    seen
}

fn observe(conn: &mut Conn, addr: SocketAddr, synced: &mut Option<SocketAddr>) -> State {
    let Ok(Reply::Bulk(Some(info))) = conn.call(&["INFO", "replication"]) else {
        return State::Down;
    };
    match info_field(&info, "role") {
        Some("master") => {
            *synced = Some(addr);
            if conn.set_timeout(PAUSE_PROBE_TIMEOUT).is_err() {
                return State::Down;
            }
            let probe = writable_probe(conn);
            let _ = conn.set_timeout(INFO_TIMEOUT);
            match probe {
                Some(true) => State::Master,
                // Held until the timeout, or held and then answered by a replica: a master
                // demoted while its writes were paused (a hand-over), which acknowledged
                // nothing in between.
                Some(false) | None => State::Paused,
            }
        }
        Some("slave") => {
            let linked = info_field(&info, "master_link_status") == Some("up");
            if linked {
                *synced = Some(addr);
            }
            if *synced == Some(addr) {
                State::Replica
            } else {
                State::Syncing
            }
        }
        _ => State::Down,
    }
}

/// Whether a master takes a write now: `Some(true)` when a `PUBLISH` goes through while the
/// pod is a master, `Some(false)` when it went through on a replica, `None` when it was held
/// past the timeout. `PUBLISH` and `ROLE` run as one transaction (`CLIENT PAUSE … WRITE` holds
/// the whole `EXEC`): a hand-over demotes its paused master and then lifts the pause, and a
/// `PUBLISH` held until then goes through on what is a replica by then; read against the
/// `INFO` taken before, it made a replica look like a second writable master.
fn writable_probe(conn: &mut Conn) -> Option<bool> {
    for queued in [
        &["MULTI"][..],
        &["PUBLISH", "rehearse:watch", "probe"],
        &["ROLE"],
    ] {
        match conn.call(queued) {
            Ok(Reply::Status(_)) => {}
            _ => return None,
        }
    }
    let Ok(Reply::Array(Some(replies))) = conn.call(&["EXEC"]) else {
        return None;
    };
    match replies.as_slice() {
        [Reply::Int(_), role] => Some(role.first_text().as_deref() == Some("master")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(start: Instant, pods: &[(&str, &[(u64, State)])]) -> Watch {
        Watch {
            pods: pods
                .iter()
                .map(|(pod, seen)| {
                    let seen = seen
                        .iter()
                        .map(|(ms, state)| Seen {
                            at: start + Duration::from_millis(*ms),
                            state: *state,
                        })
                        .collect();
                    (pod.to_string(), seen)
                })
                .collect(),
        }
    }

    #[test]
    fn a_paused_master_and_its_successor_are_one_master() {
        let t0 = Instant::now();
        let w = watch(
            t0,
            &[
                (
                    "a",
                    &[
                        (0, State::Master),
                        (500, State::Paused),
                        (1200, State::Down),
                    ],
                ),
                ("b", &[(0, State::Replica), (900, State::Master)]),
                ("c", &[(0, State::Replica)]),
            ],
        );
        let end = t0 + Duration::from_millis(1400);
        assert!(w.breaches(t0, end).is_empty(), "{:?}", w.breaches(t0, end));
        assert_eq!(w.master_changes(t0, end), 1);
    }

    #[test]
    fn two_writable_masters_none_and_two_pods_down_are_breaches() {
        let t0 = Instant::now();
        let w = watch(
            t0,
            &[
                ("a", &[(0, State::Master), (300, State::Down)]),
                (
                    "b",
                    &[
                        (0, State::Replica),
                        (200, State::Master),
                        (600, State::Down),
                    ],
                ),
                ("c", &[(0, State::Replica), (500, State::Syncing)]),
            ],
        );
        let breaches = w.breaches(t0, t0 + Duration::from_millis(800));
        assert_eq!(
            breaches,
            [
                "2 Redis pods down at once at 1 samples from 0.50 s",
                "2 writable masters at 1 samples from 0.20 s",
                "3 Redis pods down at once at 3 samples from 0.60 s",
                "no master at 3 samples from 0.60 s",
            ]
        );
    }
}
