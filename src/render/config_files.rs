//! The text files inside the ConfigMaps: `redis.conf`, `sentinel.conf` and the POSIX `sh`
//! scripts, rendered from `templates/` with one documented context.

use anyhow::Result;
use serde::Serialize;

use crate::memory;
use crate::profile::defaults::{
    REDIS_PORT, SENTINEL_PORT, SHUTDOWN_RESERVE_SECONDS, SHUTDOWN_TIMEOUT_SECONDS,
};
use crate::profile::spec::{Fsync, SavePoint};
use crate::render::layout;
use crate::resolve::Deployment;
use crate::templates;

/// What every template sees. Every value is already safe to write into a config file or a
/// shell script: validation rejected anything that could inject.
#[derive(Debug, Serialize)]
pub struct ConfigContext {
    /// Names the profile in the generated-file header: its `metadata.name`, not its path, so
    /// the files (and the checksum that rolls the pods) do not depend on where or how the
    /// profile path was typed.
    pub source: String,
    /// Sentinel master name.
    pub master_name: String,
    pub redis_port: u16,
    pub sentinel_port: u16,
    /// `<headless>.<ns>.svc.<domain>`: a Redis pod is `$POD_NAME.<redis_pod_domain>`.
    pub redis_pod_domain: String,
    /// Same for Sentinel pods.
    pub sentinel_pod_domain: String,
    /// FQDN of `redis-master-0`: the master when nobody knows better (first boot).
    pub initial_master_host: String,
    /// FQDN of every Redis pod, master first.
    pub redis_hosts: Vec<String>,
    /// FQDN of every Sentinel pod.
    pub sentinel_hosts: Vec<String>,
    pub quorum: u32,
    pub down_after_milliseconds: u32,
    pub failover_timeout: u32,
    pub parallel_syncs: u32,
    /// Password auth on: the scripts read it from `$REDIS_PASSWORD`.
    pub auth: bool,
    /// RDB save points; empty means `save ""`.
    pub rdb: Vec<SavePoint>,
    /// `appendfsync` value, or `None` for `appendonly no`.
    pub appendfsync: Option<&'static str>,
    pub min_replicas_to_write: u32,
    pub min_replicas_max_lag: u32,
    /// Seconds the master's preStop hook may wait for Sentinel to name a new master; leaves
    /// the rest of the termination grace period for Redis to save and exit.
    pub prestop_wait_seconds: u32,
    /// Seconds a Redis pod's preStop hook may first wait until no other Redis pod is down,
    /// syncing or leaving (`spec.redis.rolloutWaitSeconds`).
    pub rollout_wait_seconds: u32,
    /// Seconds a Sentinel's preStop hook may wait for a hand-over under way; leaves the
    /// rest of the Sentinel's grace period for it to exit.
    pub sentinel_prestop_wait_seconds: u32,
    /// Seconds of the grace period kept for Redis after the preStop hook.
    pub shutdown_reserve_seconds: u32,
    /// `shutdown-timeout`: the part of that reserve spent waiting for lagging replicas; the
    /// rest is for the final save.
    pub shutdown_timeout_seconds: u32,
    /// Mount points and file names (`render::layout`).
    pub config_dir: &'static str,
    pub data_dir: &'static str,
    pub lib_sh: &'static str,
    /// `maxmemory` in bytes and its policy.
    pub maxmemory: u64,
    pub maxmemory_policy: &'static str,
    /// The memory limit the budget was made from, for the comment in `redis.conf`.
    pub memory_limit: String,
    /// `client-output-buffer-limit replica <hard> <soft> <seconds>`, bytes and seconds.
    pub replica_buffer_hard: u64,
    pub replica_buffer_soft: u64,
    pub replica_buffer_soft_seconds: u32,
    /// Dumps the backup job keeps (`spec.backup.retention`); 0 with backups off.
    pub backup_retention: u32,
    /// Sentinel's script that fences a deposed master.
    pub fence_redis: &'static str,
    /// `repl-backlog-size` in MiB ([`repl_backlog_mib`]).
    pub repl_backlog_mib: u64,
}

/// `repl-backlog-size`: 1/32 of the Redis container's memory limit, between 4 and 256 MiB.
/// The backlog is what lets a replica that was away for a moment (a failover reconfigures
/// every replica; the deposed master rejoins the new one) resync partially instead of copying
/// the whole data set; Redis's 1 MiB default covers a second of a busy master. A share of the
/// memory limit grows with what the operator sized the pod for, and stays small next to it.
pub fn repl_backlog_mib(limits_memory: &str) -> u64 {
    const MIB: u64 = 1024 * 1024;
    (crate::quantity::bytes(limits_memory) / 32 / MIB).clamp(4, 256)
}

