//! The rehearsal's watch (`rehearse::watch`) against a real Redis: what it reports for a
//! master whose writes are paused and that is then demoted, the moment a hand-over makes.
//!
//! The watch calls a pod writable when it reports `role:master` and a `PUBLISH` goes through
//! (a paused master holds it). A hand-over demotes the paused master and then lifts the pause
//! (Sentinel's reconfiguration script does); a `PUBLISH` held until then goes through on a
//! replica. Read together with the `INFO` taken before the pause was lifted, that made a
//! replica look like a second writable master (CI, stop 19: "2 writable masters at 2
//! samples" in `rehearse_changes::sentinel_replicas_up_and_down`, with no write lost).
//!
//! Loopback addresses 127.0.9.1–2 belong to this test.

use crate::support;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::thread::sleep;
use std::time::{Duration, Instant};

use redis_sentinel_gen::profile::defaults::REDIS_PORT;
use redis_sentinel_gen::rehearse::resp::{Conn, Reply};
use redis_sentinel_gen::rehearse::watch::{State, Watch, Watcher};

const WATCHED: Ipv4Addr = Ipv4Addr::new(127, 0, 9, 1);
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 9, 2);
/// Hand-overs acted out; the watch's probe is waiting on the pause for most of each cycle,
/// so nearly every round meets it there.
const ROUNDS: u32 = 8;
/// How long after the pause an observation that began before it has ended: the watch looks
/// every 50 ms, and an observation of a master that is not paused takes a few.
const SETTLED: Duration = Duration::from_millis(100);

/// redis-server processes killed when the test ends, also on panic.
struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start(servers: &mut Servers, redis: &std::path::Path, dir: &std::path::Path, ip: Ipv4Addr) {
    let data = dir.join(ip.to_string());
    std::fs::create_dir_all(&data).expect("data dir");
    let child = Command::new(redis)
        .args(["--bind", &ip.to_string(), "--port", &REDIS_PORT.to_string()])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    servers.0.push(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((ip, REDIS_PORT)).is_err() {
        assert!(
            Instant::now() < deadline,
            "redis-server on {ip} does not listen"
        );
        sleep(Duration::from_millis(20));
    }
}

fn ok(conn: &mut Conn, args: &[&str]) {
    match conn.call(args) {
        Ok(Reply::Status(s)) if s == "OK" => {}
        other => panic!("{args:?}: {other:?}"),
    }
}

/// A master paused and then demoted, as a hand-over does it, is never seen as a writable
/// master from the moment of its pause on: it acknowledges nothing from then on.
#[test]
fn a_paused_master_demoted_and_released_is_never_seen_writable() {
    let Some(redis) = support::require_tool("redis-server") else {
        return;
    };
    let _turn = support::real_redis_turn();
    let _lock = support::address_lock("watch");
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut servers = Servers(Vec::new());
    start(&mut servers, &redis, &dir, WATCHED);
    start(&mut servers, &redis, &dir, OTHER);

    let dns = Arc::new(RwLock::new(BTreeMap::from([("a".to_string(), WATCHED)])));
    let watcher = Watcher::start(&["a".to_string()], dns, None);
    let addr = SocketAddr::from((WATCHED, REDIS_PORT));
    let mut admin = Conn::open(addr, None, Duration::from_secs(5)).expect("connect");
    let other = OTHER.to_string();
    let port = REDIS_PORT.to_string();
    // (writable from, paused from, replica from) of each round.
    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        let writable = Instant::now();
        ok(&mut admin, &["REPLICAOF", "NO", "ONE"]);
        sleep(Duration::from_millis(400));
        ok(&mut admin, &["CLIENT", "PAUSE", "10000", "WRITE"]);
        let paused = Instant::now();
        // A different moment of the watch's cycle each round.
        sleep(Duration::from_millis(120 + 23 * u64::from(round)));
        // The hand-over's end: a replica of the new master, then the pause lifted.
        ok(&mut admin, &["REPLICAOF", &other, &port]);
        ok(&mut admin, &["CLIENT", "UNPAUSE"]);
        let replica = Instant::now();
        sleep(Duration::from_millis(400));
        rounds.push((writable, paused, replica));
    }
    let watch = watcher.stop();
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);

    let seen = &watch.pods["a"];
    let mut wrong = Vec::new();
    for (i, (writable, paused, replica)) in rounds.iter().enumerate() {
        let next = rounds.get(i + 1).map(|r| r.0);
        let stamped = |from: Instant, to: Option<Instant>| -> Vec<State> {
            seen.iter()
                .filter(|s| s.at >= from && to.is_none_or(|to| s.at < to))
                .map(|s| s.state)
                .collect()
        };
        // The watch works: it saw the master writable before the pause, and a replica after.
        let before = stamped(*writable, Some(*paused));
        assert!(
            before.contains(&State::Master),
            "round {i}: never seen writable before the pause: {before:?}"
        );
        let after = stamped(*replica, next);
        assert!(
            after.contains(&State::Replica),
            "round {i}: never seen as a replica: {after:?}"
        );
        // What the watch says about the pause, from the moment an observation begun before
        // it has had time to end: paused, and never writable. An observation is stamped with
        // the moment it began, and stands until the next.
        let held: Vec<State> = Watch::grid(*paused + SETTLED, *replica)
            .filter_map(|t| watch.at(t).get("a").copied())
            .collect();
        assert!(
            held.contains(&State::Paused) || held.contains(&State::Master),
            "round {i}: no observation stands for the pause: {held:?}"
        );
        if held.contains(&State::Master) {
            wrong.push(format!("round {i}: {held:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "a paused, then demoted master was seen writable after its pause:\n{}",
        wrong.join("\n")
    );
}
