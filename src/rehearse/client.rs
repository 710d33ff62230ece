//! Clients that behave like the applications: they find the master through Sentinel with the
//! env the rendered client patch sets (`REDIS_SENTINEL_ADDRS`, `REDIS_MASTER_NAME`,
//! `REDIS_PASSWORD`), write a numbered sequence continuously, and on any error (a refused
//! write, a closed connection) drop the connection, ask Sentinel again and reconnect. Every
//! write the master acknowledged is recorded with the time of the acknowledgement.
//!
//! Two styles ([`Style`]): the bots, which give up on a write after a second, and a
//! default-configured Sentinel client library (redis-py's `Sentinel` has no socket timeout),
//! which waits on a write until the server answers or closes the connection. A write paused
//! by `CLIENT PAUSE` keeps the second kind waiting, so its outage is the one that counts.
//!
//! Two targets ([`Target`]): the Sentinels, or one address (`REDIS_ADDR`, as the clients of a
//! single Redis have before the migration). [`Writer::switch_at`] moves a running writer from
//! one to the other at a given moment, as a rollout onto the switched env does.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, sleep};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::cluster::Dns;
use super::resp::{Conn, Reply};
use crate::profile::spec::ClientMode;
use crate::render::{clients, layout};
use crate::resolve::Deployment;

/// One write every 5 ms, as in the measurements of NOTES-rehearsal.md.
const WRITE_INTERVAL: Duration = Duration::from_millis(5);
/// Pause between two attempts to find the master, so a down deployment is not hammered.
const RETRY_INTERVAL: Duration = Duration::from_millis(20);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// How often a patient client that waits for a reply checks whether it should stop.
const PATIENT_POLL: Duration = Duration::from_millis(100);

/// How a client waits for the answer to a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// The bots: a write not answered within this is an error, and the client reconnects
    /// through Sentinel.
    Bot(Duration),
    /// A client library with its defaults (redis-py `Sentinel(...)`, `socket_timeout=None`):
    /// no deadline on a reply.
    Library,
}

impl Style {
    /// The bots' own setting.
    pub const BOT: Style = Style::Bot(Duration::from_secs(1));
}

/// What a client container gets from the rendered client patch.
#[derive(Debug, Clone)]
pub struct ClientEnv {
    /// `REDIS_SENTINEL_ADDRS`: `host:port` of every Sentinel.
    pub sentinel_addrs: Vec<(String, u16)>,
    /// `REDIS_MASTER_NAME`.
    pub master_name: String,
    /// `REDIS_PASSWORD`, from the Secret the patch refers to.
    pub password: Option<String>,
}

impl ClientEnv {
    /// The env the rendered client patch sets on the first client in `sentinel` mode (the
    /// same code that writes the patch), with the Secret's value for the password.
    pub fn of(dep: &Deployment, password: Option<&str>) -> Result<Self> {
        let client = dep
            .clients
            .iter()
            .find(|c| c.mode == ClientMode::Sentinel)
            .context("the profile names no client in sentinel mode (spec.clients)")?;
        let mut env = ClientEnv {
            sentinel_addrs: Vec::new(),
            master_name: String::new(),
            password: None,
        };
        for var in clients::client_env(dep, client).set {
            match (var.name.as_str(), var.value) {
                (clients::ENV_SENTINEL_ADDRS, Some(addrs)) => {
                    for addr in addrs.split(',') {
                        let (host, port) = addr
                            .rsplit_once(':')
                            .with_context(|| format!("{addr}: not host:port"))?;
                        let port = port.parse().with_context(|| format!("{addr}: bad port"))?;
                        env.sentinel_addrs.push((host.to_string(), port));
                    }
                }
                (clients::ENV_MASTER_NAME, Some(name)) => env.master_name = name,
                (layout::ENV_PASSWORD, _) => {
                    // From the Secret the patch names, which the rehearsal provides.
                    env.password = Some(
                        password
                            .context("the client patch reads a Secret the rehearsal lacks")?
                            .to_string(),
                    );
                }
                _ => {}
            }
        }
        if env.sentinel_addrs.is_empty() || env.master_name.is_empty() {
            bail!("the client patch sets no Sentinel addresses or no master name");
        }
        Ok(env)
    }
}

