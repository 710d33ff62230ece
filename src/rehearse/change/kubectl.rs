//! The rehearsal's `kubectl`: a stand-in on the PATH of the shell that runs `plan`'s manual
//! steps, so that the printed command lines run exactly as printed against the emulated
//! cluster. The stand-in itself is a small `sh` script ([`SHIM`]): it hands its arguments to
//! the rehearsal through a spool directory and waits for the answer, which the rehearsal
//! produces from [`parse`] (pure, tested below) and its own cluster. `kubectl exec` comes back
//! as a command line that the stand-in runs itself, with its own stdin, so `printf … |
//! kubectl exec -i …` feeds the pod as it would in a cluster.
//!
//! Only the forms `plan` prints are known; anything else fails with a message naming it,
//! as a missing feature must not pass for a step that worked.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// What one `kubectl` invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `exec [-i] POD [-c CONTAINER] -- ARGV…`
    Exec {
        pod: String,
        container: Option<String>,
        stdin: bool,
        argv: Vec<String>,
    },
    /// `delete pod NAME…`: each pod deleted (preStop, SIGTERM); its StatefulSet recreates it.
    DeletePods(Vec<String>),
    /// `delete pvc NAME…`
    DeleteClaims(Vec<String>),
    /// `rollout restart statefulset/NAME`
    RolloutRestart(String),
    /// `rollout status statefulset/NAME`
    RolloutStatus(String),
    /// `get secret NAME -o jsonpath='{.data.KEY}'`: the value, base64-encoded.
    GetSecretKey { secret: String, key: String },
    /// `create secret generic NAME --from-literal=KEY=VALUE…`
    CreateSecret {
        secret: String,
        literals: Vec<(String, String)>,
    },
    /// `apply -k DIR`: a kustomization; the rehearsal knows the rendered `clients/`
    /// Component (the client restarts with what it names).
    ApplyKustomization(PathBuf),
}

/// One invocation: the namespace it names (`-n`), if any, and the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub namespace: Option<String>,
    pub request: Request,
}

/// What the stand-in prints and exits with; `run` is a command line it then runs itself
/// (an exec), its exit code becoming the stand-in's.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
    pub run: Option<Vec<String>>,
    pub stdin: bool,
}

impl Answer {
    pub fn ok(stdout: impl Into<String>) -> Self {
        Answer {
            stdout: stdout.into(),
            ..Answer::default()
        }
    }

    pub fn error(stderr: impl Into<String>) -> Self {
        Answer {
            stderr: stderr.into(),
            code: 1,
            ..Answer::default()
        }
    }
}

