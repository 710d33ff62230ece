//! The hooks `migrate.sh` runs, standing for `kubectl exec` into the pods.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Result;

use super::super::rig::Rig;
use crate::profile::defaults::{REDIS_PORT, SENTINEL_PORT};

/// The hooks of `migrate.sh`, as the rehearsal's stand-ins for `kubectl exec`: redis-cli in
/// the pod's container (with its env, so its REDISCLI_AUTH), told the pod's address because
/// the emulated pods share the host's network; the old Redis straight at its address.
pub(super) struct Hooks {
    old: String,
    new: String,
    sentinel: String,
}

impl Hooks {
    pub(super) fn new(rig: &Rig, master: &str, old_ip: Ipv4Addr, old_port: u16) -> Result<Self> {
        let ip = rig.cluster.pod(master)?.ip;
        Ok(Hooks {
            old: format!("redis-cli -h {old_ip} -p {old_port}"),
            new: shell_words(&rig.cluster.exec_command(
                master,
                &[
                    "/usr/bin/redis-cli".into(),
                    "-h".into(),
                    ip.to_string(),
                    "-p".into(),
                    REDIS_PORT.to_string(),
                ],
            )?),
            // No Sentinel runs before phase 2: copy and cutover do not use it.
            sentinel: "false".into(),
        })
    }

    /// The same with the first Sentinel pod as `statefulset/<sentinel>` (kubectl picks it).
    pub(super) fn with_sentinel(&self, rig: &Rig) -> Result<Self> {
        let sentinel = &rig.sentinels[0];
        let ip = rig.cluster.pod(sentinel)?.ip;
        Ok(Hooks {
            old: self.old.clone(),
            new: self.new.clone(),
            sentinel: shell_words(&rig.cluster.exec_command(
                sentinel,
                &[
                    "/usr/bin/redis-cli".into(),
                    "-h".into(),
                    ip.to_string(),
                    "-p".into(),
                    SENTINEL_PORT.to_string(),
                ],
            )?),
        })
    }

    /// `sh migrate.sh STEP` as the README runs it; what it said, as `Err` when it failed.
    pub(super) fn run(
        &self,
        script: &Path,
        step: &str,
        old_password: Option<&str>,
    ) -> Result<String, String> {
        let mut command = Command::new("sh");
        command
            .arg(script)
            .arg(step)
            .env("OLD_REDIS", &self.old)
            .env("NEW_REDIS", &self.new)
            .env("SENTINEL", &self.sentinel)
            .env_remove("REDISCLI_AUTH")
            .stdin(Stdio::null());
        if let Some(password) = old_password {
            command.env("OLD_REDISCLI_AUTH", password);
        }
        let output = command
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.success() {
            Ok(said)
        } else {
            Err(said)
        }
    }
}

/// `words` as one `sh` command line.
pub(super) fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}