/// Where a client sends its writes.
#[derive(Debug, Clone)]
pub enum Target {
    /// The master the Sentinels name, with the env of the rendered client patch. Any error
    /// drops the connection, and the Sentinels are asked again.
    Sentinels(ClientEnv),
    /// One `host:port`, without a password (the env of a base's client has none). An error
    /// reply is retried on the same connection after the write interval: a client with one
    /// address has nowhere else to go.
    Address(String, u16),
}

/// An acknowledged write: its sequence number and when the acknowledgement arrived.
#[derive(Debug, Clone, Copy)]
pub struct Ack {
    pub seq: u64,
    pub at: Instant,
}

/// A write that was not acknowledged: when, and why (the error reply's code, such as
/// `NOREPLICAS` or `READONLY`, or [`NO_ANSWER`] / [`NO_MASTER`]).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub at: Instant,
    pub kind: String,
}

/// A write that got no reply: a timeout or a closed connection.
pub const NO_ANSWER: &str = "no answer";
/// The client found nothing to write to: no Sentinel named a master it could connect to and
/// write to, or its address did not accept the connection.
pub const NO_MASTER: &str = "no master";

/// What a stopped writer recorded.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub acks: Vec<Ack>,
    pub refusals: Vec<Refusal>,
    /// When the writer moved to the target of [`Writer::switch_at`], if it did.
    pub switched: Option<Instant>,
}

/// What the writing thread and its owner share.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    acks: Mutex<Vec<Ack>>,
    refusals: Mutex<Vec<Refusal>>,
    /// The target to move to, and from when.
    switch: Mutex<Option<(Instant, Target)>>,
    switched: Mutex<Option<Instant>>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn refused(&self, kind: &str) {
        if let Ok(mut refusals) = self.refusals.lock() {
            refusals.push(Refusal {
                at: Instant::now(),
                kind: kind.to_string(),
            });
        }
    }

    /// The target to move to, once its moment has come.
    fn due_switch(&self) -> Option<Target> {
        let mut switch = self.switch.lock().ok()?;
        if switch.as_ref().is_some_and(|(at, _)| Instant::now() >= *at) {
            return switch.take().map(|(_, target)| target);
        }
        None
    }
}

/// The writing client, running on its own thread until [`Writer::stop`].
pub struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Start writing `SADD key <seq>` through the Sentinels of `env` in `style`, resolving
    /// names through `hosts` (the cluster DNS of the emulation).
    pub fn start(env: ClientEnv, hosts: Dns, key: String, style: Style) -> Self {
        Writer::start_on(Target::Sentinels(env), hosts, key, style)
    }

    /// As [`Writer::start`], writing to `target`.
    pub fn start_on(target: Target, hosts: Dns, key: String, style: Style) -> Self {
        let shared = Arc::new(Shared::default());
        let client = Client {
            target,
            style,
            hosts,
            key,
            shared: shared.clone(),
        };
        let thread = std::thread::spawn(move || client.run());
        Writer {
            shared,
            thread: Some(thread),
        }
    }

    /// Move to `target` at `at`, as a rollout of the client onto a new env does: the
    /// connection to the old target goes, and the sequence goes on.
    pub fn switch_at(&self, target: Target, at: Instant) {
        if let Ok(mut switch) = self.shared.switch.lock() {
            *switch = Some((at, target));
        }
    }

    /// The writes refused or failed so far (a failed attempt to find the master counts once
    /// per attempt).
    pub fn refusals(&self) -> Vec<Refusal> {
        self.shared
            .refusals
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// The acknowledged writes so far.
    pub fn acks(&self) -> Vec<Ack> {
        self.shared
            .acks
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }

    /// Stop writing; every acknowledged write.
    pub fn stop(self) -> Vec<Ack> {
        self.finish().acks
    }

    /// Stop writing; everything recorded.
    pub fn finish(mut self) -> Record {
        self.halt();
        Record {
            acks: self.acks(),
            refusals: self.refusals(),
            switched: self.shared.switched.lock().ok().and_then(|s| *s),
        }
    }

    fn halt(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.halt();
    }
}

