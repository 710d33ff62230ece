//! The launcher each container starts with: a shell script that builds the container's root
//! in the pod's new mount namespace and execs the container chrooted into it.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use super::Cluster;
use crate::rehearse::manifest::{IMAGE_DATA_OWNER, PodPlan, Process, Source};

/// Host directories the container root shares read-only: the Redis binaries and every
/// tool the scripts call live under `/usr`; `/etc` supplies passwd, ld.so and the like.
const HOST_DIRS: &[&str] = &["usr", "etc"];
/// Top-level names that are symlinks into `/usr` on a merged-/usr host (or directories
/// on an older one).
const HOST_LINKS: &[&str] = &["bin", "lib", "lib64", "sbin"];
/// Device nodes a container runtime provides.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];
/// Files of the pod's own that cover the host's `/etc`.
const POD_ETC: &[&str] = &["hosts", "resolv.conf", "nsswitch.conf"];
/// The Redis image's shell is busybox ash; the emulated pods run the scripts with it too, so
/// a dash- or bash-only construct fails here as it would in the cluster.
const BUSYBOX: &str = "/usr/bin/busybox";

impl Cluster {
    /// Write `process`'s launcher and start it; its volumes are already prepared.
    pub(super) fn launch(
        &self,
        pod: &PodPlan,
        process: &Process,
        extra_args: &[String],
    ) -> Result<Child> {
        let dir = self.pod_dir(&pod.name);
        let mut binds: Vec<(String, PathBuf, bool)> = process
            .mounts
            .iter()
            .map(|m| {
                // The kubelet always mounts ConfigMap volumes read-only.
                let forced = matches!(m.source, Source::ConfigMap { .. });
                (
                    m.path.clone(),
                    self.volume_dir(pod, &m.source),
                    m.read_only || forced,
                )
            })
            .collect();
        // Parents before children, as the kubelet orders nested mounts.
        binds.sort_by(|a, b| a.0.cmp(&b.0));

        let root = dir.join("root");
        fs::create_dir_all(&root)?;
        let script = dir.join(format!("{}.sh", process.container));
        fs::write(
            &script,
            launcher(pod, process, &root, &dir.join("etc"), &binds)?,
        )?;

        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(&pod.name))?;
        writeln!(
            log,
            "===== {} container {} starting =====",
            pod.name, process.container
        )?;
        let mut tail = in_container(process, &process.argv);
        tail.extend(extra_args.iter().cloned());

        Command::new("setpriv")
            .args([
                "--pdeathsig=KILL",
                "--",
                "unshare",
                "--mount",
                "--uts",
                "--pid",
                "--fork",
            ])
            .args(["--kill-child", "--", "/bin/sh"])
            .arg(&script)
            .args(&tail)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("{}: cannot start setpriv/unshare", pod.name))
    }
}

/// The launcher: builds the container root in the new mount namespace and execs the
/// container (its remaining arguments) chrooted into it.
fn launcher(
    pod: &PodPlan,
    process: &Process,
    root: &Path,
    pod_etc: &Path,
    binds: &[(String, PathBuf, bool)],
) -> Result<String> {
    let r = |p: &str| q(&root.join(p.trim_start_matches('/')));
    let mut s = format!(
        "#!/bin/sh\n\
         # Emulated pod {pod} container {c}: assemble the container's filesystem in this\n\
         # mount namespace, then become the container (PID 1 of the pod's PID namespace).\n\
         set -eu\n\
         mount -t tmpfs -o mode=0755 rootfs {root}\n",
        pod = pod.name,
        c = process.container,
        root = q(root),
    );
    for dir in HOST_DIRS {
        let _ = writeln!(s, "mkdir {0}\nmount -o bind,ro /{dir} {0}", r(dir));
    }
    // busybox decides what to be from argv[0]: mounted over `sh`, it is the image's ash.
    let _ = writeln!(s, "mount -o bind,ro {BUSYBOX} {}", r("usr/bin/sh"));
    for name in HOST_LINKS {
        let host = Path::new("/").join(name);
        match fs::read_link(&host) {
            Ok(target) => {
                let _ = writeln!(s, "ln -s {} {}", q(&target), r(name));
            }
            Err(_) if host.is_dir() => {
                let _ = writeln!(s, "mkdir {0}\nmount -o bind,ro {1} {0}", r(name), q(&host));
            }
            Err(_) => {}
        }
    }
    for file in POD_ETC {
        let _ = writeln!(
            s,
            "mount -o bind,ro {} {}",
            q(&pod_etc.join(file)),
            r(&format!("etc/{file}"))
        );
    }
    let _ = writeln!(
        s,
        "mkdir {0}\nmount -t tmpfs -o mode=0755 dev {0}",
        r("dev")
    );
    for dev in DEVICES {
        let _ = writeln!(
            s,
            "touch {0}\nmount -o bind /dev/{dev} {0}",
            r(&format!("dev/{dev}"))
        );
    }
    let _ = writeln!(s, "mkdir {0}\nmount -t proc proc {0}", r("proc"));
    // The image's own directories.
    let (data_uid, data_gid) = IMAGE_DATA_OWNER;
    let _ = writeln!(s, "mkdir -m 1777 {}", r("tmp"));
    let _ = writeln!(s, "mkdir {0}\nchown {data_uid}:{data_gid} {0}", r("data"));
    for (path, source, read_only) in binds {
        let inside = Path::new(path);
        let first = inside.components().nth(1);
        let host_backed = matches!(first, Some(Component::Normal(c)) if ["usr", "etc", "dev", "proc"].map(std::ffi::OsStr::new).contains(&c));
        if !inside.is_absolute()
            || host_backed
            || inside.components().any(|c| c == Component::ParentDir)
        {
            bail!("{}: mountPath {path} cannot be emulated", pod.name);
        }
        let opts = if *read_only { "bind,ro" } else { "bind" };
        let _ = writeln!(
            s,
            "mkdir -p {0}\nmount -o {opts} {1} {0}",
            r(path),
            q(source)
        );
    }
    if process.read_only_root {
        let _ = writeln!(s, "mount -o remount,ro {}", q(root));
    }
    let _ = writeln!(s, "hostname {}", q(Path::new(&pod.name)));
    let _ = writeln!(s, "exec chroot {} \"$@\"", q(root));
    Ok(s)
}

/// `argv` as the container runs it, from inside the pod's root: a clean env, the working
/// directory, then the container's user and groups.
pub(super) fn in_container(process: &Process, argv: &[String]) -> Vec<String> {
    let mut tail: Vec<String> = vec!["/usr/bin/env".into(), "-i".into(), "-C".into()];
    tail.push(process.workdir.clone());
    tail.extend(process.env.iter().map(|(k, v)| format!("{k}={v}")));
    tail.extend([
        "/usr/bin/setpriv".to_string(),
        format!("--reuid={}", process.uid),
        format!("--regid={}", process.gid),
    ]);
    tail.push(if process.groups.is_empty() {
        "--clear-groups".into()
    } else {
        let list: Vec<String> = process.groups.iter().map(u32::to_string).collect();
        format!("--groups={}", list.join(","))
    });
    // Changing uid clears the parent-death signal; keep it so PID 1 still dies with
    // `unshare`.
    tail.extend(["--pdeathsig=keep".into(), "--".into()]);
    tail.extend(argv.iter().cloned());
    tail
}

/// `path` quoted for `sh`.
fn q(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}
