//! The old single Redis: a process of its own, outside the pods.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use super::super::resp::{Conn, Reply};

/// The old single Redis: `redis-server` with the base container's arguments, on its own
/// address, its data directory kept across restarts.
pub(super) struct OldProcess {
    ip: Ipv4Addr,
    port: u16,
    dir: PathBuf,
    password: Option<String>,
    child: Option<Child>,
}

impl OldProcess {
    pub(super) fn start(
        ip: Ipv4Addr,
        port: u16,
        dir: &Path,
        args: &[String],
        password: Option<&str>,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut old = OldProcess {
            ip,
            port,
            dir: dir.to_path_buf(),
            password: password.map(str::to_string),
            child: None,
        };
        old.launch(args)?;
        Ok(old)
    }

    pub(super) fn launch(&mut self, args: &[String]) -> Result<()> {
        // The image's entrypoint runs `redis-server` with arguments that start with `-`.
        let mut command = Command::new("setpriv");
        command
            .args(["--pdeathsig=KILL", "--", "redis-server"])
            .args(args.iter().filter(|a| a.as_str() != "redis-server"))
            // What the pod gives it: its own address, its volume.
            .args([
                "--bind",
                &self.ip.to_string(),
                "--bind-source-addr",
                &self.ip.to_string(),
            ])
            .args(["--port", &self.port.to_string(), "--protected-mode", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("log"));
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .context("cannot start the old redis-server")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // PONG once it has loaded its data (LOADING before).
            let pong = self
                .conn()
                .and_then(|mut conn| conn.call(&["PING"]))
                .is_ok_and(|r| r == Reply::Status("PONG".into()));
            if pong {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "the old Redis did not start");
            sleep(Duration::from_millis(50));
        }
    }

    pub(super) fn conn(&self) -> Result<Conn> {
        Conn::open(
            SocketAddr::from((self.ip, self.port)),
            self.password.as_deref(),
            Duration::from_secs(2),
        )
    }

    /// SIGKILL and start again with `args`: a crash, or a pod replaced by its rollout.
    pub(super) fn restart(&mut self, args: &[String]) -> Result<()> {
        self.stop();
        self.launch(args)
    }

    pub(super) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OldProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
