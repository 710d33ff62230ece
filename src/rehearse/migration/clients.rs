//! The client workloads: they write to the old Redis by address, then switch to the
//! Sentinels when their rollout lands.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, sleep};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::super::client::ClientEnv;
use super::super::cluster::Dns;
use super::super::resp::{Conn, Reply};
use super::{CONNECT_TIMEOUT, RETRY_INTERVAL, WRITE_INTERVAL};

pub(super) fn client_key(client: &str) -> String {
    format!("migration:{client}")
}

/// A client's record: acknowledged writes (sequence number, when) and NOREPLICAS refusals.
#[derive(Default)]
pub(super) struct ClientRun {
    pub(super) acks: Vec<(u64, Instant)>,
    pub(super) refused_by_fence: usize,
}

/// A bot that writes `SADD migration:<name> <seq>` every 5 ms: to `REDIS_ADDR` until its
/// rollout lands, then through Sentinel discovery with the switched env, as a
/// default-configured client library does (no socket timeout; on any error, drop the
/// connection and ask the Sentinels again).
pub(super) struct SwitchingClient {
    pub(super) name: String,
    pub(super) switch_at: Arc<Mutex<Option<Instant>>>,
    /// When the client actually started using the switched env.
    pub(super) switched: Arc<Mutex<Option<Instant>>>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) thread: Option<JoinHandle<ClientRun>>,
}

impl SwitchingClient {
    pub(super) fn start(name: String, addr: (String, u16), env: ClientEnv, dns: Dns) -> Self {
        let switch_at = Arc::new(Mutex::new(None));
        let switched = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let worker = ClientLoop {
            key: client_key(&name),
            addr,
            env,
            dns,
            switch_at: switch_at.clone(),
            switched: switched.clone(),
            stop: stop.clone(),
        };
        let thread = std::thread::spawn(move || worker.run());
        SwitchingClient {
            name,
            switch_at,
            switched,
            stop,
            thread: Some(thread),
        }
    }

    pub(super) fn switch_at(&self, at: Instant) {
        if let Ok(mut slot) = self.switch_at.lock() {
            *slot = Some(at);
        }
    }

    pub(super) fn stop(mut self) -> ClientRun {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for SwitchingClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub(super) struct ClientLoop {
    key: String,
    addr: (String, u16),
    env: ClientEnv,
    dns: Dns,
    switch_at: Arc<Mutex<Option<Instant>>>,
    switched: Arc<Mutex<Option<Instant>>>,
    stop: Arc<AtomicBool>,
}

impl ClientLoop {
    pub(super) fn run(self) -> ClientRun {
        let mut record = ClientRun::default();
        let mut conn: Option<Conn> = None;
        let mut on_sentinel = false;
        let mut seq = 0u64;
        while !self.stop.load(Ordering::Relaxed) {
            let due = self
                .switch_at
                .lock()
                .ok()
                .and_then(|s| *s)
                .is_some_and(|at| Instant::now() >= at);
            if due && !on_sentinel {
                // The rollout: a new pod with the new env; the old pod's connection goes.
                on_sentinel = true;
                conn = None;
                if let Ok(mut s) = self.switched.lock() {
                    *s = Some(Instant::now());
                }
            }
            let Some(c) = conn.as_mut() else {
                conn = if on_sentinel {
                    self.connect_to_master().ok()
                } else {
                    self.connect_to_addr().ok()
                };
                if conn.is_none() {
                    sleep(RETRY_INTERVAL);
                }
                continue;
            };
            seq += 1;
            match c.call(&["SADD", &self.key, &seq.to_string()]) {
                Ok(Reply::Int(_)) => record.acks.push((seq, Instant::now())),
                Ok(Reply::Error(e)) => {
                    if e.starts_with("NOREPLICAS") && !on_sentinel {
                        record.refused_by_fence += 1;
                    }
                    // Sentinel clients drop the connection on an error and rediscover;
                    // a plain client keeps its connection and retries.
                    if on_sentinel {
                        conn = None;
                    }
                }
                _ => conn = None,
            }
            sleep(WRITE_INTERVAL);
        }
        record
    }

    pub(super) fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr> {
        let ip = match host.parse::<Ipv4Addr>() {
            Ok(ip) => ip,
            Err(_) => *self
                .dns
                .read()
                .map_err(|_| anyhow::anyhow!("cluster DNS poisoned"))?
                .get(host)
                .with_context(|| format!("cannot resolve {host}"))?,
        };
        Ok(SocketAddr::from((ip, port)))
    }

    /// `REDIS_ADDR`, no password (the base's env has none), no socket timeout.
    pub(super) fn connect_to_addr(&self) -> Result<Conn> {
        let mut conn = Conn::open(
            self.resolve(&self.addr.0, self.addr.1)?,
            None,
            CONNECT_TIMEOUT,
        )?;
        conn.wait_forever()?;
        Ok(conn)
    }

    /// Ask the Sentinels in order for the master, connect, check its role; no socket
    /// timeout on the connection that writes.
    pub(super) fn connect_to_master(&self) -> Result<Conn> {
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
            let Ok([host, port]) = <[String; 2]>::try_from(reply.strings()?) else {
                continue;
            };
            let mut conn = Conn::open(
                self.resolve(&host, port.parse()?)?,
                password,
                CONNECT_TIMEOUT,
            )?;
            if conn.call(&["ROLE"])?.first_text().as_deref() != Some("master") {
                bail!("{host} is not a master");
            }
            conn.wait_forever()?;
            return Ok(conn);
        }
        bail!("no Sentinel named a master")
    }
}
