//! Cluster DNS: what every pod's `/etc/hosts` says (each pod's names, every Service's names
//! for the pods it selects, the extra hosts) and the same table for clients outside the
//! pods.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};

use super::Cluster;

/// Cluster DNS as a table: name → current address.
pub type Dns = Arc<RwLock<BTreeMap<String, Ipv4Addr>>>;

/// A resolver that answers nothing: pods resolve only the harness's names (`/etc/hosts`).
/// The machine's resolver is outside what tests may talk to; a port on loopback where no
/// server listens fails every lookup at once instead of timing out.
const RESOLV_CONF: &str = "nameserver 127.0.0.255\noptions timeout:1 attempts:1\n";
const NSSWITCH_CONF: &str = "passwd: files\ngroup: files\nshadow: files\nhosts: files\n";

impl Cluster {
    /// A new pod's `resolv.conf` and `nsswitch.conf`: names resolve through its hosts file
    /// only.
    pub(super) fn write_resolver(&self, pod: &str) -> Result<()> {
        let etc = self.pod_dir(pod).join("etc");
        fs::create_dir_all(&etc)?;
        fs::write(etc.join("resolv.conf"), RESOLV_CONF)?;
        fs::write(etc.join("nsswitch.conf"), NSSWITCH_CONF)?;
        Ok(())
    }

    /// Make `name` resolve to `ip` in every pod, running or not (a Service in front of
    /// something outside the emulation, say).
    pub fn add_host(&mut self, ip: Ipv4Addr, name: &str) -> Result<()> {
        self.extra_hosts.push((ip, name.to_string()));
        self.write_hosts()
    }

    /// Cluster DNS: what every name resolves to now.
    pub fn dns(&self) -> Dns {
        self.dns.clone()
    }

    /// Every pod's `/etc/hosts`. Running pods see the file through a bind mount, which pins
    /// the inode: it is rewritten in place, never replaced by a new file.
    pub(super) fn write_hosts(&self) -> Result<()> {
        let mut hosts = self.hosts_lines();
        for (ip, name) in &self.extra_hosts {
            let _ = writeln!(hosts, "{ip}\t{name}");
        }
        let mut table = BTreeMap::new();
        for pod in &self.pods {
            for name in pod.short_names.iter().chain([&pod.fqdn, &pod.name]) {
                table.insert(name.clone(), pod.ip);
            }
        }
        for (ip, name) in &self.extra_hosts {
            table.insert(name.clone(), *ip);
        }
        if let Ok(mut dns) = self.dns.write() {
            *dns = table;
        }
        for pod in &self.pods {
            let own = format!("{}\t{} {}\n", pod.ip, pod.fqdn, pod.name);
            let path = self.pod_dir(&pod.name).join("etc").join("hosts");
            let mut file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            file.write_all(format!("{hosts}{own}").as_bytes())?;
        }
        Ok(())
    }

    /// What cluster DNS would answer, as `/etc/hosts` lines: every pod's FQDN and the
    /// shorter forms the pod's DNS search path would complete, then every Service's names
    /// with the addresses of the pods it selects.
    fn hosts_lines(&self) -> String {
        let mut lines = String::from(
            "# emulated pod: Kubernetes-managed hosts file plus the cluster's DNS names\n\
             127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
        );
        for pod in &self.pods {
            let _ = writeln!(
                lines,
                "{}\t{} {}",
                pod.ip,
                pod.fqdn,
                pod.short_names.join(" ")
            );
        }
        for (name, ip) in self.service_records() {
            let _ = writeln!(lines, "{ip}\t{name}");
        }
        lines
    }

    /// (name, address) of every Service name for every pod it selects; the short forms
    /// `<svc>.<ns>.svc`, `<svc>.<ns>` and `<svc>` as the search path completes them.
    fn service_records(&self) -> Vec<(String, Ipv4Addr)> {
        let mut records = Vec::new();
        for svc in self.manifests.services() {
            let names = format!(
                "{0}.{1}.svc.{2} {0}.{1}.svc {0}.{1} {0}",
                svc.name, svc.namespace, self.cluster_domain
            );
            for pod in &self.pods {
                let selected = svc
                    .selector
                    .iter()
                    .all(|(k, v)| pod.labels.get(k) == Some(v));
                if selected && pod.namespace == svc.namespace {
                    records.push((names.clone(), pod.ip));
                }
            }
        }
        records
    }
}
