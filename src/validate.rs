//! Validation (DESIGN §3.1): every rule a structurally sound profile must also satisfy, with
//! every finding returned at once. Defaults come from `resolve`, so validation judges the
//! same values the renderers will write.
//!
//! Every string that reaches a config file or a shell script is held to a character class
//! that the target syntax can carry as is; nothing is escaped silently.

use crate::diagnostic::{self, Finding};
use crate::profile::load::SourceMap;
use crate::profile::spec::{API_VERSION, KIND, Profile, ResourceAmounts, Resources};
use crate::quantity::Quantity;
use crate::render::config_files::SHUTDOWN_RESERVE_SECONDS;
use crate::resolve::{self, ContainerResources, Effective};

/// Oldest Redis with `replica-announce-ip` hostnames, `resolve-hostnames` /
/// `announce-hostnames` and re-resolution of a restarted pod's new IP (7.0.8 fixed Sentinel
/// keeping a stale IP for a hostname).
const MIN_REDIS: (u64, u64, u64) = (7, 0, 8);

/// A StatefulSet's pods carry `controller-revision-hash: <name>-<10 characters>`, a label
/// value of at most 63 characters.
const MAX_STATEFULSET_NAME: usize = 52;
const MAX_LABEL: usize = 63;
const MAX_SUBDOMAIN: usize = 253;

const QUANTITY_EXAMPLES: &str =
    "a Kubernetes quantity such as 5Gi, 5G or 5000M (units Ki Mi Gi Ti Pi Ei, k M G T P E, m)";

/// Every finding about `profile`, sorted by position.
pub fn validate(profile: &Profile, map: &SourceMap) -> Vec<Finding> {
    let mut check = Check {
        profile,
        map,
        eff: Effective::of(profile),
        findings: Vec::new(),
    };
    check.identity();
    check.names();
    check.master_name();
    check.image();
    check.auth();
    check.sentinel();
    check.redis();
    check.persistence();
    check.endpoints();
    check.migration();
    check.operations();
    diagnostic::sort(&mut check.findings);
    check.findings
}

struct Check<'a> {
    profile: &'a Profile,
    map: &'a SourceMap,
    eff: Effective,
    findings: Vec<Finding>,
}

