//! Monitoring: the `redis_exporter` sidecar of every Redis and Sentinel pod, one metrics
//! Service per role, the `ServiceMonitor` that makes Prometheus scrape them and the
//! `PrometheusRule` with the failover alerts.
//!
//! `ServiceMonitor` and `PrometheusRule` are Prometheus Operator CRDs, not in k8s-openapi:
//! the structs below carry exactly the fields rendered. Every metric an alert reads is one
//! the exporter really exposes (tests/it/monitoring.rs scrapes Debian's exporter in front of a
//! real redis-server and redis-sentinel).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, HTTPGetAction, Probe, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::profile::defaults::{METRICS_PORT, REDIS_PORT, SENTINEL_PORT};
use crate::render::layout;
use crate::render::meta::{self, Role};
use crate::render::pod;
use crate::resolve::{Deployment, Monitoring};

/// Name of the exporter container and of its port, in pods and metrics Services.
pub const METRICS_PORT_NAME: &str = "metrics";
/// Label of the metrics Services, what the ServiceMonitor selects on.
pub const METRICS_LABEL: &str = "redis-sentinel-gen/metrics";
/// `apiVersion` of both Prometheus Operator objects.
pub const MONITORING_API_VERSION: &str = "monitoring.coreos.com/v1";

/// The exporter sidecar of a pod of `role`, or `None` with monitoring off. It scrapes its
/// own pod over localhost (what a NetworkPolicy never blocks) with the pod's password.
pub fn exporter(dep: &Deployment, role: Role) -> Option<Container> {
    let monitoring = dep.monitoring.as_ref()?;
    let port = match role {
        Role::Sentinel => SENTINEL_PORT,
        Role::Redis | Role::Backup => REDIS_PORT,
    };
    // redis_exporter reads REDIS_ADDR and REDIS_PASSWORD as the defaults of its flags.
    let mut env = vec![EnvVar {
        name: "REDIS_ADDR".to_string(),
        value: Some(format!("redis://localhost:{port}")),
        ..Default::default()
    }];
    if let Some(secret) = &dep.auth {
        env.push(pod::secret_env(layout::ENV_PASSWORD, secret));
    }
    // `/health` answers whenever the exporter serves HTTP, whatever the state of Redis: a
    // Redis problem never makes the pod unready through its sidecar (a Sentinel would leave
    // the client Service), only a hung exporter does, and liveness restarts that one.
    let probe = |period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/health".to_string()),
            port: IntOrString::String(METRICS_PORT_NAME.to_string()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        success_threshold: Some(1),
        ..Default::default()
    };
    Some(Container {
        name: METRICS_PORT_NAME.to_string(),
        image: Some(monitoring.exporter_image.clone()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        ports: Some(vec![ContainerPort {
            name: Some(METRICS_PORT_NAME.to_string()),
            container_port: i32::from(METRICS_PORT),
            ..Default::default()
        }]),
        env: Some(env),
        readiness_probe: Some(probe(10, 3)),
        liveness_probe: Some(probe(30, 3)),
        resources: Some(pod::resources(&monitoring.resources)),
        security_context: Some(pod::container_security_context()),
        ..Default::default()
    })
}

/// The metrics Service of `role`: headless (Prometheus scrapes every pod, never a cluster IP)
/// and publishing pods that are not ready, since a replica stuck in sync is exactly when its
/// metrics matter.
fn metrics_service(dep: &Deployment, role: Role, name: &str) -> Service {
    let mut metadata = meta::object_meta(dep, role, name);
    metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(METRICS_LABEL.to_string(), "true".to_string());
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(meta::role_selector_labels(dep, role)),
            ports: Some(vec![ServicePort {
                name: Some(METRICS_PORT_NAME.to_string()),
                port: i32::from(METRICS_PORT),
                target_port: Some(IntOrString::String(METRICS_PORT_NAME.to_string())),
                protocol: Some("TCP".to_string()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Metrics Services of the Redis and the Sentinel pods (empty with monitoring off). Their
/// names are the Prometheus `job` labels the alert rules filter on.
pub fn metrics_services(dep: &Deployment) -> Vec<Service> {
    if dep.monitoring.is_none() {
        return Vec::new();
    }
    vec![
        metrics_service(dep, Role::Redis, &dep.names.redis_metrics),
        metrics_service(dep, Role::Sentinel, &dep.names.sentinel_metrics),
    ]
}

/// `monitoring.coreos.com/v1` ServiceMonitor, the fields rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceMonitor {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: ServiceMonitorSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceMonitorSpec {
    pub selector: LabelSelector,
    pub namespace_selector: NamespaceSelector,
    pub endpoints: Vec<ScrapeEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceSelector {
    pub match_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScrapeEndpoint {
    pub port: String,
    pub interval: String,
    pub path: String,
}

/// Metadata of the ServiceMonitor and PrometheusRule: the usual labels plus the profile's
/// `monitoring.labels`, which the Prometheus resource's selectors look for.
fn monitoring_meta(dep: &Deployment, monitoring: &Monitoring) -> ObjectMeta {
    let mut metadata = meta::object_meta(dep, Role::Redis, &dep.names.monitoring);
    let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.extend(monitoring.labels.clone());
    metadata
}

/// The ServiceMonitor scraping both metrics Services, or `None` with monitoring off.
pub fn service_monitor(dep: &Deployment) -> Option<ServiceMonitor> {
    let monitoring = dep.monitoring.as_ref()?;
    Some(ServiceMonitor {
        api_version: MONITORING_API_VERSION.to_string(),
        kind: "ServiceMonitor".to_string(),
        metadata: monitoring_meta(dep, monitoring),
        spec: ServiceMonitorSpec {
            selector: LabelSelector {
                match_labels: Some(BTreeMap::from([
                    (
                        "app.kubernetes.io/instance".to_string(),
                        dep.instance.clone(),
                    ),
                    (METRICS_LABEL.to_string(), "true".to_string()),
                ])),
                ..Default::default()
            },
            namespace_selector: NamespaceSelector {
                match_names: vec![dep.namespace.clone()],
            },
            endpoints: vec![ScrapeEndpoint {
                port: METRICS_PORT_NAME.to_string(),
                interval: monitoring.interval.clone(),
                path: "/metrics".to_string(),
            }],
        },
    })
}

/// `monitoring.coreos.com/v1` PrometheusRule, the fields rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusRule {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: PrometheusRuleSpec,
}

/// The `spec` is exactly a Prometheus rule file (`groups:`), so `promtool check rules` reads
/// it as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusRuleSpec {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<AlertRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// One alert before it becomes an [`AlertRule`].
struct Alert<'a> {
    name: &'a str,
    expr: String,
    for_: &'a str,
    severity: &'a str,
    summary: String,
    description: String,
    /// Section of the generated RUNBOOK.md.
    runbook_anchor: &'a str,
}

impl AlertRule {
    /// The `RUNBOOK.md` anchor its `runbook_url` points at.
    pub fn runbook_anchor(&self) -> Option<&str> {
        self.annotations
            .get("runbook_url")?
            .strip_prefix(RUNBOOK_URL_PREFIX)
    }
}

/// `runbook_url` of every alert: a section of the generated `RUNBOOK.md`.
const RUNBOOK_URL_PREFIX: &str = "RUNBOOK.md#";

impl Alert<'_> {
    fn rule(self) -> AlertRule {
        AlertRule {
            alert: self.name.to_string(),
            expr: self.expr,
            for_: self.for_.to_string(),
            labels: BTreeMap::from([("severity".to_string(), self.severity.to_string())]),
            annotations: BTreeMap::from([
                ("summary".to_string(), self.summary),
                ("description".to_string(), self.description),
                (
                    "runbook_url".to_string(),
                    format!("{RUNBOOK_URL_PREFIX}{}", self.runbook_anchor),
                ),
            ]),
        }
    }
}

/// The failover alerts, each scoped to this deployment's namespace and metrics jobs.
pub fn alerts(dep: &Deployment) -> Vec<AlertRule> {
    let ns = &dep.namespace;
    let master = &dep.master_name;
    let redis = format!(r#"namespace="{ns}",job="{}""#, dep.names.redis_metrics);
    let sentinel = format!(
        r#"namespace="{ns}",job="{}",master_name="{master}""#,
        dep.names.sentinel_metrics
    );
    let replicas = dep.redis.replicas;
    let sentinels = dep.sentinel.replicas;
    let quorum = dep.sentinel.quorum;
    vec![
        Alert {
            name: "RedisSentinelFailover",
            // Every Sentinel labels its master status with the master's address: more than one
            // address over the window means the master moved.
            expr: format!(
                "count by (namespace, master_name) (count by (namespace, master_name, master_address) \
                 (last_over_time(redis_sentinel_master_status{{{sentinel}}}[15m]))) > 1"
            ),
            for_: "0m",
            severity: "warning",
            summary: format!("Sentinel failed over {master} in namespace {ns}"),
            description: "The Sentinels named a new master within the last 15 minutes. Check \
                          why the old master was lost and that it rejoined as a replica."
                .to_string(),
            runbook_anchor: "failover",
        },
        Alert {
            name: "RedisSentinelNoQuorum",
            expr: format!("redis_sentinel_master_ckquorum_status{{{sentinel}}} == 0"),
            for_: "1m",
            severity: "critical",
            summary: format!("Sentinels cannot reach quorum for {master} in namespace {ns}"),
            description: format!(
                "SENTINEL CKQUORUM fails on {{{{ $labels.pod }}}}: fewer than {quorum} Sentinels \
                 agree or no majority can authorize a failover. A failing master would not \
                 be replaced."
            ),
            runbook_anchor: "sentinel-quorum",
        },
        Alert {
            name: "RedisSentinelsMissing",
            expr: format!(
                "min by (namespace, master_name) (redis_sentinel_master_ok_sentinels{{{sentinel}}}) < {sentinels}"
            ),
            for_: "5m",
            severity: "warning",
            summary: format!("Fewer than {sentinels} Sentinels see {master} in namespace {ns}"),
            description: format!(
                "Only {{{{ $value }}}} of {sentinels} Sentinels see the master; {quorum} are \
                 needed for a failover. One more loss may block it."
            ),
            runbook_anchor: "sentinel-quorum",
        },
        Alert {
            name: "RedisSentinelTilt",
            expr: format!(
                r#"redis_sentinel_tilt{{namespace="{ns}",job="{}"}} > 0"#,
                dep.names.sentinel_metrics
            ),
            for_: "1m",
            severity: "warning",
            summary: format!("A Sentinel is in TILT mode in namespace {ns}"),
            description: "{{ $labels.pod }} is in TILT mode (its clock jumped or it was \
                          paused): it does not act on failures until TILT ends."
                .to_string(),
            runbook_anchor: "sentinel-tilt",
        },
        Alert {
            name: "RedisNoMaster",
            // `or vector(0)`: with no master the count has no series at all.
            expr: format!(
                r#"(count(redis_instance_info{{{redis},role="master"}}) or vector(0)) == 0"#
            ),
            for_: "1m",
            severity: "critical",
            summary: format!("No Redis pod is master in namespace {ns}"),
            description: "No scraped Redis pod reports role master: writes fail. Either the \
                          failover did not complete or no Redis pod is scraped."
                .to_string(),
            runbook_anchor: "no-master",
        },
        Alert {
            name: "RedisMultipleMasters",
            expr: format!(r#"count(redis_instance_info{{{redis},role="master"}}) > 1"#),
            for_: "1m",
            severity: "critical",
            summary: format!("More than one Redis pod is master in namespace {ns}"),
            description: "{{ $value }} Redis pods report role master: clients may write to a \
                          master whose writes will be discarded."
                .to_string(),
            runbook_anchor: "more-than-one-master",
        },
        Alert {
            name: "RedisReplicaLinkDown",
            expr: format!("redis_master_link_up{{{redis}}} == 0"),
            for_: "2m",
            severity: "warning",
            summary: format!("A Redis replica lost its master in namespace {ns}"),
            description: "{{ $labels.pod }} has no link to {{ $labels.master_host }}: it \
                          serves stale data and is a poor failover candidate."
                .to_string(),
            runbook_anchor: "replica-link-down",
        },
        Alert {
            name: "RedisTooFewReplicas",
            // Replicas report 0 connected replicas, so the maximum is the master's count.
            expr: format!("max(redis_connected_slaves{{{redis}}}) < {replicas}"),
            for_: "5m",
            severity: "warning",
            summary: format!("The Redis master has fewer than {replicas} replicas in namespace {ns}"),
            description: format!(
                "The master has {{{{ $value }}}} connected replicas of the {replicas} configured."
            ),
            runbook_anchor: "missing-replicas",
        },
        Alert {
            name: "RedisPersistenceFailing",
            expr: format!(
                "redis_rdb_last_bgsave_status{{{redis}}} == 0 or redis_aof_last_write_status{{{redis}}} == 0"
            ),
            for_: "1m",
            severity: "critical",
            summary: format!("Redis cannot write its RDB or AOF in namespace {ns}"),
            description: "The last RDB save or AOF write of {{ $labels.pod }} failed (disk \
                          full or unwritable?): a restart would lose data, and a master stops \
                          accepting writes."
                .to_string(),
            runbook_anchor: "persistence-errors",
        },
        Alert {
            name: "RedisMetricsMissing",
            expr: format!(
                r#"up{{namespace="{ns}",job=~"{}|{}"}} == 0"#,
                dep.names.redis_metrics, dep.names.sentinel_metrics
            ),
            for_: "5m",
            severity: "warning",
            summary: format!("A Redis or Sentinel exporter is not scraped in namespace {ns}"),
            description: "{{ $labels.pod }} cannot be scraped: the alerts above are blind for it."
                .to_string(),
            runbook_anchor: "metrics-missing",
        },
    ]
    .into_iter()
    .map(Alert::rule)
    .collect()
}

/// The PrometheusRule with [`alerts`], or `None` with monitoring off.
pub fn prometheus_rule(dep: &Deployment) -> Option<PrometheusRule> {
    let monitoring = dep.monitoring.as_ref()?;
    Some(PrometheusRule {
        api_version: MONITORING_API_VERSION.to_string(),
        kind: "PrometheusRule".to_string(),
        metadata: monitoring_meta(dep, monitoring),
        spec: PrometheusRuleSpec {
            groups: vec![RuleGroup {
                name: format!("{}-redis-sentinel", dep.instance),
                rules: alerts(dep),
            }],
        },
    })
}
