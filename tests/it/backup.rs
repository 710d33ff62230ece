//! The backup job (issue 6) run for real: the rendered `backup.sh` and `lib.sh`, with the
//! rendered CronJob's command and env, against a real master, two replicas and a Sentinel on
//! loopback. Every process sees the pod DNS names through a private `/etc/hosts` (its own
//! mount namespace), as in the cluster, and the Redis pods announce those names.
//!
//! Proves: the dump comes from a replica and never from the master, it is a loadable RDB (a
//! fresh redis-server started on it has the keys), retention keeps the newest N, and with no
//! healthy replica the job fails instead of dumping the master.

use crate::support;

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Container;

/// Loopback addresses of this test (issue 6 owns 127.0.0.140–179).
const MASTER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 150);
const REPLICA_IPS: [Ipv4Addr; 2] = [Ipv4Addr::new(127, 0, 0, 151), Ipv4Addr::new(127, 0, 0, 152)];
/// redis-sentinel-0 runs; -1 and -2 resolve to addresses where nothing listens, so the script
/// meets refused connections, as with Sentinels that are down.
const SENTINEL_IPS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(127, 0, 0, 153),
    Ipv4Addr::new(127, 0, 0, 154),
    Ipv4Addr::new(127, 0, 0, 155),
];
const RESTORE_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 156);
const RESTORE_AOF_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 157);
const PASSWORD: &str = "backup-test-password";
const KEYS: usize = 200;
const RETENTION: usize = 2;

/// Child processes killed when the test ends, also on panic.
struct Processes(Vec<Child>);

impl Processes {
    fn spawn(&mut self, mut command: Command) {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        self.0.push(child);
    }

