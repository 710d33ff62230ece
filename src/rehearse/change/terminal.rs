//! An operator's terminal: one `sh` session that runs `plan`'s command lines one after
//! another, exactly as printed, so that what one line sets (`NEW=$(kubectl … get secret …)`)
//! is there for the next, as in a person's shell. `kubectl` on its PATH is the rehearsal's
//! stand-in ([`super::kubectl`]); while a line runs, its calls are answered through `serve`.

use std::fs;
use std::io::Write as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::kubectl::{Answer, Spool, shell_quote};

/// How often the session is looked at while a line runs.
const TICK: Duration = Duration::from_millis(20);

/// A line that ran: what it printed (stdout and stderr together) and its exit status.
#[derive(Debug, Clone)]
pub struct Ran {
    pub command: String,
    pub output: String,
    pub status: i32,
    pub took: Duration,
}

pub struct Terminal {
    dir: PathBuf,
    shell: Child,
    input: ChildStdin,
    spool: Spool,
    lines: usize,
}

impl Terminal {
    /// A new session in `dir` (created; the stand-in, its spool and each line's files live
    /// there), with the stand-in first on PATH.
    pub fn open(dir: &Path) -> Result<Terminal> {
        fs::create_dir_all(dir)?;
        let (spool, bin) = Spool::create(dir)?;
        let path = std::env::var("PATH").unwrap_or_default();
        let mut shell = Command::new("sh")
            .arg("-s")
            .current_dir(dir)
            .env("PATH", format!("{}:{path}", bin.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("shell.err"))?)
            // Its own process group, so that a line that hangs can be ended with its children.
            .process_group(0)
            .spawn()
            .context("cannot start sh")?;
        let input = shell.stdin.take().context("no stdin for sh")?;
        Ok(Terminal {
            dir: dir.to_path_buf(),
            shell,
            input,
            spool,
            lines: 0,
        })
    }

    /// Run `command` in the session; `serve` answers every `kubectl` call it makes. An
    /// error when the line does not end within `timeout` or the session itself ends.
    pub fn run(
        &mut self,
        command: &str,
        timeout: Duration,
        serve: &mut dyn FnMut(&[String]) -> Answer,
    ) -> Result<Ran> {
        self.lines += 1;
        let n = self.lines;
        let script = self.dir.join(format!("line-{n}.sh"));
        let out = self.dir.join(format!("line-{n}.out"));
        let status = self.dir.join(format!("line-{n}.status"));
        // The line on a line of its own: a trailing `# comment` must not swallow the brace.
        // Its stdin is /dev/null (the session reads its lines from a pipe), unless the line
        // pipes into a command itself.
        fs::write(
            &script,
            format!(
                "{{\n{command}\n}} </dev/null >{out} 2>&1\nprintf '%s' \"$?\" >{tmp} && mv {tmp} {status}\n",
                out = shell_quote(&out.display().to_string()),
                tmp = shell_quote(&format!("{}.tmp", status.display())),
                status = shell_quote(&status.display().to_string()),
            ),
        )?;
        writeln!(
            self.input,
            ". {}",
            shell_quote(&script.display().to_string())
        )?;
        self.input.flush()?;
        let started = Instant::now();
        loop {
            while let Some((call, args)) = self.spool.next_call()? {
                Spool::answer(&call, &serve(&args))?;
            }
            if let Ok(code) = fs::read_to_string(&status) {
                return Ok(Ran {
                    command: command.to_string(),
                    output: fs::read_to_string(&out).unwrap_or_default(),
                    status: code.trim().parse().unwrap_or(-1),
                    took: started.elapsed(),
                });
            }
            if let Some(exit) = self.shell.try_wait()? {
                bail!(
                    "the shell ended ({exit}) while running `{command}`: {}",
                    fs::read_to_string(self.dir.join("shell.err")).unwrap_or_default()
                );
            }
            if started.elapsed() > timeout {
                self.end();
                bail!(
                    "`{command}` did not end within {timeout:?}; its output so far:\n{}",
                    fs::read_to_string(&out).unwrap_or_default()
                );
            }
            sleep(TICK);
        }
    }

    /// End the session and everything it started.
    fn end(&mut self) {
        let pgid = self.shell.id();
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.shell.wait();
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.end();
    }
}