impl Check<'_> {
    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    fn identity(&mut self) {
        let p = self.profile;
        for (path, found, expected) in [
            ("apiVersion", &p.api_version, API_VERSION),
            ("kind", &p.kind, KIND),
        ] {
            if found != expected {
                let finding = self
                    .map
                    .error(
                        path,
                        format!("this is not a redis-sentinel-gen profile: wrong `{path}`"),
                    )
                    .found(found)
                    .valid(expected);
                self.push(finding);
            }
        }
    }

    fn names(&mut self) {
        let p = self.profile;
        let spec = &p.spec;
        self.dns_label("metadata.name", Some(&p.metadata.name));
        self.dns_label("metadata.namespace", p.metadata.namespace.as_deref());
        self.name_prefix();
        let auth = spec.auth.as_ref();
        self.dns_subdomain(
            "spec.auth.secretName",
            auth.and_then(|a| a.secret_name.as_deref()),
        );
        if let Some(key) = auth.and_then(|a| a.secret_key.as_deref()) {
            let fits = !key.is_empty()
                && key.len() <= MAX_SUBDOMAIN
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            if !fits {
                let finding = self
                    .map
                    .error("spec.auth.secretKey", "invalid Secret key")
                    .found(key)
                    .valid("letters, digits, `-`, `.` and `_` only (at most 253), e.g. `password`");
                self.push(finding);
            }
        }
        let storage = spec.redis.as_ref().and_then(|r| r.storage.as_ref());
        self.dns_subdomain(
            "spec.redis.storage.storageClassName",
            storage.and_then(|s| s.storage_class_name.as_deref()),
        );
        let storage = spec.sentinel.as_ref().and_then(|s| s.storage.as_ref());
        self.dns_subdomain(
            "spec.sentinel.storage.storageClassName",
            storage.and_then(|s| s.storage_class_name.as_deref()),
        );
        for (i, client) in spec.clients.iter().enumerate() {
            self.dns_subdomain(&format!("spec.clients[{i}].name"), Some(&client.name));
            self.dns_label(
                &format!("spec.clients[{i}].container"),
                Some(&client.container),
            );
            if let Some(first) = spec.clients[..i].iter().position(|c| c.name == client.name) {
                // Each client gets `clients/<name>.patch.yaml`; two would overwrite each other.
                let finding = self
                    .map
                    .error(
                        &format!("spec.clients[{i}].name"),
                        format!("client `{}` is listed twice", client.name),
                    )
                    .found(&client.name)
                    .valid(format!(
                        "a name not used by another client (spec.clients[{first}] has it)"
                    ));
                self.push(finding);
            }
        }
    }

    /// `<prefix>redis-sentinel` and friends must stay valid, short enough names.
    fn name_prefix(&mut self) {
        let Some(prefix) = self.profile.spec.name_prefix.as_deref() else {
            return;
        };
        const PATH: &str = "spec.namePrefix";
        if !prefix.is_empty() && dns_label_problem(&format!("{prefix}x")).is_some() {
            let finding = self
                .map
                .error(PATH, "invalid name prefix")
                .found(prefix)
                .valid("lowercase letters, digits and `-`, starting with a letter or digit, e.g. `sessions-`");
            return self.push(finding);
        }
        let names = resolve::resolve(self.profile, "").names;
        let limits = [
            (&names.redis_master, MAX_STATEFULSET_NAME, "StatefulSet"),
            (&names.redis_replica, MAX_STATEFULSET_NAME, "StatefulSet"),
            (&names.sentinel, MAX_STATEFULSET_NAME, "StatefulSet"),
            (&names.redis_headless, MAX_LABEL, "Service"),
            (&names.sentinel_headless, MAX_LABEL, "Service"),
        ];
        // Report the name that overshoots most: shortening the prefix by that much fixes all.
        let too_long = limits
            .iter()
            .filter(|(name, limit, _)| name.len() > *limit)
            .max_by_key(|(name, limit, _)| name.len() - limit);
        if let Some((name, limit, kind)) = too_long {
            let room = limits
                .iter()
                .map(|(name, limit, _)| limit - (name.len() - prefix.len()))
                .min()
                .unwrap_or(0);
            let finding = self
                .map
                .error(
                    PATH,
                    format!(
                        "name prefix too long ({} characters): {kind} `{name}` would have {}, \
                         more than {limit}",
                        prefix.len(),
                        name.len()
                    ),
                )
                .found(prefix)
                .valid(format!(
                    "at most {room} characters: a StatefulSet name must fit in {MAX_STATEFULSET_NAME} \
                     (its pods' controller-revision-hash label is `<name>-<10 characters>`, at most \
                     {MAX_LABEL}) and a Service name in {MAX_LABEL}"
                ));
            self.push(finding);
        }
    }

    fn dns_label(&mut self, path: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        if let Some(problem) = dns_label_problem(value) {
            let finding = self
                .map
                .error(path, format!("invalid name: {problem}"))
                .found(value)
                .valid("a DNS-1123 label: at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit");
            self.push(finding);
        }
    }

    fn dns_subdomain(&mut self, path: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        if let Some(problem) = dns_subdomain_problem(value) {
            let finding = self
                .map
                .error(path, format!("invalid name: {problem}"))
                .found(value)
                .valid("a DNS-1123 subdomain: lowercase letters, digits, `-` and `.`, at most 253, each dot-separated part starting and ending with a letter or digit");
            self.push(finding);
        }
    }

    fn master_name(&mut self) {
        let name = &self.profile.spec.master_name;
        // Written bare into `sentinel monitor <name> …` and into shell command lines.
        let fits = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !fits {
            let finding = self
                .map
                .error("spec.masterName", "invalid master name")
                .found(name)
                .valid("letters, digits, `.`, `_` and `-` only ([A-Za-z0-9._-]+): it is written unquoted into sentinel.conf and the start scripts");
            self.push(finding);
        }
    }

    fn image(&mut self) {
        const PATH: &str = "spec.image";
        let image = self
            .profile
            .spec
            .image
            .as_deref()
            .unwrap_or(resolve::DEFAULT_IMAGE);
        let fits = !image.is_empty()
            && image.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@')
            });
        if !fits {
            let finding = self
                .map
                .error(PATH, "invalid image reference")
                .found(image)
                .valid("`[registry/]name[:tag][@sha256:digest]`, e.g. `redis:7.2.5-alpine`");
            return self.push(finding);
        }
        let (reference, digest) = match image.split_once('@') {
            Some((reference, digest)) => (reference, Some(digest)),
            None => (image, None),
        };
        let last_part = reference.rsplit('/').next().unwrap_or(reference);
        let tag = last_part.split_once(':').map(|(_, tag)| tag);
        let minimum = format!(
            "Redis {}.{}.{} or later",
            MIN_REDIS.0, MIN_REDIS.1, MIN_REDIS.2
        );
        match tag.and_then(redis_version) {
            Some(version) if version < MIN_REDIS => {
                let finding = self
                    .map
                    .error(PATH, "the image is older than Redis 7.0.8")
                    .found(image)
                    .valid(format!(
                        "{minimum}, e.g. `redis:7.2.5-alpine`: older Sentinels cannot announce \
                         hostnames and keep a restarted pod's old IP"
                    ));
                self.push(finding);
            }
            Some((_, minor, patch)) if minor == u64::MAX || patch == u64::MAX => {
                let finding = self
                    .map
                    .warning(PATH, "the image tag names a Redis line, not a release")
                    .found(image)
                    .help(format!(
                        "pin the patch release, e.g. `redis:7.2.5-alpine`: a node may hold an \
                         old image of this line, and it must be {minimum}"
                    ));
                self.push(finding);
            }
            Some(_) => {}
            None if digest.is_some() => {
                let finding = self
                    .map
                    .warning(
                        PATH,
                        "the Redis version of an image pinned by digest cannot be checked",
                    )
                    .found(image)
                    .help(format!("make sure the digest is {minimum}"));
                self.push(finding);
            }
            None => {
                let finding = self
                    .map
                    .warning(PATH, "the image tag names no Redis version")
                    .found(image)
                    .help(format!(
                        "pin a version tag such as `redis:7.2.5-alpine`: a moving tag changes \
                         what runs without a change here, and must be {minimum}"
                    ));
                self.push(finding);
            }
        }
    }

    /// Auth off is allowed (a development cluster, a network policy doing the job) but never
    /// silent: without it any pod that reaches the ports can `CONFIG SET` Redis or
    /// `SENTINEL REMOVE` the master.
    fn auth(&mut self) {
        let enabled = self.profile.spec.auth.as_ref().and_then(|a| a.enabled);
        if enabled == Some(false) && self.profile.spec.development != Some(true) {
            let finding = self
                .map
                .warning("spec.auth.enabled", "authentication is off")
                .found("false")
                .help(
                    "any pod that can reach ports 6379 and 26379 can reconfigure Redis and \
                     Sentinel; keep auth on outside development",
                );
            self.push(finding);
        }
    }

    fn sentinel(&mut self) {
        let n = self.eff.sentinel_replicas;
        let sentinel = self.profile.spec.sentinel.as_ref();
        const REPLICAS: &str = "spec.sentinel.replicas";
        if n == 0 {
            let finding = self
                .map
                .error(REPLICAS, "there must be Sentinels")
                .found(n)
                .valid("an odd number, at least 3: without Sentinels nothing fails over");
            self.push(finding);
        } else if n.is_multiple_of(2) {
            let finding = self
                .map
                .error(REPLICAS, "the number of Sentinels must be odd")
                .found(n)
                .valid(format!(
                    "an odd number, at least 3 (e.g. {}): {n} Sentinels survive no more losses \
                     than {}, and a 50/50 split elects no one",
                    (n + 1).max(3),
                    n - 1
                ));
            self.push(finding);
        } else if n < 3 {
            if self.profile.spec.development == Some(true) {
                let finding = self
                    .map
                    .warning(REPLICAS, "one Sentinel is no high availability")
                    .found(n)
                    .help("fine for development; use 3 or more Sentinels in production");
                self.push(finding);
            } else {
                let finding = self
                    .map
                    .error(REPLICAS, "one Sentinel cannot fail over safely")
                    .found(n)
                    .valid("3 or more (odd): a lone Sentinel is a single point of failure and cannot tell a dead master from its own network trouble")
                    .help("for a development profile, set `spec.development: true`");
                self.push(finding);
            }
        }
        if let Some(quorum) = sentinel.and_then(|s| s.quorum) {
            let required = resolve::quorum_for(n);
            if quorum != required {
                let finding = self
                    .map
                    .error("spec.sentinel.quorum", format!("quorum must be the majority of {n} Sentinels"))
                    .found(quorum)
                    .valid(format!(
                        "{required} (⌊{n}/2⌋ + 1): a lower quorum lets a minority declare the master \
                         down; a higher one blocks failover once one Sentinel is lost"
                    ))
                    .help("or leave `quorum` out: it defaults to the majority");
                self.push(finding);
            }
        }
        let down_after = self.eff.down_after_milliseconds;
        let failover = self.eff.failover_timeout;
        if down_after < 1000 {
            let finding = self
                .map
                .error("spec.sentinel.downAfterMilliseconds", "down-after-milliseconds is too short")
                .found(down_after)
                .valid("at least 1000: a shorter silence (a GC pause, an fsync, a network blip) would make Sentinels fail over from a healthy master");
            self.push(finding);
        }
        if failover <= down_after {
            // Point at whichever of the two the profile actually wrote.
            let path = if sentinel.and_then(|s| s.failover_timeout).is_some() {
                "spec.sentinel.failoverTimeout"
            } else {
                "spec.sentinel.downAfterMilliseconds"
            };
            let finding = self
                .map
                .error(
                    path,
                    format!(
                        "failoverTimeout ({failover}) must be greater than \
                         downAfterMilliseconds ({down_after})"
                    ),
                )
                .found(if path.ends_with("failoverTimeout") {
                    failover
                } else {
                    down_after
                })
                .valid(format!(
                    "failoverTimeout above {down_after} (e.g. {}): a failover cannot finish before \
                     the master is even considered down",
                    down_after * 2
                ));
            self.push(finding);
        }
        if let Some(parallel) = sentinel.and_then(|s| s.parallel_syncs) {
            let replicas = self.eff.redis_replicas;
            if replicas > 0 && !(1..=replicas).contains(&parallel) {
                let finding = self
                    .map
                    .error("spec.sentinel.parallelSyncs", "parallelSyncs out of range")
                    .found(parallel)
                    .valid(format!(
                        "1 to {replicas} (redis.replicas): replicas resyncing with the new master \
                         at once; 0 would never reconfigure them"
                    ));
                self.push(finding);
            }
        }
        self.resources(
            "spec.sentinel.resources",
            sentinel.and_then(|s| s.resources.as_ref()),
            |dep| dep.sentinel.resources.clone(),
        );
        self.storage_size(
            "spec.sentinel.storage.size",
            sentinel
                .and_then(|s| s.storage.as_ref())
                .and_then(|s| s.size.as_deref()),
        );
    }

    fn redis(&mut self) {
        let redis = self.profile.spec.redis.as_ref();
        let replicas = self.eff.redis_replicas;
        if replicas == 0 {
            let finding = self
                .map
                .error("spec.redis.replicas", "Redis needs at least one replica")
                .found(0)
                .valid("1 or more: with no replica there is nothing to fail over to");
            self.push(finding);
        }
        let to_write = redis.and_then(|r| r.min_replicas_to_write);
        if let Some(to_write) = to_write
            && replicas > 0
            && to_write > replicas - 1
        {
            let finding = self
                .map
                .error(
                    "spec.redis.minReplicasToWrite",
                    format!("minReplicasToWrite is too high for {replicas} replicas"),
                )
                .found(to_write)
                .valid(format!(
                    "0 to {} (redis.replicas − 1): after a failover with the old master still \
                     down the new master has only {} connected, and would refuse every write",
                    replicas - 1,
                    plural(replicas - 1, "replica")
                ));
            self.push(finding);
        }
        if redis.and_then(|r| r.min_replicas_max_lag) == Some(0)
            && self.eff.min_replicas_to_write > 0
        {
            let finding = self
                .map
                .error("spec.redis.minReplicasMaxLag", "minReplicasMaxLag 0 turns minReplicasToWrite off")
                .found(0)
                .valid("1 or more seconds: Redis checks min-replicas-to-write only when min-replicas-max-lag is set too");
            self.push(finding);
        }
        let rollout_wait = self.eff.rollout_wait_seconds;
        if rollout_wait > resolve::MAX_ROLLOUT_WAIT_SECONDS {
            let finding = self
                .map
                .error(
                    "spec.redis.rolloutWaitSeconds",
                    "the rollout wait is too long",
                )
                .found(rollout_wait)
                .valid(format!(
                    "0 to {}: a Redis pod's termination grace period covers this wait, and a pod \
                     that takes longer to stop holds up node drains",
                    resolve::MAX_ROLLOUT_WAIT_SECONDS
                ));
            self.push(finding);
        }
        if let Some(grace) = redis.and_then(|r| r.termination_grace_period_seconds) {
            let failover_seconds = self.eff.failover_timeout.div_ceil(1000);
            let minimum = rollout_wait + failover_seconds + SHUTDOWN_RESERVE_SECONDS;
            if grace < minimum {
                let finding = self
                    .map
                    .error("spec.redis.terminationGracePeriodSeconds", "the termination grace period is too short for a failover")
                    .found(grace)
                    .valid(format!(
                        "at least {minimum}: a Redis pod's preStop hook waits up to rolloutWaitSeconds \
                         ({rollout_wait} s) for the other Redis pods, then up to failoverTimeout \
                         ({failover_seconds} s) for Sentinel to name a new master, then Redis needs \
                         {SHUTDOWN_RESERVE_SECONDS} s to save and exit"
                    ))
                    .help(format!(
                        "or leave it out: the default is {}",
                        resolve::default_redis_grace_seconds(rollout_wait, self.eff.failover_timeout)
                    ));
                self.push(finding);
            }
        }
        self.storage_size(
            "spec.redis.storage.size",
            redis
                .and_then(|r| r.storage.as_ref())
                .and_then(|s| s.size.as_deref()),
        );
        self.resources(
            "spec.redis.resources",
            redis.and_then(|r| r.resources.as_ref()),
            |dep| dep.redis.resources.clone(),
        );
    }

    /// A PVC size: a positive Kubernetes quantity.
    fn storage_size(&mut self, path: &str, size: Option<&str>) {
        let Some(size) = size else { return };
        let problem = match Quantity::parse(size) {
            Ok(q) if q.value() > 0.0 => return,
            Ok(_) => "storage size must be positive".to_string(),
            Err(e) => format!("storage size is not a Kubernetes quantity: {e}"),
        };
        let finding = self
            .map
            .error(path, problem)
            .found(size)
            .valid(QUANTITY_EXAMPLES);
        self.push(finding);
    }

    /// Every written amount is a quantity, and no request exceeds its limit (defaults
    /// included: a limit written below a default request is as wrong).
    fn resources(
        &mut self,
        path: &str,
        written: Option<&Resources>,
        effective: fn(&resolve::Deployment) -> ContainerResources,
    ) {
        let none = ResourceAmounts::default();
        let requests = written.and_then(|r| r.requests.as_ref()).unwrap_or(&none);
        let limits = written.and_then(|r| r.limits.as_ref()).unwrap_or(&none);
        for (group, amounts) in [("request", requests), ("limit", limits)] {
            for (resource, value) in [("cpu", &amounts.cpu), ("memory", &amounts.memory)] {
                let Some(value) = value else { continue };
                let field = format!("{path}.{group}s.{resource}");
                let problem = match Quantity::parse(value) {
                    Ok(q) if q.value() < 0.0 => Some("must not be negative".to_string()),
                    Ok(_) => None,
                    Err(e) => Some(format!("is not a Kubernetes quantity: {e}")),
                };
                if let Some(problem) = problem {
                    let example = if resource == "cpu" {
                        "500m, 1 or 2"
                    } else {
                        "256Mi, 1Gi or 512M"
                    };
                    let finding = self
                        .map
                        .error(&field, format!("{resource} {group} {problem}"))
                        .found(value)
                        .valid(format!("a Kubernetes quantity such as {example}"));
                    self.push(finding);
                }
            }
        }
        // An amount that does not parse was reported above and is skipped here.
        let dep = resolve::resolve(self.profile, "");
        let effective = effective(&dep);
        for (resource, request, limit, limit_written) in [
            (
                "cpu",
                &effective.requests_cpu,
                &effective.limits_cpu,
                limits.cpu.is_some(),
            ),
            (
                "memory",
                &effective.requests_memory,
                &effective.limits_memory,
                limits.memory.is_some(),
            ),
        ] {
            let (Ok(request_q), Ok(limit_q)) = (Quantity::parse(request), Quantity::parse(limit))
            else {
                continue;
            };
            if request_q > limit_q {
                let group = if limit_written { "limits" } else { "requests" };
                let finding = self
                    .map
                    .error(
                        &format!("{path}.{group}.{resource}"),
                        format!("{resource} request {request} is above its limit {limit}"),
                    )
                    .found(if limit_written { limit } else { request })
                    .valid("a request at most the limit: Kubernetes rejects the pod otherwise");
                self.push(finding);
            }
        }
    }

    fn persistence(&mut self) {
        let persistence = self.profile.spec.persistence.as_ref();
        let rdb = persistence
            .and_then(|p| p.rdb.clone())
            .unwrap_or_else(resolve::default_rdb);
        for (i, point) in rdb.iter().enumerate() {
            for (name, value) in [("seconds", point.seconds), ("changes", point.changes)] {
                if value == 0 {
                    let finding = self
                        .map
                        .error(&format!("spec.persistence.rdb[{i}].{name}"), format!("an RDB save point needs {name} of at least 1"))
                        .found(0)
                        .valid("1 or more: `save <seconds> <changes>` snapshots after <seconds> if at least <changes> keys changed");
                    self.push(finding);
                }
            }
        }
        let aof_on = persistence
            .and_then(|p| p.aof.as_ref())
            .and_then(|a| a.enabled)
            .unwrap_or(true);
        let acknowledged =
            persistence.and_then(|p| p.acknowledge_data_loss_on_restart) == Some(true);
        if rdb.is_empty() && !aof_on && !acknowledged {
            let finding = self
                .map
                .error("spec.persistence", "persistence is off: no RDB snapshots and no AOF")
                .valid("RDB or AOF on, or `acknowledgeDataLossOnRestart: true`")
                .help("a master that restarts empty makes its replicas resync from it and wipe their data");
            self.push(finding);
        }
    }

    fn endpoints(&mut self) {
        let spec = &self.profile.spec;
        self.dns_subdomain("spec.clusterDomain", spec.cluster_domain.as_deref());
        if let Some(from) = spec.migration.as_ref().map(|m| &m.from) {
            self.dns_subdomain("spec.migration.from.host", Some(&from.host));
            if from.port == Some(0) {
                let finding = self
                    .map
                    .error("spec.migration.from.port", "port 0 is not a port")
                    .found(0)
                    .valid("1 to 65535, usually 6379");
                self.push(finding);
            }
        }
        // Pod DNS names go into redis.conf, sentinel.conf and the scripts; Redis and DNS
        // both cap a host name at 253 characters.
        let dep = resolve::resolve(self.profile, "");
        let longest = dep
            .redis_pod_hosts()
            .into_iter()
            .chain(dep.sentinel_pod_hosts())
            .max_by_key(String::len);
        if let Some(host) = longest.filter(|h| h.len() > MAX_SUBDOMAIN) {
            let finding = self
                .map
                .error("spec.clusterDomain", "pod DNS names would be too long")
                .found(format!("{host} ({} characters)", host.len()))
                .valid(
                    "at most 253 characters: shorten the namespace, namePrefix or clusterDomain",
                );
            self.push(finding);
        }
    }
}

