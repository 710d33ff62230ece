//! The migration from a single Redis (`migration/`): ordered kustomize phases over the user's
//! base, the `migrate.sh` that moves the data between them, and the README that says what to
//! run when.
//!
//! The phases need the deployment as a kustomize resource, and kustomize accepts neither a
//! file outside a kustomization's directory nor a kustomization in an ancestor directory
//! (a cycle). So `migration/deployment/` holds a byte-identical copy of `redis-sentinel.yaml`
//! with its own kustomization; `check` keeps the copy current like every other file.
//!
//! The design, in short (the README has it in full): phase 1 deploys the Redis pods with no
//! Sentinel, `migrate.sh copy` makes the new master a replica of the old Redis, `cutover`
//! pauses and fences the old Redis and promotes the new master once it has every
//! acknowledged write, phase 2 starts the Sentinels, switches the clients and restarts the
//! old Redis fenced (when the base shows its workload), phase 3 drops the old Redis.

use anyhow::Result;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use crate::old_redis::OldRedis;
use crate::profile::spec::ObjectRef;
use crate::render::clients;
use crate::render::meta::{self, Role};
use crate::render::runbook::OpsContext;
use crate::render::tree;
use crate::resolve::{Deployment, Migration};
use crate::templates;

/// The deployment as a kustomization the phases can include.
pub const DEPLOYMENT_DIR: &str = "migration/deployment";
pub const README: &str = "migration/README.md";
pub const SCRIPT: &str = "migration/migrate.sh";
/// The phase directories under `migration/`, in the order they are applied.
pub const PHASES: [&str; 3] = ["1-deploy", "2-switch", "3-cleanup"];
/// With `networkPolicy` on, phase 1's NetworkPolicy letting the Redis pods reach the old
/// Redis (their own policy admits only this deployment's pods), relative to the phase.
pub const COPY_POLICY_FILE: &str = "allow-copy.yaml";
/// Default longest write pause of `migrate.sh cutover`, in seconds: catching up on a
/// replica that was in sync takes milliseconds; the rest is kubectl round trips.
const PAUSE_SECONDS: u32 = 30;
/// The key on the new master where `migrate.sh cutover` records the old Redis's run_id,
/// replication offset and write count for `verify`.
pub const CUTOVER_KEY: &str = "redis-sentinel-gen:migration:cutover";
/// The oldest old Redis the migration works with: `CLIENT PAUSE … WRITE` (the cutover) is
/// 6.2; the two-argument AUTH of `masteruser` (the copy) is 6.0.
pub const MIN_OLD_VERSION: &str = "6.2.0";
/// What phase 2 appends to the old Redis container's arguments: the cutover's fence
/// (`min-replicas-to-write 1`) on its command line, so a restart after the cutover brings it
/// back refusing every write (it has no replica) instead of forgetting a runtime setting.
pub const FENCE_ARGS: [&str; 4] = [
    "--min-replicas-to-write",
    "1",
    "--min-replicas-max-lag",
    "10",
];

/// A kustomization of `redis-sentinel.yaml` beside it: the top of the `--out` tree (so an
/// overlay can say `resources: [../redis]`) and the migration's copy of the deployment.
pub fn deployment_kustomization(dep: &Deployment) -> Result<String> {
    clients::with_header(
        dep,
        &Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources: vec![tree::GENERATED_FILE.to_string()],
            components: Vec::new(),
            patches: Vec::new(),
        },
    )
}

/// Every migration file, (path relative to the output directory, content): the README, the
/// script, the deployment copy, then the phases in the order of [`PHASES`]. Empty when the
/// profile has no `migration`. `redis_sentinel_yaml` is the rendered deployment; `old` is the
/// old Redis as found in the base, when it could be read.
pub fn files(
    dep: &Deployment,
    redis_sentinel_yaml: &str,
    old: Option<&OldRedis>,
) -> Result<Vec<(String, String)>> {
    let Some(migration) = &dep.migration else {
        return Ok(Vec::new());
    };
    let context = MigrationContext::new(dep, migration, old);
    let mut files = vec![
        (
            README.to_string(),
            templates::render("migration-readme.md.j2", &context)?,
        ),
        (
            SCRIPT.to_string(),
            templates::render("migration-migrate.sh.j2", &context)?,
        ),
    ];
    files.push((
        format!("{DEPLOYMENT_DIR}/kustomization.yaml"),
        deployment_kustomization(dep)?,
    ));
    files.push((
        format!("{DEPLOYMENT_DIR}/{}", tree::GENERATED_FILE),
        redis_sentinel_yaml.to_string(),
    ));
    for (index, phase) in PHASES.iter().enumerate() {
        files.push((
            format!("migration/{phase}/kustomization.yaml"),
            clients::with_header(dep, &phase_kustomization(dep, migration, old, index))?,
        ));
        if index == 0 && dep.network_policy.is_some() {
            files.push((
                format!("migration/{phase}/{COPY_POLICY_FILE}"),
                clients::with_header(dep, &copy_policy(dep, migration))?,
            ));
        }
    }
    Ok(files)
}

