//! The profile's numeric bounds judged by the real config parsers: a profile with every
//! Redis-facing number at its largest (and one with every number at its smallest) is valid,
//! and the rendered `redis.conf` and `sentinel.conf` load in `redis-server` and
//! `redis-sentinel`; one step past the bounds that Redis itself sets, the same binaries refuse
//! the file. So the schema's `maximum`s are Redis's limits, not guesses.
//!
//! Each server is started with `--port 0` and no unix socket: it parses the whole file, logs
//! "Configuration loaded" and "Configured to not listen anywhere, exiting." and exits without
//! binding anything; a config it refuses ends with "FATAL CONFIG FILE ERROR".

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use redis_sentinel_gen::profile::bounds::{
    MAX_DOWN_AFTER_MS, MAX_FAILOVER_TIMEOUT_MS, MAX_MIN_REPLICAS_TO_WRITE, MAX_QUORUM,
    MAX_REDIS_REPLICAS, MAX_SENTINELS, MIN_DOWN_AFTER_MS, MIN_FAILOVER_TIMEOUT_MS, REDIS_INT_MAX,
};
use redis_sentinel_gen::profile::load::{Source, load};
use redis_sentinel_gen::render::layout::{CONFIG_DIR, FENCE_REDIS};
use redis_sentinel_gen::validate::validate;

fn profile(spec: &str) -> String {
    format!(
        "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\nmetadata:\n  name: limits\n  \
         namespace: limits\nspec:\n  masterName: limits-master\n{spec}"
    )
}

/// Every number Redis or Sentinel reads, at the largest value the profile allows.
fn largest() -> String {
    profile(&format!(
        "  redis:\n    replicas: {MAX_REDIS_REPLICAS}\n    minReplicasToWrite: \
         {MAX_MIN_REPLICAS_TO_WRITE}\n    minReplicasMaxLag: {REDIS_INT_MAX}\n  persistence:\n    \
         rdb: [{{seconds: {REDIS_INT_MAX}, changes: {REDIS_INT_MAX}}}]\n  sentinel:\n    \
         replicas: {MAX_SENTINELS}\n    quorum: {MAX_QUORUM}\n    downAfterMilliseconds: \
         {MAX_DOWN_AFTER_MS}\n    failoverTimeout: {MAX_FAILOVER_TIMEOUT_MS}\n    parallelSyncs: \
         {MAX_REDIS_REPLICAS}\n"
    ))
}