impl Check<'_> {
    /// Monitoring, network policy and backup (issue 6): names and labels that reach objects,
    /// an interval Prometheus parses, a schedule the CronJob controller parses.
    fn operations(&mut self) {
        let spec = &self.profile.spec;
        if let Some(m) = &spec.monitoring {
            if let Some(image) = m.exporter_image.as_deref()
                && (image.is_empty()
                    || !image
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._/:@-".contains(c)))
            {
                let finding = self
                    .map
                    .error("spec.monitoring.exporterImage", "invalid image reference")
                    .found(image)
                    .valid(format!(
                        "a pinned image such as {}",
                        resolve::DEFAULT_EXPORTER_IMAGE
                    ));
                self.push(finding);
            }
            if let Some(interval) = m.interval.as_deref() {
                let digits = interval.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                let unit = &interval[digits.len()..];
                let fits = !digits.is_empty()
                    && digits.chars().all(|c| c.is_ascii_digit())
                    && digits.parse::<u64>().is_ok_and(|n| n > 0)
                    && matches!(unit, "s" | "m" | "h");
                if !fits {
                    let finding = self
                        .map
                        .error("spec.monitoring.interval", "invalid scrape interval")
                        .found(interval)
                        .valid("a positive whole number of seconds, minutes or hours: `30s`, `1m`");
                    self.push(finding);
                }
            }
            // Judged only when the sidecars exist: `resolve` drops them with `enabled: false`.
            if m.enabled != Some(false) {
                self.resources("spec.monitoring.resources", m.resources.as_ref(), |d| {
                    d.monitoring
                        .as_ref()
                        .map(|m| m.resources.clone())
                        .unwrap_or_else(|| d.redis.resources.clone())
                });
            }
            self.labels("spec.monitoring.labels", &m.labels);
        }
        if let Some(n) = &spec.network_policy {
            self.dns_label(
                "spec.networkPolicy.monitoringNamespace",
                n.monitoring_namespace.as_deref(),
            );
            self.labels("spec.networkPolicy.clientPodLabels", &n.client_pod_labels);
            if n.enabled != Some(false) && n.client_pod_labels.is_empty() {
                let finding = self
                    .map
                    .error(
                        "spec.networkPolicy.clientPodLabels",
                        "network policy on, but no client pods named",
                    )
                    .valid("the labels of the pods that use Redis, e.g. `{app: welcomebot}`")
                    .help("without them the policies admit no client at all");
                self.push(finding);
            }
        }
        if let Some(b) = &spec.backup {
            if let Some(schedule) = b.schedule.as_deref() {
                let fields: Vec<&str> = schedule.split(' ').collect();
                let fits = fields.len() == 5
                    && fields.iter().all(|f| {
                        !f.is_empty() && f.chars().all(|c| c.is_ascii_digit() || "*/,-".contains(c))
                    });
                if !fits {
                    let finding = self
                        .map
                        .error("spec.backup.schedule", "invalid cron schedule")
                        .found(schedule)
                        .valid("five fields of digits, `*`, `/`, `,` and `-` separated by single spaces, e.g. `17 3 * * *`");
                    self.push(finding);
                }
            }
            if b.retention == Some(0) {
                let finding = self
                    .map
                    .error(
                        "spec.backup.retention",
                        "retention 0 would delete every backup",
                    )
                    .found(0)
                    .valid("1 or more snapshots to keep");
                self.push(finding);
            }
            let storage = b.storage.as_ref();
            self.storage_size(
                "spec.backup.storage.size",
                storage.and_then(|s| s.size.as_deref()),
            );
            self.dns_subdomain(
                "spec.backup.storage.storageClassName",
                storage.and_then(|s| s.storage_class_name.as_deref()),
            );
        }
    }

    /// Kubernetes label keys (`[prefix/]name`) and values.
    fn labels(&mut self, path: &str, labels: &std::collections::BTreeMap<String, String>) {
        for (key, value) in labels {
            let (prefix, name) = key
                .rsplit_once('/')
                .map_or((None, key.as_str()), |(p, n)| (Some(p), n));
            let key_fits = label_name_fits(name, false)
                && prefix.is_none_or(|p| dns_subdomain_problem(p).is_none());
            if !key_fits || !label_name_fits(value, true) {
                let finding = self
                    .map
                    .error(&format!("{path}.{key}"), "invalid label")
                    .found(format!("{key}: {value}"))
                    .valid("a key `[dns-prefix/]name` and a value of at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit");
                self.push(finding);
            }
        }
    }
}

