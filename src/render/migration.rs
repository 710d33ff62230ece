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
//! acknowledged write, phase 2 starts the Sentinels and switches the clients, phase 3 drops the
//! old Redis.

use anyhow::Result;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use crate::render::clients;
use crate::render::meta::{self, Role};
use crate::render::runbook::OpsContext;
use crate::resolve::{Deployment, Migration};
use crate::{krm, templates};

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

/// A kustomization of `redis-sentinel.yaml` beside it: the top of the `--out` tree (so an
/// overlay can say `resources: [../redis]`) and the migration's copy of the deployment.
pub fn deployment_kustomization(dep: &Deployment) -> Result<String> {
    clients::with_header(
        dep,
        &Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources: vec![krm::GENERATED_FILE.to_string()],
            components: Vec::new(),
            patches: Vec::new(),
        },
    )
}

/// Every migration file, (path relative to the output directory, content): the README, the
/// script, the deployment copy, then the phases in the order of [`PHASES`]. Empty when the
/// profile has no `migration`. `redis_sentinel_yaml` is the rendered deployment.
pub fn files(dep: &Deployment, redis_sentinel_yaml: &str) -> Result<Vec<(String, String)>> {
    let Some(migration) = &dep.migration else {
        return Ok(Vec::new());
    };
    let context = MigrationContext::new(dep, migration);
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
        format!("{DEPLOYMENT_DIR}/{}", krm::GENERATED_FILE),
        redis_sentinel_yaml.to_string(),
    ));
    for (index, phase) in PHASES.iter().enumerate() {
        files.push((
            format!("migration/{phase}/kustomization.yaml"),
            clients::with_header(dep, &phase_kustomization(dep, migration, index))?,
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

/// Phase `index` of [`PHASES`]: the base and the deployment in every phase; no Sentinel pod
/// in the first; the client switch from the second on; the old Redis deleted in the last.
fn phase_kustomization(dep: &Deployment, migration: &Migration, index: usize) -> Kustomization {
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
    }
    if index == PHASES.len() - 1 {
        for object in &migration.remove {
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
}

#[derive(Debug, Serialize)]
pub struct RemoveContext {
    pub kind: String,
    pub name: String,
    /// The kind as a kubectl resource name (`deployment`).
    pub resource: String,
}

impl MigrationContext {
    fn new(dep: &Deployment, migration: &Migration) -> Self {
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
            remove: migration
                .remove
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
        }
    }
}
