//! The emulated deployment as the scenarios see it: which pods run Redis and which run
//! Sentinel, the cluster DNS table, and the checks of a healthy deployment (one master, every
//! replica linked to it, every Sentinel naming it).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use super::cluster::Cluster;
use super::resp::{Conn, Reply, info_field};
use super::rollout::Changes;
use crate::profile::defaults::{REDIS_PORT, SENTINEL_PORT};

/// One check call may take this long; a pod that does not answer is simply not healthy yet.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);
const POLL_INTERVAL: Duration = Duration::from_millis(20);

pub struct Rig {
    pub cluster: Cluster,
    /// Redis pods, master StatefulSet first.
    pub redis: Vec<String>,
    pub sentinels: Vec<String>,
    pub master_name: String,
    pub password: Option<String>,
    /// A second password the harness may authenticate with when `password` is refused: the
    /// new one while a password rotation is under way.
    pub spare_password: Option<String>,
    pub quorum: usize,
    /// The changed profiles the rollout scenarios apply.
    pub changes: Changes,
}

impl Rig {
    pub fn new(
        cluster: Cluster,
        master_name: String,
        password: Option<String>,
        quorum: usize,
    ) -> Result<Self> {
        let mut redis = Vec::new();
        let mut sentinels = Vec::new();
        for pod in cluster.pods() {
            let ports = pod.ports();
            if ports.contains(&SENTINEL_PORT) {
                sentinels.push(pod.name.clone());
            } else if ports.contains(&REDIS_PORT) {
                redis.push(pod.name.clone());
            } else {
                bail!("{}: neither a Redis nor a Sentinel port", pod.name);
            }
        }
        ensure!(
            !redis.is_empty() && !sentinels.is_empty(),
            "the rendered StatefulSets hold no Redis or no Sentinel pod"
        );
        Ok(Rig {
            cluster,
            redis,
            sentinels,
            master_name,
            password,
            spare_password: None,
            quorum,
            changes: Changes::default(),
        })
    }

    /// The pod a name (or address) in a Redis or Sentinel reply stands for.
    pub fn pod_of(&self, host: &str) -> Option<String> {
        let ip = match host.parse::<Ipv4Addr>() {
            Ok(ip) => ip,
            Err(_) => *self.cluster.dns().read().ok()?.get(host)?,
        };
        self.cluster
            .pods()
            .iter()
            .find(|p| p.ip == ip)
            .map(|p| p.name.clone())
    }

    /// One command to `pod` on `port` over a fresh connection.
    pub fn call(&self, pod: &str, port: u16, args: &[&str]) -> Result<Reply> {
        let ip = self.cluster.pod(pod)?.ip;
        let passwords: Vec<String> = self
            .password
            .iter()
            .chain(&self.spare_password)
            .cloned()
            .collect();
        let mut conn = Conn::open_any(SocketAddr::from((ip, port)), &passwords, CALL_TIMEOUT)?;
        conn.call(args)
    }

    pub fn replication(&self, pod: &str) -> Result<String> {
        self.call(pod, REDIS_PORT, &["INFO", "replication"])?.text()
    }

    /// The master `sentinel` names, as a pod name.
    pub fn sentinel_master(&self, sentinel: &str) -> Result<String> {
        let reply = self.call(
            sentinel,
            SENTINEL_PORT,
            &["SENTINEL", "get-master-addr-by-name", &self.master_name],
        )?;
        let host = reply.first_text().context("no master known")?;
        self.pod_of(&host)
            .with_context(|| format!("{sentinel} names an unknown host {host}"))
    }

    /// The master a quorum of the running Sentinels names, if any.
    pub fn named_master(&mut self) -> Option<String> {
        let mut votes: BTreeMap<String, usize> = BTreeMap::new();
        for sentinel in self.running(&self.sentinels.clone()) {
            if let Ok(master) = self.sentinel_master(&sentinel) {
                *votes.entry(master).or_default() += 1;
            }
        }
        votes
            .into_iter()
            .find(|(_, n)| *n >= self.quorum)
            .map(|(pod, _)| pod)
    }