/// A label name or value: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
fn label_name_fits(value: &str, may_be_empty: bool) -> bool {
    if value.is_empty() {
        return may_be_empty;
    }
    value.len() <= MAX_LABEL
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn plural(n: u32, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `7.2.5-alpine` → (7, 2, 5). A tag naming only `7.2` or `7` floats to the newest patch
/// release of that line, so missing parts count as the highest.
fn redis_version(tag: &str) -> Option<(u64, u64, u64)> {
    let version = tag.split('-').next()?;
    let mut parts = version.split('.');
    let mut next = |required: bool| match parts.next() {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse::<u64>().ok(),
        None if !required => Some(u64::MAX),
        _ => None,
    };
    let version = (next(true)?, next(false)?, next(false)?);
    parts.next().is_none().then_some(version)
}

fn dns_label_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("empty".into());
    }
    if value.len() > MAX_LABEL {
        return Some(format!("{} characters, more than {MAX_LABEL}", value.len()));
    }
    if let Some(c) = value.chars().find(|c| c.is_ascii_uppercase()) {
        return Some(format!("uppercase `{c}`"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!("character {c:?} is not allowed"));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Some("starts or ends with `-`".into());
    }
    None
}

/// The paths a profile gives relative to the output directory `out` of `render --out` /
/// `check --out`, which `validate` alone cannot know: `spec.migration.base` must be a
/// kustomization there. Written in the profile and missing: an error. Left at its default and
/// missing: a warning (the overlays are still written; `kubectl kustomize` fails until the
/// base exists).
pub fn output_paths(profile: &Profile, map: &SourceMap, out: &std::path::Path) -> Vec<Finding> {
    let Some(migration) = &profile.spec.migration else {
        return Vec::new();
    };
    let base = migration
        .base
        .as_deref()
        .unwrap_or(resolve::DEFAULT_MIGRATION_BASE);
    let dir = join_lexically(out, base);
    let is_kustomization = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|name| dir.join(name).is_file());
    if is_kustomization {
        return Vec::new();
    }
    let what = if dir.is_dir() {
        "has no kustomization.yaml"
    } else {
        "does not exist"
    };
    let shown = dir.display();
    let valid = "the directory of the kustomization that lists the old Redis and the clients, \
                 relative to the output directory";
    vec![match migration.base {
        Some(_) => map
            .error(
                "spec.migration.base",
                format!("the migration base {shown} {what}"),
            )
            .found(base)
            .valid(valid),
        None => map
            .warning(
                "spec.migration",
                format!(
                    "no spec.migration.base, and the default {shown} {what}: the migration \
                     phases will not build until it does"
                ),
            )
            .valid(valid),
    }]
}

