//! A minimal Redis client over plain TCP (RESP2): enough to ask Sentinel for the master,
//! write, read INFO and replies of arrays, with a timeout on every call. The rehearsal talks
//! to dozens of short-lived connections per second; one `redis-cli` process per call would
//! measure process start-up instead of failover.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// One reply, as the server sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text: a status, a bulk string or an integer; an error reply is an `Err`.
    pub fn text(&self) -> Result<String> {
        match self {
            Reply::Status(s) | Reply::Bulk(Some(s)) => Ok(s.clone()),
            Reply::Int(i) => Ok(i.to_string()),
            Reply::Error(e) => bail!("{e}"),
            other => bail!("unexpected reply {other:?}"),
        }
    }

    /// The first element of an array reply as text (`ROLE` → `master`).
    pub fn first_text(&self) -> Option<String> {
        match self {
            Reply::Array(Some(items)) => items.first()?.text().ok(),
            _ => None,
        }
    }

    /// The elements of an array reply as text (nil elements are empty).
    pub fn strings(&self) -> Result<Vec<String>> {
        match self {
            Reply::Array(Some(items)) => items
                .iter()
                .map(|i| match i {
                    Reply::Bulk(None) => Ok(String::new()),
                    other => other.text(),
                })
                .collect(),
            Reply::Array(None) | Reply::Bulk(None) => Ok(Vec::new()),
            Reply::Error(e) => bail!("{e}"),
            other => bail!("expected an array, got {other:?}"),
        }
    }

    /// A flat field/value array reply (`SENTINEL MASTER`, one record of `SENTINEL
    /// REPLICAS`) as a map: field → value.
    pub fn fields(&self) -> Result<BTreeMap<String, String>> {
        Ok(self
            .strings()?
            .chunks(2)
            .filter_map(|kv| Some((kv[0].clone(), kv.get(1)?.clone())))
            .collect())
    }
}

/// One connection, authenticated when a password is given.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    /// Connect to `addr` and `AUTH` with `password` (if any), each within `timeout`.
    pub fn open(addr: SocketAddr, password: Option<&str>, timeout: Duration) -> Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        let mut conn = Conn {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        };
        if let Some(password) = password {
            conn.call(&["AUTH", password])?
                .text()
                .with_context(|| format!("AUTH at {addr}"))?;
        }
        Ok(conn)
    }

    /// As [`Conn::open`], authenticating with the first of `passwords` the server accepts
    /// (a password rotation has two valid at once, then only the new one); no `AUTH` when
    /// `passwords` is empty.
    pub fn open_any(addr: SocketAddr, passwords: &[String], timeout: Duration) -> Result<Self> {
        let mut conn = Conn::open(addr, None, timeout)?;
        let mut refused = None;
        for password in passwords {
            match conn.call(&["AUTH", password])? {
                Reply::Error(e) => refused = Some(e),
                _ => return Ok(conn),
            }
        }
        match refused {
            Some(e) => bail!("AUTH at {addr}: {e}"),
            None => Ok(conn),
        }
    }

    /// How long a call may wait for its reply from now on.
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.writer.set_read_timeout(Some(timeout))?;
        Ok(())
    }

    /// Send one command and read its reply. An error *reply* is `Ok(Reply::Error)`; only a
    /// broken connection or a timeout is an `Err`.
    pub fn call(&mut self, args: &[&str]) -> Result<Reply> {
        self.send(args)?;
        read_reply(&mut self.reader)
    }

    /// Like [`Conn::call`], but without a deadline for the reply, as a client library with no
    /// socket timeout waits: until the server answers or closes the connection. `give_up` is
    /// asked every `poll` so the caller can still stop; that is an `Err`.
    pub fn call_patiently(
        &mut self,
        args: &[&str],
        poll: Duration,
        give_up: &dyn Fn() -> bool,
    ) -> Result<Reply> {
        self.send(args)?;
        // Wait for the first byte of the reply without consuming anything, so a poll that
        // times out can never leave half a reply in the buffer.
        self.writer.set_read_timeout(Some(poll))?;
        while self.reader.buffer().is_empty() {
            match self.writer.peek(&mut [0u8]) {
                Ok(0) => bail!("connection closed"),
                Ok(_) => break,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if give_up() {
                        bail!("stopped while waiting for a reply");
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        read_reply(&mut self.reader)
    }

    fn send(&mut self, args: &[&str]) -> Result<()> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out)?;
        Ok(())
    }
}

fn read_reply(r: &mut impl BufRead) -> Result<Reply> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        bail!("connection closed");
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at_checked(1).context("empty reply line")?;
    Ok(match kind {
        "+" => Reply::Status(rest.into()),
        "-" => Reply::Error(rest.into()),
        ":" => Reply::Int(rest.parse().context("bad integer reply")?),
        "$" => {
            let len: i64 = rest.parse().context("bad bulk length")?;
            if len < 0 {
                Reply::Bulk(None)
            } else {
                let mut buf = vec![0; usize::try_from(len)? + 2];
                r.read_exact(&mut buf)?;
                buf.truncate(buf.len() - 2);
                Reply::Bulk(Some(String::from_utf8_lossy(&buf).into_owned()))
            }
        }
        "*" => {
            let len: i64 = rest.parse().context("bad array length")?;
            if len < 0 {
                Reply::Array(None)
            } else {
                let items = (0..len).map(|_| read_reply(r)).collect::<Result<_>>()?;
                Reply::Array(Some(items))
            }
        }
        other => bail!("unknown reply type {other:?}"),
    })
}

/// Field `key` of an `INFO` reply.
pub fn info_field<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.lines()
        .filter_map(|l| l.trim_end_matches('\r').split_once(':'))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_replies_parse() {
        let raw = b"*3\r\n$5\r\nhello\r\n:42\r\n*-1\r\n";
        let reply = read_reply(&mut &raw[..]).unwrap();
        assert_eq!(
            reply,
            Reply::Array(Some(vec![
                Reply::Bulk(Some("hello".into())),
                Reply::Int(42),
                Reply::Array(None)
            ]))
        );
        let err = read_reply(&mut &b"-NOREPLICAS Not enough good replicas\r\n"[..]).unwrap();
        assert!(err.text().is_err());
    }

    #[test]
    fn info_fields_are_found() {
        let info = "# Replication\r\nrole:slave\r\nmaster_host:redis-0.x\r\n";
        assert_eq!(info_field(info, "role"), Some("slave"));
        assert_eq!(info_field(info, "master_host"), Some("redis-0.x"));
        assert_eq!(info_field(info, "nothing"), None);
    }
}