impl ConfigContext {
    pub fn new(dep: &Deployment) -> Self {
        ConfigContext {
            source: format!("profile `{}`", dep.instance),
            master_name: dep.master_name.clone(),
            redis_port: REDIS_PORT,
            sentinel_port: SENTINEL_PORT,
            redis_pod_domain: dep.redis_pod_domain(),
            sentinel_pod_domain: dep.sentinel_pod_domain(),
            initial_master_host: dep.redis_pod_hosts()[0].clone(),
            redis_hosts: dep.redis_pod_hosts(),
            sentinel_hosts: dep.sentinel_pod_hosts(),
            quorum: dep.sentinel.quorum,
            down_after_milliseconds: dep.sentinel.down_after_milliseconds,
            failover_timeout: dep.sentinel.failover_timeout,
            parallel_syncs: dep.sentinel.parallel_syncs,
            auth: dep.auth.is_some(),
            rdb: dep.persistence.rdb.clone(),
            appendfsync: dep.persistence.aof_fsync.map(|f| match f {
                Fsync::Always => "always",
                Fsync::Everysec => "everysec",
                Fsync::No => "no",
            }),
            min_replicas_to_write: dep.redis.min_replicas_to_write,
            min_replicas_max_lag: dep.redis.min_replicas_max_lag,
            prestop_wait_seconds: dep
                .redis
                .termination_grace_period_seconds
                .saturating_sub(SHUTDOWN_RESERVE_SECONDS + dep.redis.rollout_wait_seconds)
                .max(1),
            rollout_wait_seconds: dep.redis.rollout_wait_seconds,
            sentinel_prestop_wait_seconds: crate::render::sentinel::PRESTOP_WAIT_SECONDS,
            shutdown_reserve_seconds: SHUTDOWN_RESERVE_SECONDS,
            shutdown_timeout_seconds: SHUTDOWN_TIMEOUT_SECONDS,
            config_dir: layout::CONFIG_DIR,
            data_dir: layout::DATA_DIR,
            lib_sh: layout::LIB_SH,
            backup_retention: dep.backup.as_ref().map_or(0, |b| b.retention),
            maxmemory: dep.redis.maxmemory,
            maxmemory_policy: dep.redis.maxmemory_policy.as_str(),
            memory_limit: dep.redis.resources.limits_memory.clone(),
            replica_buffer_hard: dep.redis.memory.replica_buffer_hard,
            replica_buffer_soft: dep.redis.memory.replica_buffer_soft,
            replica_buffer_soft_seconds: memory::REPLICA_BUFFER_SOFT_SECONDS,
            fence_redis: layout::FENCE_REDIS,
            repl_backlog_mib: repl_backlog_mib(&dep.redis.resources.limits_memory),
        }
    }
}