/// `out` joined with the relative `path`, `..` resolved lexically: `render --out` creates `out`
/// only after validation, and the kernel resolves `out/..` only when `out` exists.
fn join_lexically(out: &std::path::Path, path: &str) -> std::path::PathBuf {
    use std::path::Component;
    let mut joined = out.to_path_buf();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if matches!(joined.components().next_back(), Some(Component::Normal(_))) => {
                joined.pop();
            }
            other => joined.push(other),
        }
    }
    if joined.as_os_str().is_empty() {
        joined.push(".");
    }
    joined
}

fn dns_subdomain_problem(value: &str) -> Option<String> {
    if value.len() > MAX_SUBDOMAIN {
        return Some(format!(
            "{} characters, more than {MAX_SUBDOMAIN}",
            value.len()
        ));
    }
    value.split('.').find_map(|label| {
        dns_label_problem(label).map(|problem| match label {
            "" => "an empty part (two dots in a row, or a dot at an end)".to_string(),
            _ => problem,
        })
    })
}

impl Check<'_> {
    /// The migration: a base path that fits a kustomization and a shell word, removable
    /// objects named as Kubernetes names, and a source that is not part of the new deployment.
    fn migration(&mut self) {
        let Some(migration) = &self.profile.spec.migration else {
            return;
        };
        if let Some(base) = &migration.base {
            let fits = !base.is_empty()
                && !base.starts_with('/')
                && base
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
            if !fits {
                let finding = self
                    .map
                    .error("spec.migration.base", "invalid migration base path")
                    .found(base)
                    .valid(
                        "a relative path of letters, digits, `.`, `_`, `-` and `/`, e.g. `../base`",
                    );
                self.push(finding);
            }
        }
        for (i, object) in migration.remove.iter().enumerate() {
            let kind_fits = object.kind.starts_with(|c: char| c.is_ascii_uppercase())
                && object.kind.chars().all(|c| c.is_ascii_alphanumeric());
            if !kind_fits {
                let finding = self
                    .map
                    .error(&format!("spec.migration.remove[{i}].kind"), "invalid kind")
                    .found(&object.kind)
                    .valid("a Kubernetes kind such as `Deployment` or `Service`");
                self.push(finding);
            }
            self.dns_subdomain(
                &format!("spec.migration.remove[{i}].name"),
                Some(&object.name),
            );
        }
        // The new master replicates from the source during the copy: a source that is one of
        // this deployment's own pods or Services would make it replicate from itself or from
        // its own replica, and the old Redis's data would never arrive.
        let dep = resolve::resolve(self.profile, "");
        let n = &dep.names;
        let host = migration.from.host.to_ascii_lowercase();
        let labels: Vec<&str> = host.split('.').collect();
        let headless = [n.redis_headless.as_str(), n.sentinel_headless.as_str()];
        let ours = [
            n.redis_master.as_str(),
            n.redis_replica.as_str(),
            n.sentinel.as_str(),
            n.redis_headless.as_str(),
            n.sentinel_headless.as_str(),
        ];
        let pods = dep
            .redis_pod_names()
            .into_iter()
            .chain(dep.sentinel_pod_names());
        let first_is_ours = ours.contains(&labels[0]) || pods.into_iter().any(|p| p == labels[0]);
        let same_namespace =
            labels.len() < 2 || labels[1] == dep.namespace || headless.contains(&labels[1]);
        if first_is_ours && same_namespace {
            let finding = self
                .map
                .error(
                    "spec.migration.from.host",
                    "the migration source is part of the new deployment",
                )
                .found(&migration.from.host)
                .valid("the Service of the old single Redis, e.g. `redis-service`")
                .help(
                    "the new master would replicate from itself or its own replica during the copy",
                );
            self.push(finding);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::load::{Source, load};

    /// Findings for the embedded default profile with `edit` applied to its text.
    fn findings(edit: impl Fn(&str) -> String) -> Vec<Finding> {
        let source = Source {
            name: "t.yaml".into(),
            text: edit(&Source::embedded_default().text),
        };
        match load(&source) {
            Ok(loaded) => validate(&loaded.profile, &loaded.map),
            Err(findings) => findings,
        }
    }

    fn fields(findings: &[Finding]) -> Vec<&str> {
        findings.iter().filter_map(|f| f.field.as_deref()).collect()
    }

    #[test]
    fn the_default_profile_is_valid() {
        assert_eq!(findings(str::to_string), vec![]);
    }

    #[test]
    fn quorum_must_be_the_majority() {
        let found = findings(|t| t.replace("quorum: 2", "quorum: 1"));
        assert_eq!(fields(&found), ["spec.sentinel.quorum"]);
        assert!(
            found[0]
                .valid
                .as_deref()
                .is_some_and(|v| v.starts_with("2 (⌊3/2⌋ + 1)"))
        );
        let found =
            findings(|t| t.replace("replicas: 3\n    quorum: 2", "replicas: 5\n    quorum: 2"));
        assert!(
            found[0]
                .valid
                .as_deref()
                .is_some_and(|v| v.starts_with("3 (⌊5/2⌋ + 1)"))
        );
        assert_eq!(resolve::quorum_for(7), 4);
    }

    #[test]
    fn one_sentinel_is_an_error_unless_development() {
        let one = |t: &str| t.replace("replicas: 3\n    quorum: 2", "replicas: 1");
        let found = findings(one);
        assert_eq!(fields(&found), ["spec.sentinel.replicas"]);
        assert!(found[0].is_error());
        let found = findings(|t| one(t).replace("spec:\n", "spec:\n  development: true\n"));
        assert_eq!(fields(&found), ["spec.sentinel.replicas"]);
        assert!(!found[0].is_error());
    }

    #[test]
    fn image_versions() {
        assert_eq!(redis_version("7.2.5-alpine"), Some((7, 2, 5)));
        assert_eq!(redis_version("7.0"), Some((7, 0, u64::MAX)));
        assert_eq!(redis_version("latest"), None);
        assert_eq!(redis_version("7.x"), None);
        let image = |tag: &'static str| move |t: &str| t.replace("redis:7.2.5-alpine", tag);
        assert!(findings(image("redis:7.0.5"))[0].is_error());
        assert!(findings(image("redis:6.2.14-alpine"))[0].is_error());
        assert_eq!(findings(image("registry.local:5000/redis:7.0.8")), vec![]);
        assert!(!findings(image("redis:latest"))[0].is_error());
        assert!(!findings(image("redis"))[0].is_error());
        assert!(!findings(image("redis@sha256:0f97c1c9"))[0].is_error());
        for moving in ["redis:7.0", "redis:7"] {
            let found = findings(image(moving));
            assert_eq!(fields(&found), ["spec.image"], "{moving}");
            assert!(!found[0].is_error(), "{moving}");
        }
    }

    #[test]
    fn names_and_injection() {
        assert_eq!(
            fields(&findings(
                |t| t.replace("name: welcomebot\n", "name: Welcome_bot\n")
            )),
            ["metadata.name"]
        );
        assert_eq!(
            fields(&findings(|t| t.replace(
                "masterName: welcomebot-master",
                "masterName: \"a b\""
            ))),
            ["spec.masterName"]
        );
        assert_eq!(
            fields(&findings(|t| t.replace(
                "spec:\n",
                "spec:\n  namePrefix: a-very-long-prefix-for-every-object-name-\n"
            ))),
            ["spec.namePrefix"]
        );
        let dup = |t: &str| t.replace("name: welcomebot-worker", "name: welcomebot-master");
        assert_eq!(fields(&findings(dup)), ["spec.clients[1].name"]);
        assert_eq!(
            dns_subdomain_problem("a..b").as_deref(),
            Some("an empty part (two dots in a row, or a dot at an end)")
        );
        assert_eq!(dns_subdomain_problem("cluster.local"), None);
    }

    #[test]
    fn resources_must_be_quantities_and_requests_within_limits() {
        let found = findings(|t| {
            t.replace(
                "limits: { cpu: \"1\", memory: 512Mi }",
                "limits: { cpu: \"1\", memory: 128Mi }",
            )
        });
        assert_eq!(fields(&found), ["spec.redis.resources.limits.memory"]);
        let found = findings(|t| t.replace("size: 5Gi", "size: 5GB"));
        assert_eq!(fields(&found), ["spec.redis.storage.size"]);
        let found =
            findings(|t| t.replace("quorum: 2\n", "quorum: 2\n    storage: { size: \"0\" }\n"));
        assert_eq!(fields(&found), ["spec.sentinel.storage.size"]);
        let found = findings(|t| {
            t.replace(
                "quorum: 2\n",
                "quorum: 2\n    storage: { storageClassName: Fast_SSD }\n",
            )
        });
        assert_eq!(fields(&found), ["spec.sentinel.storage.storageClassName"]);
    }
}
