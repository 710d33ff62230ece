//! Validation (DESIGN §3.1): every rule a structurally sound profile must also satisfy, with
//! every finding returned at once. Defaults come from `resolve`, so validation judges the
//! same values the renderers will write.
//!
//! Every string that reaches a config file or a shell script is held to a character class
//! that the target syntax can carry as is; nothing is escaped silently.

mod cron;

use crate::diagnostic::{self, Finding};
use crate::memory;
use crate::profile::source_map::SourceMap;
use crate::profile::spec::{Profile, ResourceAmounts, Resources};
use crate::profile::{bounds, grammar};
use crate::quantity::Quantity;
use crate::render::config_files::SHUTDOWN_RESERVE_SECONDS;
use crate::render::old_redis;
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
/// distribution/reference's limit on a repository name.
const MAX_IMAGE_NAME: usize = 255;

/// The smallest volume accepted: anything below holds no Redis data set (an empty RDB file
/// and an AOF manifest alone take kilobytes), and `1m` — a thousandth of a byte — is a typo
/// for `1Mi`.
const MIN_STORAGE: &str = "1Mi";
const MIN_STORAGE_BYTES: i64 = 1024 * 1024;

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
    check.maxmemory();
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

    /// Report an error about `path`, positioned by the source map; `details` adds what was
    /// found, what is valid and how to fix it.
    fn error(
        &mut self,
        path: &str,
        message: impl Into<String>,
        details: impl FnOnce(Finding) -> Finding,
    ) {
        let finding = details(self.map.error(path, message));
        self.push(finding);
    }

    /// Report a warning about `path`, like [`Check::error`].
    fn warning(
        &mut self,
        path: &str,
        message: impl Into<String>,
        details: impl FnOnce(Finding) -> Finding,
    ) {
        let finding = details(self.map.warning(path, message));
        self.push(finding);
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
            // The API server's rule for Secret and ConfigMap keys: `.`, `..` and names
            // starting `..` are the kubelet's own entries in a mounted volume.
            let fits = !key.is_empty()
                && key.len() <= MAX_SUBDOMAIN
                && !key.starts_with("..")
                && key != "."
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            if !fits {
                self.error("spec.auth.secretKey", "invalid Secret key", |f| {
                    f.found(key)
                        .valid("letters, digits, `-`, `.` and `_` only (at most 253), not `.` and not starting with `..`, e.g. `password`")
                });
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
        let names = resolve::resolve(self.profile, "").names;
        let generated = names.objects();
        for (i, client) in spec.clients.iter().enumerate() {
            self.dns_subdomain(&format!("spec.clients[{i}].name"), Some(&client.name));
            self.dns_label(
                &format!("spec.clients[{i}].container"),
                Some(&client.container),
            );
            // A client named like a generated StatefulSet would get the client env patches
            // (KRM injects them into whatever object has that kind and name).
            let kind = format!("{:?}", client.kind);
            if let Some((kind, name)) = generated
                .iter()
                .find(|(k, n)| *k == kind && *n == client.name)
            {
                self.error(
                    &format!("spec.clients[{i}].name"),
                        format!("{kind} `{name}` is generated by this deployment, not a client"),
                    |f| {
                        f.found(&client.name)
                            .valid("the name of a client workload of your own, e.g. `welcomebot-worker`")
                            .help("the client env patches would rewrite the generated object")
                    },
                );
            }
            if let Some(first) = spec.clients[..i].iter().position(|c| c.name == client.name) {
                // Each client gets `clients/<name>.patch.yaml`; two would overwrite each other.
                self.error(
                    &format!("spec.clients[{i}].name"),
                    format!("client `{}` is listed twice", client.name),
                    |f| {
                        f.found(&client.name).valid(format!(
                            "a name not used by another client (spec.clients[{first}] has it)"
                        ))
                    },
                );
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
            return self.error(PATH, "invalid name prefix", |f| {
                f.found(prefix)
                    .valid("lowercase letters, digits and `-`, starting with a letter or digit, e.g. `sessions-`")
            });
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
            self.error(
                PATH,
                    format!(
                        "name prefix too long ({} characters): {kind} `{name}` would have {}, \
                         more than {limit}",
                        prefix.len(),
                        name.len()
                    ),
                |f| {
                    f.found(prefix)
                        .valid(format!(
                        "at most {room} characters: a StatefulSet name must fit in {MAX_STATEFULSET_NAME} \
                         (its pods' controller-revision-hash label is `<name>-<10 characters>`, at most \
                         {MAX_LABEL}) and a Service name in {MAX_LABEL}"
                    ))
                },
            );
        }
    }

    fn dns_label(&mut self, path: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        if let Some(problem) = dns_label_problem(value) {
            self.error(path, format!("invalid name: {problem}"), |f| {
                f.found(value)
                    .valid("a DNS-1123 label: at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit")
            });
        }
    }

    fn dns_subdomain(&mut self, path: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        if let Some(problem) = dns_subdomain_problem(value) {
            self.error(path, format!("invalid name: {problem}"), |f| {
                f.found(value)
                    .valid("a DNS-1123 subdomain: lowercase letters, digits, `-` and `.`, at most 253, each dot-separated part starting and ending with a letter or digit")
            });
        }
    }

    fn master_name(&mut self) {
        let name = &self.profile.spec.master_name;
        // Written bare into `sentinel monitor <name> …` and into shell command lines.
        let fits = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        let max = bounds::MAX_MASTER_NAME as usize;
        if fits && name.len() > max {
            self.error("spec.masterName", format!("master name of {} characters, more than {max}", name.len()), |f| {
                f.found(format!("{}… ({} characters)", &name[..20.min(name.len())], name.len()))
                    .valid(format!("at most {max} characters: the name is repeated in every Sentinel command, client environment and runbook command"))
            });
        } else if !fits {
            self.error("spec.masterName", "invalid master name", |f| {
                f.found(name)
                    .valid("letters, digits, `.`, `_` and `-` only ([A-Za-z0-9._-]+): it is written unquoted into sentinel.conf and the start scripts")
            });
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
        if let Some(finding) = self.image_reference(PATH, image, "redis:7.2.5-alpine") {
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
                self.error(PATH, "the image is older than Redis 7.0.8", |f| {
                    f.found(image).valid(format!(
                        "{minimum}, e.g. `redis:7.2.5-alpine`: older Sentinels cannot announce \
                         hostnames and keep a restarted pod's old IP"
                    ))
                });
            }
            Some((_, minor, patch)) if minor == u64::MAX || patch == u64::MAX => {
                self.warning(
                    PATH,
                    "the image tag names a Redis line, not a release",
                    |f| {
                        f.found(image).help(format!(
                            "pin the patch release, e.g. `redis:7.2.5-alpine`: a node may hold an \
                         old image of this line, and it must be {minimum}"
                        ))
                    },
                );
            }
            Some(_) => {}
            None if digest.is_some() => {
                self.warning(
                    PATH,
                    "the Redis version of an image pinned by digest cannot be checked",
                    |f| {
                        f.found(image)
                            .help(format!("make sure the digest is {minimum}"))
                    },
                );
            }
            None => {
                self.warning(PATH, "the image tag names no Redis version", |f| {
                    f.found(image).help(format!(
                        "pin a version tag such as `redis:7.2.5-alpine`: a moving tag changes \
                         what runs without a change here, and must be {minimum}"
                    ))
                });
            }
        }
    }

    /// An image reference the kubelet can pull: the OCI reference grammar, and a repository
    /// name of at most 255 characters.
    fn image_reference(&self, path: &str, image: &str, example: &str) -> Option<Finding> {
        let name = image.split('@').next().unwrap_or(image);
        let name = match name.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => name,
            _ => name,
        };
        let problem = if !grammar::is_image(image) {
            image_problem(image)
        } else if name.len() > MAX_IMAGE_NAME {
            format!(
                "a repository name of {} characters, more than {MAX_IMAGE_NAME}",
                name.len()
            )
        } else {
            return None;
        };
        Some(
            self.map
                .error(path, format!("invalid image reference: {problem}"))
                .found(image)
                .valid(format!(
                    "an OCI image reference `[registry[:port]/]name[:tag][@sha256:<64 hex digits>]` \
                     with a lowercase name, e.g. `{example}`"
                )),
        )
    }

    /// Auth off is allowed (a development cluster, a network policy doing the job) but never
    /// silent: without it any pod that reaches the ports can `CONFIG SET` Redis or
    /// `SENTINEL REMOVE` the master.
    fn auth(&mut self) {
        let enabled = self.profile.spec.auth.as_ref().and_then(|a| a.enabled);
        if enabled == Some(false) && self.profile.spec.development != Some(true) {
            self.warning("spec.auth.enabled", "authentication is off", |f| {
                f.found("false").help(
                    "any pod that can reach ports 6379 and 26379 can reconfigure Redis and \
                     Sentinel; keep auth on outside development",
                )
            });
        }
    }

    fn sentinel(&mut self) {
        let n = self.eff.sentinel_replicas;
        let sentinel = self.profile.spec.sentinel.as_ref();
        const REPLICAS: &str = "spec.sentinel.replicas";
        if n.is_multiple_of(2) {
            self.error(REPLICAS, "the number of Sentinels must be odd", |f| {
                f.found(n).valid(format!(
                    "an odd number, at least 3 (e.g. {}): {n} Sentinels survive no more losses \
                     than {}, and a 50/50 split elects no one",
                    (n + 1).max(3),
                    n - 1
                ))
            });
        } else if n < 3 {
            if self.profile.spec.development == Some(true) {
                self.warning(REPLICAS, "one Sentinel is no high availability", |f| {
                    f.found(n)
                        .help("fine for development; use 3 or more Sentinels in production")
                });
            } else {
                self.error(REPLICAS, "one Sentinel cannot fail over safely", |f| {
                    f.found(n)
                        .valid("3 or more (odd): a lone Sentinel is a single point of failure and cannot tell a dead master from its own network trouble")
                        .help("for a development profile, set `spec.development: true`")
                });
            }
        }
        if let Some(quorum) = sentinel.and_then(|s| s.quorum) {
            let required = resolve::quorum_for(n);
            if quorum != required {
                self.error("spec.sentinel.quorum", format!("quorum must be the majority of {n} Sentinels"), |f| {
                    f.found(quorum)
                        .valid(format!(
                        "{required} (⌊{n}/2⌋ + 1): a lower quorum lets a minority declare the master \
                         down; a higher one blocks failover once one Sentinel is lost"
                    ))
                        .help("or leave `quorum` out: it defaults to the majority")
                });
            }
        }
        let down_after = self.eff.down_after_milliseconds;
        let failover = self.eff.failover_timeout;
        if failover <= down_after {
            // Point at whichever of the two the profile actually wrote.
            let path = if sentinel.and_then(|s| s.failover_timeout).is_some() {
                "spec.sentinel.failoverTimeout"
            } else {
                "spec.sentinel.downAfterMilliseconds"
            };
            self.error(
                path,
                    format!(
                        "failoverTimeout ({failover}) must be greater than \
                         downAfterMilliseconds ({down_after})"
                    ),
                |f| {
                    f.found(if path.ends_with("failoverTimeout") {
                        failover
                    } else {
                        down_after
                    })
                        .valid(format!(
                        "failoverTimeout above {down_after} (e.g. {}): a failover cannot finish before \
                         the master is even considered down",
                        suggested_failover_timeout(down_after)
                    ))
                },
            );
        }
        if let Some(parallel) = sentinel.and_then(|s| s.parallel_syncs) {
            let replicas = self.eff.redis_replicas;
            if parallel > replicas {
                self.error(
                    "spec.sentinel.parallelSyncs",
                    "parallelSyncs out of range",
                    |f| {
                        f.found(parallel)
                        .valid(format!(
                        "1 to {replicas} (redis.replicas): replicas resyncing with the new master \
                         at once; 0 would never reconfigure them"
                    ))
                    },
                );
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
        let to_write = redis.and_then(|r| r.min_replicas_to_write);
        if let Some(to_write) = to_write
            && to_write > replicas - 1
        {
            self.error(
                "spec.redis.minReplicasToWrite",
                format!("minReplicasToWrite is too high for {replicas} replicas"),
                |f| {
                    f.found(to_write).valid(format!(
                        "0 to {} (redis.replicas − 1): after a failover with the old master still \
                         down the new master has only {} connected, and would refuse every write",
                        replicas - 1,
                        plural(replicas - 1, "replica")
                    ))
                },
            );
        }
        if redis.and_then(|r| r.min_replicas_max_lag) == Some(0)
            && self.eff.min_replicas_to_write > 0
        {
            self.error("spec.redis.minReplicasMaxLag", "minReplicasMaxLag 0 turns minReplicasToWrite off", |f| {
                f.found(0)
                    .valid("1 or more seconds: Redis checks min-replicas-to-write only when min-replicas-max-lag is set too")
            });
        }
        let rollout_wait = self.eff.rollout_wait_seconds;
        if rollout_wait > resolve::MAX_ROLLOUT_WAIT_SECONDS {
            self.error(
                "spec.redis.rolloutWaitSeconds",
                    "the rollout wait is too long",
                |f| {
                    f.found(rollout_wait)
                        .valid(format!(
                        "0 to {}: a Redis pod's termination grace period covers this wait, and a pod \
                         that takes longer to stop holds up node drains",
                        resolve::MAX_ROLLOUT_WAIT_SECONDS
                    ))
                },
            );
        }
        if let Some(grace) = redis.and_then(|r| r.termination_grace_period_seconds) {
            let failover_timeout = self.eff.failover_timeout;
            let failover_seconds = failover_timeout.div_ceil(1000);
            let minimum = rollout_wait + failover_seconds + SHUTDOWN_RESERVE_SECONDS;
            if grace < minimum {
                self.error("spec.redis.terminationGracePeriodSeconds", "the termination grace period is too short for a failover", |f| {
                    f.found(grace)
                        .valid(format!(
                        "at least {minimum}: a Redis pod's preStop hook waits up to rolloutWaitSeconds \
                         ({rollout_wait} s) for the other Redis pods, then up to failoverTimeout \
                         ({failover_seconds} s) for Sentinel to name a new master, then Redis needs \
                         {SHUTDOWN_RESERVE_SECONDS} s to save and exit"
                    ))
                        .help(format!(
                        "or leave it out: the default is {}",
                        resolve::default_redis_grace_seconds(rollout_wait, failover_timeout)
                    ))
                });
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

    /// A PVC size: a Kubernetes quantity of whole bytes, at least [`MIN_STORAGE`].
    fn storage_size(&mut self, path: &str, size: Option<&str>) {
        let Some(size) = size else { return };
        let problem = match Quantity::parse(size) {
            Ok(q) if q.is_whole() && q >= Quantity::units(MIN_STORAGE_BYTES) => return,
            Ok(q) if !q.is_whole() => "storage size is not a whole number of bytes".to_string(),
            Ok(_) => format!("storage size below {MIN_STORAGE}"),
            Err(e) => format!("storage size is not a Kubernetes quantity: {e}"),
        };
        self.error(path, problem, |f| {
            f.found(size).valid(format!(
                "{QUANTITY_EXAMPLES}; whole bytes, at least {MIN_STORAGE}"
            ))
        });
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
                    Ok(q) if q.is_negative() => Some("must not be negative".to_string()),
                    Ok(q) if resource == "memory" && !q.is_whole() => {
                        Some("is not a whole number of bytes".to_string())
                    }
                    Ok(_) => None,
                    Err(e) => Some(format!("is not a Kubernetes quantity: {e}")),
                };
                if let Some(problem) = problem {
                    let example = if resource == "cpu" {
                        "500m, 1 or 2"
                    } else {
                        "256Mi, 1Gi or 512M"
                    };
                    self.error(&field, format!("{resource} {group} {problem}"), |f| {
                        f.found(value)
                            .valid(format!("a Kubernetes quantity such as {example}"))
                    });
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
                self.error(
                    &format!("{path}.{group}.{resource}"),
                    format!("{resource} request {request} is above its limit {limit}"),
                    |f| {
                        f.found(if limit_written { limit } else { request }).valid(
                            "a request at most the limit: Kubernetes rejects the pod otherwise",
                        )
                    },
                );
            }
        }
    }

    fn persistence(&mut self) {
        let persistence = self.profile.spec.persistence.as_ref();
        let rdb = persistence
            .and_then(|p| p.rdb.clone())
            .unwrap_or_else(resolve::default_rdb);
        let aof_on = persistence
            .and_then(|p| p.aof.as_ref())
            .and_then(|a| a.enabled)
            .unwrap_or(true);
        let acknowledged =
            persistence.and_then(|p| p.acknowledge_data_loss_on_restart) == Some(true);
        if rdb.is_empty() && !aof_on && !acknowledged {
            self.error("spec.persistence", "persistence is off: no RDB snapshots and no AOF", |f| {
                f.valid("RDB or AOF on, or `acknowledgeDataLossOnRestart: true`")
                    .help("a master that restarts empty makes its replicas resync from it and wipe their data")
            });
        }
    }

    fn endpoints(&mut self) {
        let spec = &self.profile.spec;
        self.dns_subdomain("spec.clusterDomain", spec.cluster_domain.as_deref());
        if let Some(from) = spec.migration.as_ref().map(|m| &m.from) {
            self.dns_subdomain("spec.migration.from.host", Some(&from.host));
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
            self.error(
                "spec.clusterDomain",
                "pod DNS names would be too long",
                |f| {
                    f.found(format!("{host} ({} characters)", host.len()))
                    .valid(
                    "at most 253 characters: shorten the namespace, namePrefix or clusterDomain",
                )
                },
            );
        }
    }
}

impl Check<'_> {
    /// Monitoring, network policy and backup (issue 6): names and labels that reach objects,
    /// an interval Prometheus parses, a schedule the CronJob controller parses.
    fn operations(&mut self) {
        let spec = &self.profile.spec;
        if let Some(m) = &spec.monitoring {
            if let Some(finding) = m.exporter_image.as_deref().and_then(|image| {
                self.image_reference(
                    "spec.monitoring.exporterImage",
                    image,
                    resolve::DEFAULT_EXPORTER_IMAGE,
                )
            }) {
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
                    self.error("spec.monitoring.interval", "invalid scrape interval", |f| {
                        f.found(interval).valid(
                            "a positive whole number of seconds, minutes or hours: `30s`, `1m`",
                        )
                    });
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
            // Listed clients are admitted by the label their patches add (render::meta::
            // client_label); clientPodLabels only adds pods the tool does not patch.
            if n.enabled != Some(false) && n.client_pod_labels.is_empty() && spec.clients.is_empty()
            {
                self.error(
                    "spec.networkPolicy.clientPodLabels",
                    "network policy on, but no client pods named",
                    |f| {
                        f.valid(
                            "clients in spec.clients (their patches add the label the policies \
                             admit), or the labels of the pods that use Redis here, e.g. \
                             `{app: welcomebot}`",
                        )
                        .help("without them the policies admit no client at all")
                    },
                );
            }
        }
        if let Some(b) = &spec.backup {
            if let Some(schedule) = b.schedule.as_deref()
                && let Some(problem) = cron::problem(schedule)
            {
                self.error("spec.backup.schedule", format!("invalid cron schedule: {problem}"), |f| {
                    f.found(schedule)
                        .valid("five fields (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or jan-dec, day of week 0-6 or sun-sat), each `*`, `?`, a value, a range `a-b` or a list, with an optional positive `/step`; or @yearly, @monthly, @weekly, @daily, @hourly. E.g. `17 3 * * *`")
                });
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
                self.error(&format!("{path}.{key}"), "invalid label", |f| {
                    f.found(format!("{key}: {value}"))
                        .valid("a key `[dns-prefix/]name` and a value of at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit")
                });
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

/// A failover timeout to suggest: twice the down-after time, but never past what Sentinel
/// accepts (down-after is bounded one below that, so the suggestion always fits).
fn suggested_failover_timeout(down_after: u32) -> u32 {
    down_after
        .saturating_mul(2)
        .min(bounds::MAX_FAILOVER_TIMEOUT_MS)
}

/// The likeliest reason an image is not an OCI reference, in the user's terms.
fn image_problem(image: &str) -> String {
    let (reference, digest) = match image.split_once('@') {
        Some((reference, digest)) => (reference, Some(digest)),
        None => (image, None),
    };
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let tags = last.split(':').count() - 1;
    if image.is_empty() {
        "empty".into()
    } else if reference.is_empty() {
        "no repository name".into()
    } else if let Some(digest) = digest.filter(|d| {
        !(d.strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(is_lower_hex))
            || d.strip_prefix("sha512:")
                .is_some_and(|h| h.len() == 128 && h.bytes().all(is_lower_hex)))
    }) {
        format!(
            "the digest `{digest}` is not `sha256:` and 64 (or `sha512:` and 128) lowercase hex digits"
        )
    } else if tags > 1 {
        "more than one `:tag`".into()
    } else if last.ends_with(':') {
        "a `:` without a tag".into()
    } else if reference
        .split(':')
        .next()
        .is_some_and(|n| n.chars().any(|c| c.is_ascii_uppercase()))
        && !reference.contains('/')
    {
        "uppercase letters in the repository name".into()
    } else {
        "not `[registry[:port]/]name[:tag][@digest]`".into()
    }
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
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

/// Where the migration base of a tree rendered into `out` is (`spec.migration.base`, or its
/// default, relative to `out`); `None` without a migration.
pub fn migration_base_dir(profile: &Profile, out: &std::path::Path) -> Option<std::path::PathBuf> {
    let migration = profile.spec.migration.as_ref()?;
    let base = migration
        .base
        .as_deref()
        .unwrap_or(resolve::DEFAULT_MIGRATION_BASE);
    Some(join_lexically(out, base))
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
    let Some(dir) = migration_base_dir(profile, out) else {
        return Vec::new();
    };
    let base = migration
        .base
        .as_deref()
        .unwrap_or(resolve::DEFAULT_MIGRATION_BASE);
    let is_kustomization = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|name| dir.join(name).is_file());
    let port = migration.from.port.unwrap_or(resolve::REDIS_PORT);
    // Phase 3 removes the old Redis: found in the base, or named in the profile. Found, phase
    // 2 also restarts it fenced; otherwise the fence is only the live setting of the cutover.
    let not_found = if is_kustomization {
        old_redis::find(&dir, &migration.from.host, port).err()
    } else {
        Some(format!("the base {} cannot be read", dir.display()))
    };
    let mut findings = Vec::new();
    if let Some(why) = not_found {
        let valid_remove = "the old Redis's objects, e.g. `remove: [{kind: Deployment, name: \
                            redis}, {kind: Service, name: redis-service}]`";
        if migration.remove.is_empty() {
            findings.push(
                map.error(
                    "spec.migration.remove",
                    format!(
                        "the old Redis behind `{}` is not found in the migration base ({why}), \
                         so the last phase would leave it running",
                        migration.from.host
                    ),
                )
                .valid(valid_remove),
            );
        } else if is_kustomization {
            findings.push(
                map.warning(
                    "spec.migration",
                    format!(
                        "the old Redis behind `{}` is not found in the migration base ({why}): \
                         phase 2 cannot restart it fenced, so from the cutover until phase 3 \
                         a restart of it would accept writes again",
                        migration.from.host
                    ),
                )
                .valid("a base whose kustomization lists the old Redis's Service and workload as local files"),
            );
        }
    }
    if is_kustomization {
        return findings;
    }
    let what = if dir.is_dir() {
        "has no kustomization.yaml"
    } else {
        "does not exist"
    };
    let shown = dir.display();
    let valid = "the directory of the kustomization that lists the old Redis and the clients, \
                 relative to the output directory";
    findings.push(match migration.base {
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
    });
    findings
}

/// `out` joined with the relative `path`, `..` resolved lexically: `render --out` creates `out`
/// only after validation, and the kernel resolves `out/..` only when `out` exists.
pub fn join_lexically(out: &std::path::Path, path: &str) -> std::path::PathBuf {
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
                self.error("spec.migration.base", "invalid migration base path", |f| {
                    f.found(base).valid(
                        "a relative path of letters, digits, `.`, `_`, `-` and `/`, e.g. `../base`",
                    )
                });
            }
        }
        let dep = resolve::resolve(self.profile, "");
        let n = &dep.names;
        let generated = n.objects();
        for (i, object) in migration.remove.iter().enumerate() {
            let kind_fits = object.kind.starts_with(|c: char| c.is_ascii_uppercase())
                && object.kind.chars().all(|c| c.is_ascii_alphanumeric());
            if !kind_fits {
                self.error(
                    &format!("spec.migration.remove[{i}].kind"),
                    "invalid kind",
                    |f| {
                        f.found(&object.kind)
                            .valid("a Kubernetes kind such as `Deployment` or `Service`")
                    },
                );
            }
            self.dns_subdomain(
                &format!("spec.migration.remove[{i}].name"),
                Some(&object.name),
            );
            if generated.contains(&(object.kind.as_str(), object.name.as_str())) {
                self.error(
                    &format!("spec.migration.remove[{i}]"),
                        format!(
                            "{} `{}` is generated by this deployment; the last phase would delete it",
                            object.kind, object.name
                        ),
                    |f| {
                        f.found(format!("{}/{}", object.kind, object.name))
                            .valid("an object of the old single Redis, e.g. `{kind: Deployment, name: redis}`")
                    },
                );
            }
        }
        // The new master replicates from the source during the copy: a source that is one of
        // this deployment's own pods or Services would make it replicate from itself or from
        // its own replica, and the old Redis's data would never arrive.
        let host = migration.from.host.to_ascii_lowercase();
        let labels: Vec<&str> = host.split('.').collect();
        let headless = [n.redis_headless.as_str(), n.sentinel_headless.as_str()];
        // Every generated Service and StatefulSet (whose pods have DNS names of its name).
        let ours: Vec<&str> = generated
            .iter()
            .filter(|(kind, _)| matches!(*kind, "Service" | "StatefulSet"))
            .map(|(_, name)| *name)
            .collect();
        let pods = dep
            .redis_pod_names()
            .into_iter()
            .chain(dep.sentinel_pod_names());
        let first_is_ours = ours.contains(&labels[0]) || pods.into_iter().any(|p| p == labels[0]);
        let same_namespace =
            labels.len() < 2 || labels[1] == dep.namespace || headless.contains(&labels[1]);
        if first_is_ours && same_namespace {
            self.error(
                "spec.migration.from.host",
                    "the migration source is part of the new deployment",
                |f| {
                    f.found(&migration.from.host)
                        .valid("the Service of the old single Redis, e.g. `redis-service`")
                        .help(
                        "the new master would replicate from itself or its own replica during the copy",
                    )
                },
            );
        }
    }
}

impl Check<'_> {
    /// `redis.maxmemory` fits the memory limit beside the replicas' output buffers and the
    /// process (`memory::budget`); above the default it leaves no room for a fork's
    /// copy-on-write, which is a warning, not an error (a mostly-read dataset copies little).
    fn maxmemory(&mut self) {
        let redis = self.profile.spec.redis.as_ref();
        let dep = resolve::resolve(self.profile, "");
        let limit = &dep.redis.resources.limits_memory;
        if !Quantity::parse(limit).is_ok_and(|q| q > Quantity::units(0)) {
            return; // reported by the resources check
        }
        let budget = dep.redis.memory;
        let replicas = self.eff.redis_replicas;
        let shares = format!(
            "limit {limit} − {} for the process − {} × {} replica output buffers",
            memory::human(budget.reserve),
            replicas,
            memory::human(budget.replica_buffer_hard)
        );
        let Some(written) = redis.and_then(|r| r.maxmemory.as_deref()) else {
            if budget.maxmemory == 0 {
                self.error(
                    "spec.redis.resources.limits.memory",
                    format!("the memory limit {limit} leaves no room for a dataset"),
                    |f| {
                        f.found(limit).valid(format!(
                            "a larger limit: {shares} leaves {}",
                            memory::human(budget.ceiling)
                        ))
                    },
                );
            }
            return;
        };
        let path = "spec.redis.maxmemory";
        let bytes = match Quantity::parse(written) {
            Ok(q) if q >= Quantity::units(1) => resolve::bytes(written),
            Ok(_) => {
                self.error(
                    path,
                    "maxmemory must be positive (0 means no limit in Redis)",
                    |f| {
                        f.found(written).valid(format!(
                            "at most {}; or leave it out for the default {}",
                            memory::human(budget.ceiling),
                            memory::human(budget.maxmemory)
                        ))
                    },
                );
                return;
            }
            Err(e) => {
                self.error(
                    path,
                    format!("maxmemory is not a Kubernetes quantity: {e}"),
                    |f| f.found(written).valid(QUANTITY_EXAMPLES),
                );
                return;
            }
        };
        if bytes > budget.ceiling {
            self.error(
                path,
                    format!("maxmemory {written} cannot fit the memory limit {limit}"),
                |f| {
                    f.found(written)
                        .valid(format!(
                        "at most {} ({shares}); the default {} also leaves room for a fork's copy-on-write",
                        memory::human(budget.ceiling),
                        memory::human(budget.maxmemory)
                    ))
                },
            );
        } else if bytes > budget.maxmemory {
            self.warning(
                path,
                format!(
                    "maxmemory {written} leaves less than the dataset's size for a fork's \
                         copy-on-write within the limit {limit}"
                ),
                |f| {
                    f.found(written).valid(format!(
                        "at most {} to be safe from OOMKills during saves and full syncs",
                        memory::human(budget.maxmemory)
                    ))
                },
            );
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
        let pinned: &'static str =
            "redis@sha256:0f97c1c9f5a3b6c4d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9";
        assert!(!findings(image(pinned))[0].is_error());
        for bad in [
            "redis@sha256:0f97c1c9",
            "Redis:7.2.5",
            "redis:7.2.5:7.2.5",
            "\"redis:\"",
            "\"@\"",
        ] {
            let found = findings(image(bad));
            assert_eq!(fields(&found), ["spec.image"], "{bad}");
            assert!(found[0].is_error(), "{bad}");
        }
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

    /// `Names::objects` is what clients and removed objects are checked against, so it must
    /// list every object the reference profile (everything on) renders.
    #[test]
    fn every_rendered_object_is_a_known_generated_object() -> Result<(), String> {
        let loaded = load(&Source::embedded_default()).map_err(|f| format!("{f:?}"))?;
        let dep = resolve::resolve(&loaded.profile, "");
        let yaml = crate::render::redis_sentinel_yaml(&dep).map_err(|e| e.to_string())?;
        let objects = dep.names.objects();
        let mut seen = 0;
        for document in yaml.split("\n---\n") {
            let kind = document.lines().find_map(|l| l.strip_prefix("kind: "));
            let name = document
                .split("\nmetadata:\n")
                .nth(1)
                .and_then(|m| m.lines().find_map(|l| l.strip_prefix("  name: ")));
            let (Some(kind), Some(name)) = (kind, name) else {
                continue;
            };
            seen += 1;
            assert!(
                objects.contains(&(kind, name)),
                "{kind}/{name} is not in Names::objects"
            );
        }
        assert!(seen >= 15, "only {seen} objects found in\n{yaml}");
        Ok(())
    }

    #[test]
    fn clients_and_removed_objects_may_not_be_generated_objects() {
        let found = findings(|t| {
            t.replace(
                "{ kind: Deployment, name: welcomebot-worker",
                "{ kind: StatefulSet, name: redis-sentinel",
            )
        });
        assert_eq!(fields(&found), ["spec.clients[1].name"], "{found:?}");
        for service in ["redis-metrics", "redis-sentinel-metrics", "redis-sentinel"] {
            let found = findings(|t| t.replace("host: redis-service", &format!("host: {service}")));
            assert_eq!(fields(&found), ["spec.migration.from.host"], "{service}");
        }
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

    #[test]
    fn maxmemory_must_fit_the_memory_limit() {
        let with = |value: &str| {
            findings(move |t| {
                t.replace(
                    "minReplicasMaxLag: 10\n",
                    &format!("minReplicasMaxLag: 10\n    maxmemory: {value}\n"),
                )
            })
        };
        // 512Mi, 2 replicas: ceiling 416Mi, default 208Mi.
        assert!(with("208Mi").is_empty());
        let found = with("300Mi");
        assert_eq!(fields(&found), ["spec.redis.maxmemory"]);
        assert!(!found[0].is_error(), "above the default is a warning");
        for bad in ["417Mi", "0", "5GB"] {
            let found = with(bad);
            assert_eq!(fields(&found), ["spec.redis.maxmemory"], "{bad}");
            assert!(found[0].is_error(), "{bad}");
        }
        // Without maxmemory, a limit too small to hold a whole MiB of dataset beside the
        // buffers of 15 replicas is an error.
        let found = findings(|t| {
            t.replace("replicas: 2\n", "replicas: 15\n")
                .replace("512Mi", "2Mi")
                .replace("memory: 256Mi", "memory: 2Mi")
        });
        assert!(
            fields(&found).contains(&"spec.redis.resources.limits.memory"),
            "{found:?}"
        );
    }
}