/// The files of one ConfigMap, as (key, content), in key order.
pub type Files = Vec<(&'static str, String)>;

/// Files of the Redis ConfigMap.
pub fn redis_files(dep: &Deployment) -> Result<Files> {
    render_files(
        dep,
        &[
            (layout::FAILOVER_REDIS, "failover-redis.sh.j2"),
            (layout::LIB_SH, "lib.sh.j2"),
            (layout::PRESTOP_REDIS, "prestop-redis.sh.j2"),
            (layout::PROBE_REDIS, "probe-redis.sh.j2"),
            (layout::REDIS_CONF, "redis.conf.j2"),
            (layout::ROTATE_PASSWORD, "rotate-password.sh.j2"),
            (layout::START_REDIS, "start-redis.sh.j2"),
        ],
    )
}

/// (ConfigMap key, template) of every file of the Sentinel ConfigMap.
pub const SENTINEL_FILES: &[(&str, &str)] = &[
    (layout::FENCE_REDIS, "fence-redis.sh.j2"),
    (layout::LIB_SH, "lib.sh.j2"),
    (layout::PRESTOP_SENTINEL, "prestop-sentinel.sh.j2"),
    (layout::PROBE_SENTINEL, "probe-sentinel.sh.j2"),
    (layout::ROTATE_PASSWORD, "rotate-password.sh.j2"),
    (layout::SENTINEL_CONF, "sentinel.conf.j2"),
    (layout::START_SENTINEL, "start-sentinel.sh.j2"),
];

/// Files of the Sentinel ConfigMap.
pub fn sentinel_files(dep: &Deployment) -> Result<Files> {
    render_files(dep, SENTINEL_FILES)
}

/// Files of the backup ConfigMap: its own, so a backup change never rolls the Redis pods.
pub fn backup_files(dep: &Deployment) -> Result<Files> {
    render_files(
        dep,
        &[
            (layout::BACKUP_SH, "backup.sh.j2"),
            (layout::LIB_SH, "lib.sh.j2"),
        ],
    )
}

/// Render each (ConfigMap key, template) with one context, sorted by key.
fn render_files(dep: &Deployment, entries: &[(&'static str, &str)]) -> Result<Files> {
    let ctx = ConfigContext::new(dep);
    let mut files = entries
        .iter()
        .map(|(key, template)| Ok((*key, templates::render(template, &ctx)?)))
        .collect::<Result<Files>>()?;
    files.sort_by_key(|(key, _)| *key);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::spec::Profile;
    use crate::resolve::resolve;

    fn deployment(yaml: &str) -> Deployment {
        let profile: Profile = serde_saphyr::from_str(yaml).expect("profile parses");
        resolve(&profile, "test.yaml")
    }

    fn file<'a>(files: &'a Files, key: &str) -> &'a str {
        &files
            .iter()
            .find(|(k, _)| *k == key)
            .expect("file present")
            .1
    }

    #[test]
    fn reference_profile_config_carries_its_timings_and_persistence() {
        let dep = deployment(include_str!("../../profiles/welcomebot.yaml"));
        let redis = redis_files(&dep).unwrap();
        let conf = file(&redis, layout::REDIS_CONF);
        for line in [
            "save 900 1\n",
            "save 300 10\n",
            "save 60 10000\n",
            "appendonly yes\n",
            "appendfsync everysec\n",
            "min-replicas-to-write 1\n",
            "min-replicas-max-lag 10\n",
            "repl-diskless-sync-delay 0\n",
            // 512Mi / 32
            "repl-backlog-size 16mb\n",
        ] {
            assert!(conf.contains(line), "redis.conf lacks {line:?}:\n{conf}");
        }
        assert!(!conf.contains("rename-command"), "CONFIG must stay enabled");

        let sentinel = sentinel_files(&dep).unwrap();
        let conf = file(&sentinel, layout::SENTINEL_CONF);
        for line in [
            "sentinel monitor welcomebot-master @MASTER_HOST@ 6379 2\n",
            "sentinel down-after-milliseconds welcomebot-master 5000\n",
            "sentinel failover-timeout welcomebot-master 10000\n",
            "sentinel parallel-syncs welcomebot-master 1\n",
            "sentinel resolve-hostnames yes\n",
            "sentinel announce-hostnames yes\n",
            "sentinel deny-scripts-reconfig yes\n",
            "sentinel notification-script welcomebot-master /config/fence-redis.sh\n",
            "sentinel client-reconfig-script welcomebot-master /config/fence-redis.sh\n",
        ] {
            assert!(conf.contains(line), "sentinel.conf lacks {line:?}:\n{conf}");
        }
        let lib = file(&sentinel, layout::LIB_SH);
        assert!(lib.contains(
            "SENTINEL_HOSTS='redis-sentinel-0.redis-sentinel-headless.welcomebot.svc.cluster.local \
             redis-sentinel-1.redis-sentinel-headless.welcomebot.svc.cluster.local \
             redis-sentinel-2.redis-sentinel-headless.welcomebot.svc.cluster.local'"
        ));
    }

    #[test]
    fn the_backlog_is_a_share_of_the_memory_limit_within_bounds() {
        assert_eq!(repl_backlog_mib("512Mi"), 16);
        assert_eq!(repl_backlog_mib("4Gi"), 128);
        assert_eq!(repl_backlog_mib("64Mi"), 4);
        assert_eq!(repl_backlog_mib("64Gi"), 256);
    }

    #[test]
    fn persistence_off_and_auth_off_render_as_such() {
        let dep = deployment(
            "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\n\
             metadata: {name: x}\nspec:\n  masterName: m\n  auth: {enabled: false}\n\
             \x20 persistence: {rdb: [], aof: {enabled: false}, acknowledgeDataLossOnRestart: true}\n",
        );
        let redis = redis_files(&dep).unwrap();
        let conf = file(&redis, layout::REDIS_CONF);
        assert!(
            conf.contains("save \"\"\n") && conf.contains("appendonly no\n"),
            "{conf}"
        );
        let start = file(&redis, layout::START_REDIS);
        assert!(!start.contains("requirepass") && !start.contains("REDIS_PASSWORD"));
    }

    #[test]
    fn config_files_do_not_depend_on_how_the_profile_path_was_typed() {
        let profile: Profile =
            serde_saphyr::from_str(include_str!("../../profiles/welcomebot.yaml")).unwrap();
        let a = resolve(&profile, "profiles/welcomebot.yaml");
        let b = resolve(&profile, "/home/ci/checkout/./profiles/welcomebot.yaml");
        assert_eq!(redis_files(&a).unwrap(), redis_files(&b).unwrap());
        assert_eq!(sentinel_files(&a).unwrap(), sentinel_files(&b).unwrap());
    }

    #[test]
    fn files_are_sorted_by_key() {
        let dep = deployment(include_str!("../../profiles/ha-5.yaml"));
        for files in [redis_files(&dep).unwrap(), sentinel_files(&dep).unwrap()] {
            let keys: Vec<_> = files.iter().map(|(k, _)| *k).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted);
        }
    }
}