/// Parse the arguments of one `kubectl` call (without `kubectl` itself).
pub fn parse(args: &[String]) -> Result<Invocation> {
    // The namespace flag may stand anywhere before `--`, as kubectl allows.
    let mut namespace = None;
    let mut rest: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            rest.push(arg.clone());
            rest.extend(it.by_ref().cloned());
            break;
        }
        if arg == "-n" || arg == "--namespace" {
            namespace = Some(it.next().context("-n needs a namespace")?.clone());
        } else if let Some(ns) = arg.strip_prefix("--namespace=") {
            namespace = Some(ns.to_string());
        } else {
            rest.push(arg.clone());
        }
    }
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    let request = match words.as_slice() {
        ["exec", tail @ ..] => exec(tail)?,
        ["delete", kind, names @ ..] if !names.is_empty() => match *kind {
            "pod" | "pods" | "po" => Request::DeletePods(plain_names(names)?),
            "pvc" | "pvcs" | "persistentvolumeclaim" | "persistentvolumeclaims" => {
                Request::DeleteClaims(plain_names(names)?)
            }
            other => bail!("deleting {other} is not emulated (only pod and pvc)"),
        },
        ["delete", kind] if kind.contains('/') => match kind.split_once('/') {
            Some(("pod" | "pods" | "po", name)) => Request::DeletePods(vec![name.to_string()]),
            Some(("pvc" | "persistentvolumeclaim", name)) => {
                Request::DeleteClaims(vec![name.to_string()])
            }
            _ => bail!("deleting {kind} is not emulated (only pod and pvc)"),
        },
        ["rollout", verb, target @ ..] => {
            let set = stateful_set(target)?;
            match *verb {
                "restart" => Request::RolloutRestart(set),
                "status" => Request::RolloutStatus(set),
                other => bail!("rollout {other} is not emulated (only restart and status)"),
            }
        }
        ["get", "secret" | "secrets", name, output @ ..] => {
            let jsonpath = match output {
                ["-o", path] => path.strip_prefix("jsonpath="),
                [path] => path
                    .strip_prefix("-o=jsonpath=")
                    .or_else(|| path.strip_prefix("--output=jsonpath=")),
                _ => None,
            }
            .context("only `get secret NAME -o jsonpath='{.data.KEY}'` is emulated")?;
            Request::GetSecretKey {
                secret: name.to_string(),
                key: data_key(jsonpath)?,
            }
        }
        ["create", "secret", "generic", name, literals @ ..] => {
            let literals = literals
                .iter()
                .map(|l| {
                    let kv = l.strip_prefix("--from-literal=").with_context(|| {
                        format!("{l}: only --from-literal=KEY=VALUE is emulated")
                    })?;
                    let (k, v) = kv
                        .split_once('=')
                        .with_context(|| format!("{l}: no KEY=VALUE"))?;
                    Ok((k.to_string(), v.to_string()))
                })
                .collect::<Result<Vec<_>>>()?;
            if literals.is_empty() {
                bail!("create secret generic {name}: no --from-literal");
            }
            Request::CreateSecret {
                secret: name.to_string(),
                literals,
            }
        }
        ["apply", "-k", dir] => Request::ApplyKustomization(PathBuf::from(dir)),
        [verb, ..] => bail!(
            "the rehearsal does not emulate `kubectl {}` ({verb})",
            rest.join(" ")
        ),
        [] => bail!("kubectl without a command"),
    };
    Ok(Invocation { namespace, request })
}

fn exec(tail: &[&str]) -> Result<Request> {
    let split = tail
        .iter()
        .position(|a| *a == "--")
        .context("exec needs `--` before the command")?;
    let (flags, argv) = (&tail[..split], &tail[split + 1..]);
    if argv.is_empty() {
        bail!("exec: no command after `--`");
    }
    let (mut pod, mut container, mut stdin) = (None, None, false);
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        match *flag {
            "-i" | "--stdin" => stdin = true,
            "-it" | "-ti" => stdin = true,
            "-t" | "--tty" => {}
            "-c" | "--container" => container = Some(*it.next().context("-c needs a name")?),
            f if f.starts_with("--container=") => container = f.strip_prefix("--container="),
            f if f.starts_with('-') => bail!("exec flag {f} is not emulated"),
            name if pod.is_none() => pod = Some(name.strip_prefix("pod/").unwrap_or(name)),
            extra => bail!("exec: a second pod name {extra}"),
        }
    }
    Ok(Request::Exec {
        pod: pod.context("exec: no pod named")?.to_string(),
        container: container.map(str::to_string),
        stdin,
        argv: argv.iter().map(|a| a.to_string()).collect(),
    })
}

/// Names without flags: a flag there (`--wait=false`, `--cascade`) is not emulated.
fn plain_names(names: &[&str]) -> Result<Vec<String>> {
    names
        .iter()
        .map(|n| {
            if n.starts_with('-') {
                bail!("flag {n} is not emulated")
            }
            Ok(n.to_string())
        })
        .collect()
}

