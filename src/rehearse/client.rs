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
/// No Sentinel named a master the client could connect to and write to.
pub const NO_MASTER: &str = "no master";

/// The writing client, running on its own thread until [`Writer::stop`].
pub struct Writer {
    stop: Arc<AtomicBool>,
    acks: Arc<Mutex<Vec<Ack>>>,
    refusals: Arc<Mutex<Vec<Refusal>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Start writing `SADD key <seq>` with `env` in `style`, resolving names through `hosts`
    /// (the cluster DNS of the emulation).
    pub fn start(env: ClientEnv, hosts: Dns, key: String, style: Style) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(Mutex::new(Vec::new()));
        let refusals = Arc::new(Mutex::new(Vec::new()));
        let client = Client {
            env,
            style,
            hosts,
            key,
            stop: stop.clone(),
            acks: acks.clone(),
            refusals: refusals.clone(),
        };
        let thread = std::thread::spawn(move || client.run());
        Writer {
            stop,
            acks,
            refusals,
            thread: Some(thread),
        }
    }

    /// The writes refused or failed so far (a failed attempt to find the master counts once
    /// per attempt).
    pub fn refusals(&self) -> Vec<Refusal> {
        self.refusals.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The acknowledged writes so far.
    pub fn acks(&self) -> Vec<Ack> {
        self.acks.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// Stop writing; every acknowledged write.
    pub fn stop(mut self) -> Vec<Ack> {
        self.halt();
        self.acks()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
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
    env: ClientEnv,
    style: Style,
    hosts: Dns,
    key: String,
    stop: Arc<AtomicBool>,
    acks: Arc<Mutex<Vec<Ack>>>,
    refusals: Arc<Mutex<Vec<Refusal>>>,
}

impl Client {
    fn refused(&self, kind: &str) {
        if let Ok(mut refusals) = self.refusals.lock() {
            refusals.push(Refusal {
                at: Instant::now(),
                kind: kind.to_string(),
            });
        }
    }

    fn run(self) {
        let mut seq = 0u64;
        let mut master: Option<Conn> = None;
        while !self.stop.load(Ordering::Relaxed) {
            let Some(conn) = master.as_mut() else {
                master = self.connect_to_master().ok();
                if master.is_none() {
                    self.refused(NO_MASTER);
                    sleep(RETRY_INTERVAL);
                }
                continue;
            };
            seq += 1;
            let write = ["SADD", self.key.as_str(), &seq.to_string()];
            let reply = match self.style {
                Style::Bot(_) => conn.call(&write),
                Style::Library => {
                    conn.call_patiently(&write, PATIENT_POLL, &|| self.stop.load(Ordering::Relaxed))
                }
            };
            match reply {
                Ok(Reply::Int(_)) => {
                    let ack = Ack {
                        seq,
                        at: Instant::now(),
                    };
                    if let Ok(mut acks) = self.acks.lock() {
                        acks.push(ack);
                    }
                    sleep(WRITE_INTERVAL);
                }
                // Any error drops the connection: a client that keeps talking to a node that
                // answers NOREPLICAS or READONLY never finds the new master (NOTES).
                reply => {
                    match reply {
                        Ok(Reply::Error(e)) => {
                            self.refused(e.split_whitespace().next().unwrap_or("ERR"));
                        }
                        _ => self.refused(NO_ANSWER),
                    }
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

    /// Ask the Sentinels in order; connect to the first master one of them names, and make
    /// sure it is a master (a Sentinel that has not caught up may name a demoted one).
    fn connect_to_master(&self) -> Result<Conn> {
        let password = self.env.password.as_deref();
        for (host, port) in &self.env.sentinel_addrs {
            let Ok(addr) = self.resolve(host, *port) else {
                continue;
            };
            let Ok(mut sentinel) = Conn::open(addr, password, CONNECT_TIMEOUT) else {
                continue;
            };
            let Ok(reply) =
                sentinel.call(&["SENTINEL", "get-master-addr-by-name", &self.env.master_name])
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
            if let Style::Bot(timeout) = self.style {
                conn.set_timeout(timeout)?;
            }
            return Ok(conn);
        }
        bail!("no Sentinel named a master")
    }
}