struct Client {
    target: Target,
    style: Style,
    hosts: Dns,
    key: String,
    shared: Arc<Shared>,
}

impl Client {
    fn run(mut self) {
        let mut seq = 0u64;
        let mut master: Option<Conn> = None;
        while !self.shared.stopped() {
            if let Some(target) = self.shared.due_switch() {
                // The rollout: a new pod with the new env; the old pod's connection goes.
                self.target = target;
                master = None;
                if let Ok(mut switched) = self.shared.switched.lock() {
                    *switched = Some(Instant::now());
                }
            }
            let Some(conn) = master.as_mut() else {
                master = self.connect().ok();
                if master.is_none() {
                    self.shared.refused(NO_MASTER);
                    sleep(RETRY_INTERVAL);
                }
                continue;
            };
            seq += 1;
            let write = ["SADD", self.key.as_str(), &seq.to_string()];
            let reply = match self.style {
                Style::Bot(_) => conn.call(&write),
                Style::Library => {
                    conn.call_patiently(&write, PATIENT_POLL, &|| self.shared.stopped())
                }
            };
            match reply {
                Ok(Reply::Int(_)) => {
                    let ack = Ack {
                        seq,
                        at: Instant::now(),
                    };
                    if let Ok(mut acks) = self.shared.acks.lock() {
                        acks.push(ack);
                    }
                    sleep(WRITE_INTERVAL);
                }
                Ok(Reply::Error(e)) => {
                    self.shared
                        .refused(e.split_whitespace().next().unwrap_or("ERR"));
                    match self.target {
                        // A client that keeps talking to a node that answers NOREPLICAS or
                        // READONLY never finds the new master (NOTES): drop it, ask again.
                        Target::Sentinels(_) => master = None,
                        Target::Address(..) => sleep(WRITE_INTERVAL),
                    }
                }
                _ => {
                    self.shared.refused(NO_ANSWER);
                    master = None;
                }
            }
        }
    }

    fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr> {
        let ip = match host.parse::<Ipv4Addr>() {
            Ok(ip) => ip,
            Err(_) => *self
                .hosts
                .read()
                .map_err(|_| anyhow::anyhow!("cluster DNS poisoned"))?
                .get(host)
                .with_context(|| format!("cannot resolve {host}"))?,
        };
        Ok(SocketAddr::from((ip, port)))
    }

    /// A connection to write on, with the style's deadline for replies.
    fn connect(&self) -> Result<Conn> {
        let mut conn = match &self.target {
            Target::Sentinels(env) => self.connect_to_master(env)?,
            Target::Address(host, port) => {
                Conn::open(self.resolve(host, *port)?, None, CONNECT_TIMEOUT)?
            }
        };
        if let Style::Bot(timeout) = self.style {
            conn.set_timeout(timeout)?;
        }
        Ok(conn)
    }

    /// Ask the Sentinels in order; connect to the first master one of them names, and make
    /// sure it is a master (a Sentinel that has not caught up may name a demoted one).
    fn connect_to_master(&self, env: &ClientEnv) -> Result<Conn> {
        let password = env.password.as_deref();
        for (host, port) in &env.sentinel_addrs {
            let Ok(addr) = self.resolve(host, *port) else {
                continue;
            };
            let Ok(mut sentinel) = Conn::open(addr, password, CONNECT_TIMEOUT) else {
                continue;
            };
            let Ok(reply) =
                sentinel.call(&["SENTINEL", "get-master-addr-by-name", &env.master_name])
            else {
                continue;
            };
            let Ok([master_host, master_port]) = <[String; 2]>::try_from(reply.strings()?) else {
                continue;
            };
            let addr = self.resolve(&master_host, master_port.parse()?)?;
            let mut conn = Conn::open(addr, password, CONNECT_TIMEOUT)?;
            let role = conn.call(&["ROLE"])?;
            if role.first_text().as_deref() != Some("master") {
                bail!("{master_host} is not a master");
            }
            return Ok(conn);
        }
        bail!("no Sentinel named a master")
    }
}
