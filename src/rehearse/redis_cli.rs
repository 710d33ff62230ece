//! Talking to emulated pods from the host: `redis-cli` with a deadline, reply parsing, and
//! polling a condition until it holds or time runs out.

use std::io::Read as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long one `redis-cli` call may take; a stuck server must not hang the test.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// `redis-cli` authenticated with the deployment's password.
pub struct RedisCli {
    pub bin: PathBuf,
    pub password: String,
}

impl RedisCli {
    /// Run one command against `ip:port`; its raw reply (one line per element).
    pub fn call(&self, ip: Ipv4Addr, port: u16, args: &[&str]) -> Result<String> {
        let what = format!("redis-cli -h {ip} -p {port} {}", args.join(" "));
        let mut child = Command::new(&self.bin)
            .args(["-h", &ip.to_string(), "-p", &port.to_string()])
            .args(args)
            // The password stays off the command line, as `REDISCLI_AUTH` is meant for.
            .env("REDISCLI_AUTH", &self.password)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {what}"))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{what}: no answer within {CALL_TIMEOUT:?}");
            }
            sleep(Duration::from_millis(20));
        };
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut s) = child.stdout.take() {
            s.read_to_string(&mut out)?;
        }
        if let Some(mut s) = child.stderr.take() {
            s.read_to_string(&mut err)?;
        }
        let out = out.replace('\r', "");
        // redis-cli exits 0 on an error reply; in raw mode the reply is the bare message.
        let first = out.split_whitespace().next().unwrap_or("");
        let error_reply = [
            "ERR",
            "NOAUTH",
            "WRONGPASS",
            "LOADING",
            "MASTERDOWN",
            "IDONTKNOW",
        ]
        .contains(&first);
        if !status.success() || error_reply {
            let said: Vec<&str> = [out.trim(), err.trim()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            bail!("{what}: {status}: {}", said.join(" / "));
        }
        Ok(out)
    }

    /// `INFO <section>` as (field, value) pairs.
    pub fn info(&self, ip: Ipv4Addr, port: u16, section: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .call(ip, port, &["INFO", section])?
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }
}

/// Field `key` of an INFO reply.
pub fn field<'a>(info: &'a [(String, String)], key: &str) -> Option<&'a str> {
    info.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The values of `key` across a raw reply of flat field/value lists, such as
/// `SENTINEL replicas` (redis-cli prints nested arrays one element per line).
pub fn values_of(reply: &str, key: &str) -> Vec<String> {
    let items: Vec<&str> = reply.lines().collect();
    items
        .chunks(2)
        .filter(|pair| pair.first() == Some(&key))
        .filter_map(|pair| pair.get(1).map(|v| v.to_string()))
        .collect()
}

/// Call `attempt` until it succeeds or `timeout` passes; the last error says why it did not.
/// `fatal` is asked before every attempt: a reason there (a pod that exited, say) ends the
/// wait at once, since no amount of waiting will fix it.
pub fn poll<T>(
    timeout: Duration,
    what: &str,
    mut fatal: impl FnMut() -> Option<String>,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(reason) = fatal() {
            bail!("{what}: gave up: {reason}");
        }
        match attempt() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => {
                return Err(e.context(format!("{what}: not true within {timeout:?}")));
            }
            Err(_) => sleep(POLL_INTERVAL),
        }
    }
}
