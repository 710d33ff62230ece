//! `checklist [PROFILE]`: the production checklist of a Redis Sentinel deployment, each item
//! decided from the resolved profile, with the reason.

use std::fmt::Write as _;

use crate::profile::defaults::quorum_for;
use crate::render::{meta, monitoring};
use crate::resolve::Deployment;
use crate::validate::rules;

/// The verdict on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// Cannot be decided from a profile; the line says how to check it.
    Manual,
}

/// One checklist item.
#[derive(Debug, Clone)]
pub struct Item {
    pub status: Status,
    pub title: &'static str,
    pub why: String,
}

fn item(pass: bool, title: &'static str, why: String) -> Item {
    Item {
        status: if pass { Status::Pass } else { Status::Fail },
        title,
        why,
    }
}

/// Every item, in the order of the reference runbook's production checklist.
pub fn evaluate(dep: &Deployment) -> Vec<Item> {
    let sentinels = dep.sentinel.replicas;
    let quorum = dep.sentinel.quorum;
    let replicas = dep.redis.replicas;
    let persistence = match (dep.persistence.rdb.is_empty(), dep.persistence.aof_fsync) {
        (false, Some(_)) => "RDB snapshots and AOF",
        (true, Some(_)) => "AOF",
        (false, None) => "RDB snapshots",
        (true, None) => "no RDB and no AOF",
    };
    let persistent = rules::is_persistent(dep);
    let limits = format!(
        "Redis {} CPU / {}, Sentinel {} CPU / {}{}",
        dep.redis.resources.limits_cpu,
        dep.redis.resources.limits_memory,
        dep.sentinel.resources.limits_cpu,
        dep.sentinel.resources.limits_memory,
        if dep.monitoring.is_some() {
            ", exporters too"
        } else {
            ""
        }
    );
    vec![
        item(
            rules::survives_a_lost_sentinel(sentinels),
            "3+ Sentinels",
            if rules::survives_a_lost_sentinel(sentinels) {
                format!("{sentinels} Sentinels: a majority remains when one is lost")
            } else {
                format!("only {sentinels}: losing one leaves no majority to fail over")
            },
        ),
        item(
            rules::quorum_is_majority(quorum, sentinels),
            "quorum n/2+1",
            format!(
                "quorum {quorum} of {sentinels} Sentinels (the majority is {})",
                quorum_for(sentinels)
            ),
        ),
        item(
            replicas >= 2,
            "master + 2 replicas",
            if replicas >= 2 {
                format!("1 master and {replicas} replicas: a failover still leaves a replica")
            } else {
                format!("1 master and {replicas} replica: after a failover the new master has none")
            },
        ),
        item(
            persistent,
            "persistent volumes",
            format!(
                "{} Redis PVCs of {}, {sentinels} Sentinel state PVCs of {}; {persistence}",
                replicas + 1,
                dep.redis.storage_size,
                dep.sentinel.storage_size
            ),
        ),
        item(
            dep.monitoring.is_some(),
            "monitoring",
            match &dep.monitoring {
                Some(m) => format!(
                    "redis_exporter sidecars ({}), metrics Services, ServiceMonitor every {}",
                    m.exporter_image, m.interval
                ),
                None => "spec.monitoring is not set: no exporters, nothing scrapes Redis".into(),
            },
        ),
        item(
            dep.monitoring.is_some(),
            "alert rules",
            if dep.monitoring.is_some() {
                format!(
                    "PrometheusRule with {} alerts (failover, quorum, TILT, masters, replicas, \
                     persistence)",
                    monitoring::alerts(dep).len()
                )
            } else {
                "no PrometheusRule: a failover or a lost quorum goes unnoticed".into()
            },
        ),
        item(
            dep.backup.is_some(),
            "backups",
            match &dep.backup {
                Some(b) => format!(
                    "CronJob `{}` dumps a replica, keeps {} on a {} volume",
                    b.schedule, b.retention, b.storage_size
                ),
                None => "spec.backup is not set: no off-pod copy of the data".into(),
            },
        ),
        Item {
            status: Status::Manual,
            title: "tested failover",
            why: "not decidable from a profile: rehearse it (`redis-sentinel-gen rehearse`) \
                  and run the runbook's failover drill"
                .into(),
        },
        // Validation refuses a profile without both; defaults fill any gap.
        item(true, "resource limits", limits),
        network_policies(dep),
        item(
            dep.auth.is_some(),
            "auth",
            match &dep.auth {
                Some(a) => format!(
                    "password from Secret {} (key {}) for clients, replication and Sentinel",
                    a.name, a.key
                ),
                None => "auth is off: anyone who reaches the port can read and write".into(),
            },
        ),
    ]
}

/// Policies on pass only when the clients' admission is guaranteed: the pods of
/// `spec.clients` carry the label their patches add. Pods admitted by `clientPodLabels` alone
/// carry labels no one here checks, so that is for a person to confirm.
fn network_policies(dep: &Deployment) -> Item {
    const TITLE: &str = "network policies";
    let Some(policy) = &dep.network_policy else {
        return item(
            false,
            TITLE,
            "spec.networkPolicy is not set: every pod in the cluster can reach Redis".into(),
        );
    };
    let (key, value) = meta::client_label(dep);
    let extra = policy
        .client_pod_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let metrics = format!(
        "metrics only from namespace {}",
        policy.monitoring_namespace
    );
    if dep.clients.is_empty() {
        return Item {
            status: Status::Manual,
            title: TITLE,
            why: format!(
                "clients are admitted only by clientPodLabels, which nothing here puts on \
                 them: check `kubectl get pods -n {} -l {extra}` lists every client, or list \
                 them in spec.clients; {metrics}",
                dep.namespace
            ),
        };
    }
    let also = if extra.is_empty() {
        String::new()
    } else {
        format!(" (and pods labelled {extra})")
    };
    item(
        true,
        TITLE,
        format!(
            "Redis and Sentinel admit only their pods, the backup job and the {} client \
             workload(s), labelled {key}={value} by the client patches{also}; {metrics}",
            dep.clients.len()
        ),
    )
}

/// Whether the profile fails the checklist: an item failed and the profile is not a
/// development profile (those may fail items on purpose).
pub fn fails(dep: &Deployment, items: &[Item]) -> bool {
    !dep.development && items.iter().any(|i| i.status == Status::Fail)
}

/// The printed checklist.
pub fn report(dep: &Deployment, items: &[Item]) -> String {
    let mut out = format!(
        "production checklist for {} ({})\n\n",
        dep.instance, dep.source
    );
    let width = items.iter().map(|i| i.title.len()).max().unwrap_or(0);
    for i in items {
        let mark = match i.status {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Manual => "?",
        };
        let _ = writeln!(out, "{mark} {:width$}  {}", i.title, i.why);
    }
    let count = |s: Status| items.iter().filter(|i| i.status == s).count();
    let _ = write!(
        out,
        "\n{} passed, {} failed, {} to check by hand",
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Manual)
    );
    out.push_str(if count(Status::Fail) == 0 {
        "\n"
    } else if dep.development {
        " (a development profile: not an error)\n"
    } else {
        "\n"
    });
    out
}