    fn kill(&mut self, index: usize) {
        let _ = self.0[index].kill();
        let _ = self.0[index].wait();
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `program args…` in a mount namespace of its own where `hosts` is `/etc/hosts`. `exec`
/// keeps the PID, so killing the child kills the server.
fn with_hosts(hosts: &Path, program: &Path, args: &[String]) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind "$0" /etc/hosts && exec "$@""#)
        .arg(hosts)
        .arg(program)
        .args(args);
    command
}

fn wait_for_port(ip: Ipv4Addr, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((ip, port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {ip}:{port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cli(ip: Ipv4Addr, port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .env("REDISCLI_AUTH", PASSWORD)
        .args(["-h", &ip.to_string(), "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn poll(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn dumps(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("backup dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn count_lines(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// The reference profile with a retention of [`RETENTION`], rendered by the binary.
fn render(dir: &Path) -> String {
    let text = std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .expect("reference profile");
    assert!(
        text.contains("retention: 7"),
        "the reference profile changed"
    );
    let profile = dir.join("welcomebot-backup.yaml");
    std::fs::write(
        &profile,
        support::replace_once(&text, "retention: 7", &format!("retention: {RETENTION}")),
    )
    .expect("write profile");
    support::render_profile(&profile)
}

fn backup_container(rendered: &str) -> Container {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(rendered).expect("YAML");
    let job: CronJob = docs
        .into_iter()
        .find(|d| d["kind"] == "CronJob")
        .map(|d| serde_json::from_value(d).expect("CronJob parses"))
        .expect("a CronJob");
    job.spec
        .and_then(|s| s.job_template.spec)
        .and_then(|j| j.template.spec)
        .map(|p| p.containers)
        .and_then(|c| c.into_iter().next())
        .expect("the backup container")
}

/// Run the job's container as the kubelet would, with `/config` and the backup volume mapped
/// to `config` and `backup`, and the Secret's password.
fn run_job(container: &Container, hosts: &Path, config: &Path, backup: &Path) -> Output {
    let command = container.command.clone().expect("command");
    assert!(container.args.is_none());
    let script = command[1]
        .strip_prefix("/config/")
        .expect("the command runs a /config script");
    let mut args = vec![config.join(script).to_string_lossy().into_owned()];
    args.extend(command[2..].iter().cloned());
    let mut run = with_hosts(hosts, Path::new(&command[0]), &args);
    run.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (_, Some(_)) => PASSWORD.to_string(),
            (Some(v), None) if v == "/backup" => backup.to_string_lossy().into_owned(),
            (Some(v), None) => v.clone(),
            (None, None) => String::new(),
        };
        run.env(&var.name, value);
    }
    run.output().expect("the backup job runs")
}

#[test]
fn backup_job_dumps_a_replica_into_a_loadable_rdb_and_keeps_the_newest_n() {
    let (Some(server), Some(sentinel), Some(_)) = (
        support::require_tool("redis-server"),
        support::require_tool("redis-sentinel"),
        support::require_tool("redis-cli"),
    ) else {
        return;
    };
    if !support::require_root("the backup test") {
        return;
    }
    let _turn = support::real_redis_turn();
    let _lock = support::address_lock("backup");
    // Per process: a second `cargo test` in the same checkout must not wipe this one's files.
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (config, backup) = (dir.join("config"), dir.join("backup"));
    for d in [&dir, &config, &backup] {
        std::fs::create_dir_all(d).expect("dirs");
    }
    let rendered = render(&dir);
    for (name, key, content) in support::configmap_files(&rendered) {
        if name == "redis-backup-config" {
            std::fs::write(config.join(key), content).expect("config file");
        }
    }
    let container = backup_container(&rendered);

    let domain = |service: &str| format!("{service}.welcomebot.svc.cluster.local");
    let master_host = format!("redis-master-0.{}", domain("redis-headless"));
    let replica_hosts: Vec<String> = (0..2)
        .map(|i| format!("redis-replica-{i}.{}", domain("redis-headless")))
        .collect();
    let mut hosts_text = format!("127.0.0.1 localhost\n{MASTER_IP} {master_host}\n");
    for (ip, host) in REPLICA_IPS.iter().zip(&replica_hosts) {
        hosts_text.push_str(&format!("{ip} {host}\n"));
    }
    for (i, ip) in SENTINEL_IPS.iter().enumerate() {
        hosts_text.push_str(&format!(
            "{ip} redis-sentinel-{i}.{}\n",
            domain("redis-sentinel-headless")
        ));
    }
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, hosts_text).expect("hosts");

    let mut processes = Processes(Vec::new());
    let redis_args = |ip: Ipv4Addr, host: &str, name: &str, extra: &[&str]| -> Vec<String> {
        let data = dir.join(name);
        std::fs::create_dir_all(&data).expect("data dir");
        [
            "--bind",
            &ip.to_string(),
            "--bind-source-addr",
            &ip.to_string(),
            "--port",
            "6379",
            "--requirepass",
            PASSWORD,
            "--masterauth",
            PASSWORD,
            "--save",
            "",
            "--appendonly",
            "no",
            "--replica-announce-ip",
            host,
            "--dir",
            &data.to_string_lossy(),
            "--logfile",
            &dir.join(format!("{name}.log")).to_string_lossy(),
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };
    processes.spawn(with_hosts(
        &hosts,
        &server,
        &redis_args(MASTER_IP, &master_host, "master", &[]),
    ));
    wait_for_port(MASTER_IP, 6379);
    for (i, ip) in REPLICA_IPS.iter().enumerate() {
        let args = redis_args(
            *ip,
            &replica_hosts[i],
            &format!("replica-{i}"),
            &["--replicaof", &master_host, "6379"],
        );
        processes.spawn(with_hosts(&hosts, &server, &args));
        wait_for_port(*ip, 6379);
    }
    let sentinel_conf = dir.join("sentinel.conf");
    std::fs::write(
        &sentinel_conf,
        format!(
            "bind {}\nport 26379\nrequirepass {PASSWORD}\nsentinel resolve-hostnames yes\n\
             sentinel announce-hostnames yes\n\
             sentinel monitor welcomebot-master {master_host} 6379 1\n\
             sentinel auth-pass welcomebot-master {PASSWORD}\n",
            SENTINEL_IPS[0]
        ),
    )
    .expect("sentinel.conf");
    processes.spawn(with_hosts(
        &hosts,
        &sentinel,
        &[sentinel_conf.to_string_lossy().into_owned()],
    ));
    wait_for_port(SENTINEL_IPS[0], 26379);

    for i in 0..KEYS {
        cli(
            MASTER_IP,
            6379,
            &["SET", &format!("key:{i}"), &format!("value-{i}")],
        );
    }
    assert_eq!(cli(MASTER_IP, 6379, &["WAIT", "2", "5000"]), "2");
    poll("the Sentinel to see both replicas healthy", || {
        let reply = cli(
            SENTINEL_IPS[0],
            26379,
            &["SENTINEL", "replicas", "welcomebot-master"],
        );
        reply.lines().filter(|l| *l == "master-link-status").count() == 2
            && reply.lines().filter(|l| *l == "ok").count() == 2
    });

    let master_log = dir.join("master.log");
    let syncs = "asks for synchronization";
    let master_syncs = count_lines(&master_log, syncs);
    let replica_syncs = |dir: &Path| {
        (0..2)
            .map(|i| count_lines(&dir.join(format!("replica-{i}.log")), syncs))
            .sum::<usize>()
    };
    let replica_syncs_before = replica_syncs(&dir);

    let runs = RETENTION + 2;
    let mut all_names = Vec::new();
    for run in 1..=runs {
        if run > 1 {
            // Dump names carry the second; two runs in one second would share a name.
            std::thread::sleep(Duration::from_millis(1100));
        }
        let output = run_job(&container, &hosts, &config, &backup);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "backup run {run} failed:\n{stderr}"
        );
        let names = dumps(&backup);
        assert_eq!(
            names.len(),
            run.min(RETENTION),
            "after run {run}: {names:?}\n{stderr}"
        );
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("dump-") && n.ends_with(".rdb")),
            "{names:?}"
        );
        all_names.push(names.last().cloned().expect("a dump"));
    }
    // Retention kept the newest ones.
    assert_eq!(dumps(&backup), all_names[runs - RETENTION..].to_vec());
    assert_eq!(
        count_lines(&master_log, syncs),
        master_syncs,
        "the master served a backup"
    );
    assert_eq!(
        replica_syncs(&dir),
        replica_syncs_before + runs,
        "each run dumps one replica"
    );

    // The newest dump loads, in both layouts of the README's restore procedure: as
    // `dump.rdb` with AOF off, and as the AOF's base file with AOF on (where a `dump.rdb`
    // would be ignored).
    let newest = backup.join(&all_names[runs - 1]);
    let restore = dir.join("restore");
    std::fs::create_dir_all(&restore).expect("restore dir");
    std::fs::copy(&newest, restore.join("dump.rdb")).expect("copy");
    let restore_aof = dir.join("restore-aof");
    let aof_dir = restore_aof.join("appendonlydir");
    std::fs::create_dir_all(&aof_dir).expect("AOF dir");
    std::fs::copy(&newest, aof_dir.join("appendonly.aof.1.base.rdb")).expect("copy");
    std::fs::write(
        aof_dir.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.rdb seq 1 type b\n",
    )
    .expect("manifest");
    for (ip, data, aof) in [
        (RESTORE_IP, &restore, "no"),
        (RESTORE_AOF_IP, &restore_aof, "yes"),
    ] {
        let mut restored = Command::new(&server);
        restored.args([
            "--bind",
            &ip.to_string(),
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            aof,
            "--requirepass",
            PASSWORD,
            "--dir",
            &data.to_string_lossy(),
        ]);
        processes.spawn(restored);
        wait_for_port(ip, 6379);
        assert_eq!(
            cli(ip, 6379, &["DBSIZE"]),
            KEYS.to_string(),
            "appendonly {aof}"
        );
        assert_eq!(
            cli(ip, 6379, &["GET", "key:42"]),
            "value-42",
            "appendonly {aof}"
        );
    }

    // With both replicas gone the job fails and never falls back to the master.
    processes.kill(1);
    processes.kill(2);
    let output = run_job(&container, &hosts, &config, &backup);
    assert!(
        !output.status.success(),
        "a backup without replicas succeeded"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no healthy replica"), "{stderr}");
    assert_eq!(dumps(&backup), all_names[runs - RETENTION..].to_vec());
    assert_eq!(
        count_lines(&master_log, syncs),
        master_syncs,
        "the master served a backup"
    );

    drop(processes);
    let _ = std::fs::remove_dir_all(&dir);
}