/// `statefulset/NAME`, `sts/NAME` or `statefulset NAME`.
fn stateful_set(target: &[&str]) -> Result<String> {
    let name = match target {
        [one] => match one.split_once('/') {
            Some(("statefulset" | "statefulsets" | "sts", name)) => name,
            _ => bail!("{one}: only statefulset/NAME is emulated"),
        },
        ["statefulset" | "statefulsets" | "sts", name] => name,
        _ => bail!(
            "rollout of {}: only statefulset/NAME is emulated",
            target.join(" ")
        ),
    };
    Ok(name.to_string())
}

/// `{.data.KEY}` → KEY (a `\.` in the key is a dot, as kubectl's JSONPath escapes it).
fn data_key(jsonpath: &str) -> Result<String> {
    let key = jsonpath
        .strip_prefix("{.data.")
        .and_then(|k| k.strip_suffix('}'))
        .with_context(|| format!("{jsonpath}: only {{.data.KEY}} is emulated"))?;
    Ok(key.replace("\\.", "."))
}

/// Base64 of `bytes` (the standard alphabet, padded), as the API server keeps Secret data.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The stand-in, with `@SPOOL@` for its spool directory. Each call makes a request
/// directory (its arguments one per file, so no quoting can go wrong), publishes it with a
/// rename and waits for the rehearsal's `done`.
const SHIM: &str = r#"#!/bin/sh
# kubectl stand-in of `redis-sentinel-gen rehearse --from`: the rehearsal answers each call
# against its emulated cluster (see src/rehearse/change/kubectl.rs).
set -u
spool='@SPOOL@'
req=$(mktemp -d "$spool/call.XXXXXXXX") || exit 1
i=0
for arg in "$@"; do
    printf '%s' "$arg" >"$req/arg.$i"
    i=$((i + 1))
done
mv "$req" "$req.req" || exit 1
req=$req.req
while [ ! -e "$req/done" ]; do
    sleep 0.02
done
cat "$req/stdout"
cat "$req/stderr" >&2
code=$(cat "$req/code")
if [ -e "$req/run.sh" ]; then
    sh "$req/run.sh"
    code=$?
fi
rm -rf "$req"
exit "$code"
"#;

/// The spool a stand-in and the rehearsal share.
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// Write the stand-in as `bin/kubectl` under `dir`, with its spool beside it; the
    /// directory to put first on PATH.
    pub fn create(dir: &Path) -> Result<(Spool, PathBuf)> {
        use std::os::unix::fs::PermissionsExt;
        let spool = dir.join("spool");
        let bin = dir.join("bin");
        fs::create_dir_all(&spool)?;
        fs::create_dir_all(&bin)?;
        let shim = bin.join("kubectl");
        let spool_text = spool.to_str().context("spool path is not UTF-8")?;
        if spool_text.contains('\'') {
            bail!("{spool_text}: a quote in the spool path");
        }
        fs::write(&shim, SHIM.replace("@SPOOL@", spool_text))?;
        fs::set_permissions(&shim, fs::Permissions::from_mode(0o755))?;
        Ok((Spool { dir: spool }, bin))
    }

    /// The next published call not answered yet: its directory and arguments.
    pub fn next_call(&self) -> Result<Option<(PathBuf, Vec<String>)>> {
        let mut calls: Vec<PathBuf> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "req") && !p.join("done").exists())
            .collect();
        calls.sort();
        let Some(call) = calls.into_iter().next() else {
            return Ok(None);
        };
        let mut args = Vec::new();
        while let Ok(arg) = fs::read_to_string(call.join(format!("arg.{}", args.len()))) {
            args.push(arg);
        }
        Ok(Some((call, args)))
    }

    /// Answer the call in `call`.
    pub fn answer(call: &Path, answer: &Answer) -> Result<()> {
        fs::write(call.join("stdout"), &answer.stdout)?;
        fs::write(call.join("stderr"), &answer.stderr)?;
        fs::write(call.join("code"), answer.code.to_string())?;
        if let Some(argv) = &answer.run {
            let quoted: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
            let stdin = if answer.stdin { "" } else { " </dev/null" };
            fs::write(
                call.join("run.sh"),
                format!("exec {}{stdin}\n", quoted.join(" ")),
            )?;
        }
        fs::write(call.join("done"), "")?;
        Ok(())
    }
}