/// Name of [`copy_policy`].
fn copy_policy_name(dep: &Deployment) -> String {
    format!("{}-migration-copy", dep.names.redis_master)
}

/// Egress from every Redis pod to the old Redis's port, anywhere: the deployment's own
/// policies deny egress beyond its pods, and the old Redis's pods carry labels this tool does
/// not know. Only phase 1 has it; the README deletes it after the cutover.
fn copy_policy(dep: &Deployment, migration: &Migration) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta::object_meta(dep, Role::Redis, &copy_policy_name(dep)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(meta::role_selector(dep, Role::Redis)),
            policy_types: Some(vec!["Egress".to_string()]),
            egress: Some(vec![NetworkPolicyEgressRule {
                ports: Some(vec![NetworkPolicyPort {
                    port: Some(IntOrString::Int(i32::from(migration.from.port))),
                    protocol: Some("TCP".to_string()),
                    ..Default::default()
                }]),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

/// The objects the last phase removes: those the profile lists, and the old Redis's Service
/// and workload found in the base.
pub fn removed(migration: &Migration, old: Option<&OldRedis>) -> Vec<ObjectRef> {
    let mut objects = migration.remove.clone();
    for object in old.map(OldRedis::objects).unwrap_or_default() {
        if !objects
            .iter()
            .any(|o| o.kind == object.kind && o.name == object.name)
        {
            objects.push(object);
        }
    }
    objects
}

/// The JSON patch of phase 2 that puts [`FENCE_ARGS`] on the old Redis container's command
/// line: appended to its `args`, or as its `args` when it has none (the official image's
/// entrypoint runs `redis-server` with arguments that start with `-`).
fn fence_patch(old: &OldRedis) -> String {
    let path = format!(
        "/spec/template/spec/containers/{}/args",
        old.container_index
    );
    if !old.args.is_empty() {
        FENCE_ARGS
            .iter()
            .map(|arg| format!("- op: add\n  path: {path}/-\n  value: \"{arg}\"\n"))
            .collect()
    } else {
        let values: Vec<String> = FENCE_ARGS.iter().map(|a| format!("\"{a}\"")).collect();
        format!(
            "- op: add\n  path: {path}\n  value: [{}]\n",
            values.join(", ")
        )
    }
}

/// Phase `index` of [`PHASES`]: the base and the deployment in every phase; no Sentinel pod,
/// no alert rules and no backups in the first (the new master is a replica of the old Redis
/// then); the client switch and the fenced old Redis from the second on; the old Redis
/// deleted in the last.
fn phase_kustomization(
    dep: &Deployment,
    migration: &Migration,
    old: Option<&OldRedis>,
    index: usize,
) -> Kustomization {
    let mut patches = Vec::new();
    if index == 0 {
        // Sentinels must not watch the new master while it replicates the old Redis: it
        // reports role:slave, which Sentinel treats as down and fails over.
        patches.push(Patch {
            target: Target {
                group: Some("apps"),
                version: Some("v1"),
                kind: "StatefulSet".into(),
                name: dep.names.sentinel.clone(),
            },
            patch: "- op: replace\n  path: /spec/replicas\n  value: 0\n".into(),
        });
        // While the new master replicates the old Redis, no Redis pod reports role:master
        // (RedisNoMaster, critical) and no Sentinel runs: the rules would page for a state
        // the migration creates on purpose. Phase 2 brings them back.
        if dep.monitoring.is_some() {
            patches.push(Patch {
                target: Target {
                    group: Some("monitoring.coreos.com"),
                    version: Some("v1"),
                    kind: "PrometheusRule".into(),
                    name: dep.names.monitoring.clone(),
                },
                patch: format!(
                    "$patch: delete\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: {}\n",
                    dep.names.monitoring
                ),
            });
        }
        // The backup asks the Sentinels for a replica to dump, and there are none yet.
        if dep.backup.is_some() {
            patches.push(Patch {
                target: Target {
                    group: Some("batch"),
                    version: Some("v1"),
                    kind: "CronJob".into(),
                    name: dep.names.backup.clone(),
                },
                patch: "- op: add\n  path: /spec/suspend\n  value: true\n".into(),
            });
        }
    }
    if let Some(old) = old.filter(|_| index == 1) {
        patches.push(Patch {
            target: Target {
                group: group_of(&old.workload.kind),
                version: Some("v1"),
                kind: old.workload.kind.clone(),
                name: old.workload.name.clone(),
            },
            patch: fence_patch(old),
        });
    }
    if index == PHASES.len() - 1 {
        for object in &removed(migration, old) {
            patches.push(Patch {
                target: Target {
                    group: None,
                    version: None,
                    kind: object.kind.clone(),
                    name: object.name.clone(),
                },
                patch: format!(
                    "$patch: delete\nkind: {}\nmetadata:\n  name: {}\n",
                    object.kind, object.name
                ),
            });
        }
    }
    let components = if index > 0 && !dep.clients.is_empty() {
        vec![format!("../../{}", clients::DIR)]
    } else {
        Vec::new()
    };
    let mut resources = vec![
        format!("../../{}", migration.base),
        "../deployment".to_string(),
    ];
    if index == 0 && dep.network_policy.is_some() {
        resources.push(COPY_POLICY_FILE.to_string());
    }
    Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources,
        components,
        patches,
    }
}

/// The API group of a workload kind the fence patch targets.
fn group_of(kind: &str) -> Option<&'static str> {
    matches!(
        kind,
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet"
    )
    .then_some("apps")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    patches: Vec<Patch>,
}

#[derive(Serialize)]
struct Patch {
    target: Target,
    patch: String,
}

#[derive(Serialize)]
struct Target {
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
    kind: String,
    name: String,
}

/// What the migration templates see: the operator names plus the migration's own.
#[derive(Debug, Serialize)]
pub struct MigrationContext {
    #[serde(flatten)]
    pub ops: OpsContext,
    pub from_host: String,
    pub from_port: u16,
    /// The Service and namespace `kubectl exec svc/…` reaches the old Redis through: the first
    /// two labels of `from_host` (`redis-service.legacy…` → `redis-service` in `legacy`), the
    /// profile's namespace for a bare name.
    pub old_service: String,
    pub old_namespace: String,
    /// `spec.migration.base` as written (relative to the output directory).
    pub base: String,
    pub remove: Vec<RemoveContext>,
    pub pause_seconds: u32,
    /// The NetworkPolicy phase 1 adds for the copy, when network policies are on.
    pub copy_policy: Option<String>,
    /// The pod label the client patches add and the NetworkPolicies admit (`key: "true"`),
    /// when network policies are on.
    pub client_label: Option<String>,
    pub cutover_key: &'static str,
    pub min_old_version: &'static str,
    /// The old Redis's workload that phase 2 restarts fenced; `None` when the base does not
    /// show it.
    pub fence: Option<FenceContext>,
    pub fence_args: String,
    /// What phase 1 holds back: the PrometheusRule and the backup CronJob, when rendered.
    pub quiet_rules: Option<String>,
    pub quiet_backup: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FenceContext {
    pub kind: String,
    pub name: String,
    pub container: String,
    pub service: String,
}

#[derive(Debug, Serialize)]
pub struct RemoveContext {
    pub kind: String,
    pub name: String,
    /// The kind as a kubectl resource name (`deployment`).
    pub resource: String,
}

impl MigrationContext {
    fn new(dep: &Deployment, migration: &Migration, old: Option<&OldRedis>) -> Self {
        let mut labels = migration.from.host.split('.');
        let old_service = labels.next().unwrap_or_default().to_string();
        let old_namespace = labels
            .next()
            .map_or_else(|| dep.namespace.clone(), str::to_string);
        MigrationContext {
            ops: OpsContext::new(dep),
            from_host: migration.from.host.clone(),
            from_port: migration.from.port,
            old_service,
            old_namespace,
            base: migration.base.clone(),
            remove: removed(migration, old)
                .iter()
                .map(|o| RemoveContext {
                    kind: o.kind.clone(),
                    name: o.name.clone(),
                    resource: o.kind.to_lowercase(),
                })
                .collect(),
            pause_seconds: PAUSE_SECONDS,
            copy_policy: dep.network_policy.as_ref().map(|_| copy_policy_name(dep)),
            client_label: dep.network_policy.as_ref().map(|_| {
                let (key, value) = meta::client_label(dep);
                format!("{key}: \"{value}\"")
            }),
            cutover_key: CUTOVER_KEY,
            min_old_version: MIN_OLD_VERSION,
            fence: old.map(|o| FenceContext {
                kind: o.workload.kind.clone(),
                name: o.workload.name.clone(),
                container: o.container.clone(),
                service: o.service.clone(),
            }),
            fence_args: FENCE_ARGS.join(" "),
            quiet_rules: dep
                .monitoring
                .as_ref()
                .map(|_| dep.names.monitoring.clone()),
            quiet_backup: dep.backup.as_ref().map(|_| dep.names.backup.clone()),
        }
    }
}