    /// Poll until a quorum of Sentinels names a master other than `old`; how long it took.
    pub fn wait_new_master(
        &mut self,
        old: &str,
        since: Instant,
        timeout: Duration,
    ) -> Result<(String, Duration)> {
        loop {
            if let Some(master) = self.named_master().filter(|m| m != old) {
                return Ok((master, since.elapsed()));
            }
            if since.elapsed() > timeout {
                bail!("no quorum of Sentinels named a new master within {timeout:?}");
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    pub fn running(&mut self, pods: &[String]) -> Vec<String> {
        pods.iter()
            .filter(|p| self.cluster.is_running(p))
            .cloned()
            .collect()
    }

    /// Every running Redis pod and Sentinel agrees on one master: exactly one Redis pod is
    /// master, every other is its replica with the link up, every Sentinel names it. The
    /// master's pod name, or what does not hold yet.
    pub fn agreement(&mut self) -> Result<String> {
        if let Some((pod, status)) = self.cluster.exited().into_iter().next() {
            bail!("{pod} exited ({status})");
        }
        let redis = self.running(&self.redis.clone());
        let mut masters = Vec::new();
        let mut replicas = Vec::new();
        for pod in &redis {
            let info = self.replication(pod)?;
            match info_field(&info, "role") {
                Some("master") => masters.push(pod.clone()),
                _ => replicas.push((pod.clone(), info)),
            }
        }
        let [master] = masters.as_slice() else {
            bail!(
                "{} Redis pods report role:master: {masters:?}",
                masters.len()
            );
        };
        for (pod, info) in &replicas {
            let of = info_field(info, "master_host").unwrap_or("");
            ensure!(
                self.pod_of(of).as_deref() == Some(master.as_str()),
                "{pod} replicates from {of:?}, not {master}"
            );
            ensure!(
                info_field(info, "master_link_status") == Some("up"),
                "{pod}: link to {master} not up"
            );
        }
        let sentinels = self.running(&self.sentinels.clone());
        for sentinel in &sentinels {
            let named = self.sentinel_master(sentinel)?;
            ensure!(&named == master, "{sentinel} names {named}, not {master}");
            // A Sentinel fails over only to replicas it knows and reconfigures only those;
            // one it has not seen yet stays behind with the old master.
            let known = self.sentinel_table(sentinel, "replicas")?;
            for (pod, _) in &replicas {
                let flags = known.get(pod).map(String::as_str);
                ensure!(
                    flags == Some("slave"),
                    "{sentinel} knows replica {pod} as {flags:?}"
                );
            }
            let peers = self.sentinel_table(sentinel, "sentinels")?;
            for peer in sentinels.iter().filter(|p| *p != sentinel) {
                ensure!(
                    peers.get(peer).is_some_and(|f| f == "sentinel"),
                    "{sentinel} does not know {peer} as a healthy Sentinel"
                );
            }
        }
        Ok(master.clone())
    }

    /// `SENTINEL replicas|sentinels <master>` of `sentinel`: pod → flags.
    fn sentinel_table(&self, sentinel: &str, what: &str) -> Result<BTreeMap<String, String>> {
        Ok(self
            .sentinel_view(sentinel, what)?
            .into_iter()
            .filter_map(|(pod, mut fields)| Some((pod, fields.remove("flags")?)))
            .collect())
    }

    /// `SENTINEL replicas|sentinels <master>` of `sentinel`: pod → every field it reports
    /// (`flags`, `slave-priority`, …), as that Sentinel sees it now. Records whose address is
    /// no pod's (a stale one) are left out; [`Rig::sentinel_records`] has them all.
    pub fn sentinel_view(
        &self,
        sentinel: &str,
        what: &str,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        Ok(self
            .sentinel_records(sentinel, what)?
            .into_iter()
            .filter_map(|fields| Some((self.pod_of(fields.get("ip")?)?, fields)))
            .collect())
    }

    /// Every record of `SENTINEL replicas|sentinels <master>` of `sentinel`, as it answers.
    pub fn sentinel_records(
        &self,
        sentinel: &str,
        what: &str,
    ) -> Result<Vec<BTreeMap<String, String>>> {
        let reply = self.call(
            sentinel,
            SENTINEL_PORT,
            &["SENTINEL", what, &self.master_name],
        )?;
        let Reply::Array(Some(entries)) = reply else {
            bail!("{sentinel}: SENTINEL {what} answered {reply:?}");
        };
        entries.iter().map(Reply::fields).collect()
    }

    /// `SENTINEL MASTER <master>` of `sentinel`: every field of its master record.
    pub fn sentinel_master_record(&self, sentinel: &str) -> Result<BTreeMap<String, String>> {
        self.call(
            sentinel,
            SENTINEL_PORT,
            &["SENTINEL", "MASTER", &self.master_name],
        )?
        .fields()
    }

    /// Poll [`Rig::agreement`] until it holds; the master.
    pub fn wait_agreement(&mut self, timeout: Duration) -> Result<String> {
        let start = Instant::now();
        loop {
            match self.agreement() {
                Ok(master) => return Ok(master),
                Err(e) if start.elapsed() > timeout => {
                    return Err(e.context(format!("no agreement within {timeout:?}")));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}