/// `word` quoted for `sh`.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_forms_plan_prints_parse() {
        let exec = parse(&words(
            "-n welcomebot exec redis-sentinel-0 -c sentinel -- redis-cli -p 26379 SENTINEL RESET m",
        ))
        .unwrap();
        assert_eq!(exec.namespace.as_deref(), Some("welcomebot"));
        assert_eq!(
            exec.request,
            Request::Exec {
                pod: "redis-sentinel-0".into(),
                container: Some("sentinel".into()),
                stdin: false,
                argv: words("redis-cli -p 26379 SENTINEL RESET m"),
            }
        );
        let piped = parse(&words(
            "-n ns exec -i redis-master-0 -c redis -- sh /config/rotate-password.sh add",
        ))
        .unwrap();
        assert!(matches!(piped.request, Request::Exec { stdin: true, .. }));
        assert_eq!(
            parse(&words(
                "-n ns delete pvc data-redis-replica-2 data-redis-replica-3"
            ))
            .unwrap()
            .request,
            Request::DeleteClaims(words("data-redis-replica-2 data-redis-replica-3"))
        );
        assert_eq!(
            parse(&words("delete pod/redis-master-0 -n ns")).unwrap(),
            Invocation {
                namespace: Some("ns".into()),
                request: Request::DeletePods(vec!["redis-master-0".into()])
            }
        );
        assert_eq!(
            parse(&words("-n ns rollout restart statefulset/redis-sentinel"))
                .unwrap()
                .request,
            Request::RolloutRestart("redis-sentinel".into())
        );
        assert_eq!(
            parse(&words("--namespace=ns rollout status sts redis-replica"))
                .unwrap()
                .request,
            Request::RolloutStatus("redis-replica".into())
        );
        // The quotes around the JSONPath are the shell's; kubectl gets the bare form.
        assert_eq!(
            parse(&words(
                r"-n ns get secret redis-auth -o jsonpath={.data.pass\.word}"
            ))
            .unwrap()
            .request,
            Request::GetSecretKey {
                secret: "redis-auth".into(),
                key: "pass.word".into()
            }
        );
        let create = parse(&[
            "-n".into(),
            "ns".into(),
            "create".into(),
            "secret".into(),
            "generic".into(),
            "redis-auth-2".into(),
            "--from-literal=password=a b=c".into(),
        ])
        .unwrap();
        assert_eq!(
            create.request,
            Request::CreateSecret {
                secret: "redis-auth-2".into(),
                literals: vec![("password".into(), "a b=c".into())]
            }
        );
        assert_eq!(
            parse(&words("apply -k DIR/clients")).unwrap().request,
            Request::ApplyKustomization("DIR/clients".into())
        );
    }

    #[test]
    fn what_is_not_emulated_is_refused_by_name() {
        for (line, says) in [
            (
                "-n ns patch pvc data-x -p {}",
                "kubectl patch pvc data-x -p {}",
            ),
            (
                "-n ns delete statefulset redis-master --cascade=orphan",
                "deleting statefulset",
            ),
            ("-n ns delete pvc --all", "flag --all"),
            ("exec redis-master-0 -- ", "no command after"),
            ("exec redis-master-0 redis-cli PING", "needs `--`"),
            ("get secret s", "jsonpath"),
            ("-n", "needs a namespace"),
            ("rollout undo statefulset/x", "rollout undo"),
            ("", "without a command"),
        ] {
            let err = format!("{:#}", parse(&words(line)).unwrap_err());
            assert!(err.contains(says), "{line:?}: {err}");
        }
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(
            base64(b"rehearse \"pa ss' $word"),
            "cmVoZWFyc2UgInBhIHNzJyAkd29yZA=="
        );
    }
}