/// Every number at the smallest value the profile allows.
fn smallest() -> String {
    profile(&format!(
        "  development: true\n  redis:\n    replicas: 1\n    minReplicasToWrite: 0\n    \
         minReplicasMaxLag: 0\n  persistence:\n    rdb: [{{seconds: 1, changes: 1}}]\n  \
         sentinel:\n    replicas: 1\n    quorum: 1\n    downAfterMilliseconds: \
         {MIN_DOWN_AFTER_MS}\n    failoverTimeout: {MIN_FAILOVER_TIMEOUT_MS}\n    parallelSyncs: 1\n"
    ))
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("rsg-limits-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `redis.conf` and `sentinel.conf` of the rendered profile, after the two edits the pods'
/// start scripts make too: the master's address in place of `@MASTER_HOST@`, and (because
/// this machine has no `/data`) the data directory moved to `dir`.
fn rendered_configs(text: &str, dir: &Path) -> (String, String) {
    let source = Source {
        name: "limits.yaml".into(),
        text: text.into(),
    };
    let loaded = load(&source).unwrap_or_else(|f| panic!("does not load: {f:#?}"));
    let findings = validate(&loaded.profile, &loaded.map);
    assert!(
        findings.iter().all(|f| !f.is_error()),
        "the profile at its bounds is invalid: {findings:#?}\n{text}"
    );
    let file = dir.join("limits.yaml");
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    let rendered = support::render_profile(&file);
    let files = support::configmap_files(&rendered);
    let find = |key: &str| {
        files
            .iter()
            .find(|(_, k, _)| k == key)
            .map(|(_, _, content)| content.clone())
            .unwrap_or_else(|| panic!("no {key} rendered"))
    };
    // Sentinel refuses a notification script that does not exist or cannot run: the rendered
    // one goes beside the configs, executable, as the ConfigMap mounts it (mode 0555).
    let fence = dir.join(FENCE_REDIS);
    std::fs::write(&fence, find(FENCE_REDIS)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&fence, std::os::unix::fs::PermissionsExt::from_mode(0o555))
        .unwrap_or_else(|e| panic!("{e}"));
    let config_dir = format!("{CONFIG_DIR}/");
    let here = format!("{}/", dir.display());
    let relocate = |conf: String| {
        conf.lines()
            .map(|line| match line.strip_prefix("dir ") {
                Some(_) => format!("dir {}", dir.display()),
                None => line
                    .replace("@MASTER_HOST@", "127.0.0.1")
                    .replace(&config_dir, &here),
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    (
        relocate(find("redis.conf")),
        relocate(find("sentinel.conf")),
    )
}

/// Run `program` on `conf` with `--port 0`: Ok(log) when the file loaded, Err(log) when the
/// parser refused it.
fn parse_with(program: &Path, conf: &str, dir: &Path, name: &str) -> Result<String, String> {
    let path = dir.join(name);
    std::fs::write(&path, conf).unwrap_or_else(|e| panic!("{e}"));
    let output = Command::new(program)
        .arg(&path)
        .args(["--port", "0"])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The server exits 1 either way; what it logged tells a loaded file from a refused one.
    if log.contains("Configuration loaded") && log.contains("Configured to not listen anywhere") {
        Ok(log)
    } else {
        assert!(
            log.contains("FATAL CONFIG FILE ERROR"),
            "{} neither loaded nor refused the config:\n{log}",
            program.display()
        );
        Err(log)
    }
}

fn tools() -> Option<(PathBuf, PathBuf)> {
    Some((
        support::require_tool("redis-server")?,
        support::require_tool("redis-sentinel")?,
    ))
}

#[test]
fn redis_and_sentinel_accept_every_number_at_its_bounds() {
    let Some((server, sentinel)) = tools() else {
        return;
    };
    for (case, text) in [("largest", largest()), ("smallest", smallest())] {
        let scratch = Scratch::new(case);
        let (redis_conf, sentinel_conf) = rendered_configs(&text, &scratch.0);
        if let Err(log) = parse_with(&server, &redis_conf, &scratch.0, "redis.conf") {
            panic!("redis-server refused the {case} redis.conf:\n{log}\n{redis_conf}");
        }
        if let Err(log) = parse_with(&sentinel, &sentinel_conf, &scratch.0, "sentinel.conf") {
            panic!("redis-sentinel refused the {case} sentinel.conf:\n{log}\n{sentinel_conf}");
        }
    }
}

/// Where the bound is Redis's own, one more is refused by Redis: the profile could not have
/// allowed more.
#[test]
fn one_past_redis_own_limits_is_refused_by_redis() {
    let Some((server, sentinel)) = tools() else {
        return;
    };
    let scratch = Scratch::new("past");
    let (redis_conf, sentinel_conf) = rendered_configs(&largest(), &scratch.0);
    let past = |conf: &str, directive: &str, at: u32, to: u64| {
        let at_line = format!("{directive} {at}");
        support::replace_once(conf, &at_line, &format!("{directive} {to}"))
    };
    let cases = [
        (
            &server,
            past(
                &redis_conf,
                "min-replicas-max-lag",
                REDIS_INT_MAX,
                u64::from(REDIS_INT_MAX) + 1,
            ),
            "redis.conf",
            "min-replicas-max-lag",
        ),
        (
            &sentinel,
            past(
                &sentinel_conf,
                "sentinel failover-timeout limits-master",
                MAX_FAILOVER_TIMEOUT_MS,
                u64::from(MAX_FAILOVER_TIMEOUT_MS) + 1,
            ),
            "sentinel.conf",
            "sentinel failover-timeout",
        ),
        (
            &sentinel,
            // down-after is bounded one lower than Sentinel's limit to leave room for a
            // greater failover timeout; two past it is past Sentinel's own limit.
            past(
                &sentinel_conf,
                "sentinel down-after-milliseconds limits-master",
                MAX_DOWN_AFTER_MS,
                u64::from(MAX_DOWN_AFTER_MS) + 2,
            ),
            "sentinel.conf",
            "sentinel down-after-milliseconds",
        ),
    ];
    for (program, conf, name, directive) in cases {
        match parse_with(program, &conf, &scratch.0, name) {
            Ok(log) => panic!(
                "{} accepted a value past the profile's bound:\n{log}\n{conf}",
                program.display()
            ),
            // Refused for that line, not for anything else in the file.
            Err(log) => assert!(
                log.contains(&format!(">>> '{directive} ")),
                "{} refused the file for another reason than {directive}:\n{log}",
                program.display()
            ),
        }
    }
}
