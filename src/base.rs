//! The profile checked against the user's kustomize base, as `kustomization::workloads` sees
//! it without running kustomize: the client workloads, their containers and pod labels.
//!
//! - A strategic-merge patch for a container the workload does not have adds one, without an
//!   image, and kustomize says nothing; a patch whose target matches no workload is skipped
//!   just as silently. Both are typos in `spec.clients`.
//! - A client env variable the switch leaves although it names the old Redis (`REDIS_URL`)
//!   outlives that Redis.
//! - Pods of the base carrying this deployment's selector labels would be taken for its own.
//!
//! The KRM function runs the client checks against its items. When the view of the base is
//! incomplete (patches, components, generators or remote resources it does not evaluate),
//! the findings are warnings.

use std::path::Path;

use crate::diagnostic::Finding;
use crate::kustomization::workloads::{Container, Seen, Workload, read};
use crate::profile::source_map::SourceMap;
use crate::profile::spec::{ClientMode, Profile};
use crate::render::clients::{self, kind_name};
use crate::render::layout;
use crate::render::meta::{self, Role};
use crate::validate;

/// Findings about `spec.clients` against the workloads `seen` in `place` (e.g. "the
/// migration base ../base"): a client workload without its named container (an error when
/// the view is complete), and, with `absent_matters`, a client workload that is not there.
pub fn client_findings(
    profile: &Profile,
    map: &SourceMap,
    seen: &Seen,
    place: &str,
    absent_matters: bool,
) -> Vec<Finding> {
    let unsure = format!(
        "{place} has patches, components, generators or remote resources this tool does not \
         evaluate; if one of them provides it, ignore this"
    );
    let mut findings = Vec::new();
    for (index, client) in profile.spec.clients.iter().enumerate() {
        let kind = kind_name(client.kind);
        let matching: Vec<&Workload> = seen
            .workloads
            .iter()
            .filter(|w| w.kind == kind && w.name == client.name)
            .collect();
        if matching.is_empty() && absent_matters {
            let known: Vec<String> = seen
                .workloads
                .iter()
                .map(|w| format!("{} {}", w.kind, w.name))
                .collect();
            // A warning even when the view is complete: the user's own kustomization may
            // bring the workload in beside the base.
            let finding = map
                .warning(
                    &format!("spec.clients[{index}].name"),
                    format!(
                        "{place} has no {kind} `{}`: its patch matches nothing, and kustomize \
                         skips it without a word",
                        client.name
                    ),
                )
                .found(&client.name)
                .valid(one_of("a workload of the base", &known));
            findings.push(if seen.complete {
                finding
            } else {
                finding.help(unsure.clone())
            });
        }
        for workload in matching {
            let names: Vec<String> = workload.containers.iter().map(|c| c.name.clone()).collect();
            if let Some(container) = workload
                .containers
                .iter()
                .find(|c| c.name == client.container)
            {
                findings.extend(old_host_left(profile, map, index, container));
                continue;
            }
            let path = format!("spec.clients[{index}].container");
            let message = format!(
                "{kind} {} in {place} has no container `{}`",
                client.name, client.container
            );
            let finding = if seen.complete {
                map.error(&path, message).help(
                    "a patch for a container the workload lacks adds a second container \
                     without an image, which the API server rejects",
                )
            } else {
                map.warning(&path, message).help(unsure.clone())
            };
            findings.push(finding.found(&client.container).valid(one_of(
                &format!("a container of {kind} {}", client.name),
                &names,
            )));
        }
    }
    findings
}

/// Workloads of the base in the profile's namespace whose pods carry the labels this
/// deployment selects its own pods by (`app.kubernetes.io/name` + `instance`), as an old
/// Redis released by a chart under the same name does: the deployment's Services,
/// PodDisruptionBudgets and NetworkPolicies would take them for its own, and its Redis
/// NetworkPolicy would cut the clients off the old Redis as soon as phase 1 applies it.
pub fn selector_collisions(
    profile: &Profile,
    map: &SourceMap,
    seen: &Seen,
    place: &str,
) -> Vec<Finding> {
    let instance = profile.metadata.name.as_str();
    let namespace = profile
        .metadata
        .namespace
        .as_deref()
        .unwrap_or(crate::profile::defaults::DEFAULT_NAMESPACE);
    let mut findings = Vec::new();
    for workload in &seen.workloads {
        if workload
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != namespace)
        {
            continue;
        }
        for role in [Role::Redis, Role::Sentinel, Role::Backup] {
            let selector = meta::instance_role_selector_labels(instance, role);
            if !selector
                .iter()
                .all(|(k, v)| workload.pod_labels.get(k) == Some(v))
            {
                continue;
            }
            let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let message = format!(
                "the pods of {} {} in {place} carry {}, the labels this deployment selects its \
                 {} pods by",
                workload.kind,
                workload.name,
                labels.join(", "),
                role.app()
            );
            let finding = if seen.complete {
                map.error("metadata.name", message)
            } else {
                map.warning("metadata.name", message)
            };
            findings.push(
                finding
                    .found(instance)
                    .valid(format!(
                        "a metadata.name no workload of the base uses as \
                         app.kubernetes.io/instance, or other labels on {}",
                        workload.name
                    ))
                    .help(
                        "its Services, PodDisruptionBudgets and NetworkPolicies would take those \
                         pods for its own; the NetworkPolicy would cut the clients off them in \
                         phase 1",
                    ),
            );
        }
    }
    findings
}

/// A warning for each plain env variable of the client's `container` that the switch keeps
/// although it names the old Redis (`migration.from.host`), such as a `REDIS_URL`: the client
/// may go on using it, and phase 3 removes that Redis.
fn old_host_left(
    profile: &Profile,
    map: &SourceMap,
    index: usize,
    container: &Container,
) -> Vec<Finding> {
    let Some(migration) = &profile.spec.migration else {
        return Vec::new();
    };
    let host = migration.from.host.as_str();
    // The Service name alone: clients often write `redis-service`, not the full DNS name.
    let service = host.split('.').next().unwrap_or(host);
    let client = &profile.spec.clients[index];
    let env = client_env_names(client.mode);
    container
        .env
        .iter()
        .filter(|(name, value)| !env.contains(&name.as_str()) && names_host(value, service))
        .map(|(name, value)| {
            map.warning(
                &format!("spec.clients[{index}].container"),
                format!(
                    "container `{}` keeps `{name}`, which names the old Redis `{host}`: the \
                     switch sets and removes only {}",
                    container.name,
                    env.join(", ")
                ),
            )
            .found(format!("{name}={value}"))
            .help(format!(
                "make the client read the variables the switch sets, or drop `{name}` from the \
                 base: phase 3 removes the old Redis"
            ))
        })
        .collect()
}

/// Every variable the switch of a client in `mode` sets or removes.
fn client_env_names(mode: Option<ClientMode>) -> Vec<&'static str> {
    let mut names = vec![clients::ENV_ADDR, layout::ENV_PASSWORD];
    if mode != Some(ClientMode::Address) {
        names.extend([clients::ENV_SENTINEL_ADDRS, clients::ENV_MASTER_NAME]);
    }
    names
}

/// Whether `value` contains `host` as a whole host name (`redis://redis-service:6379`,
/// `redis-service.ns.svc`, but not `my-redis-service`, nor the scheme of `redis://other`).
fn names_host(value: &str, host: &str) -> bool {
    let is_host_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    value.match_indices(host).any(|(at, _)| {
        let before = value[..at].chars().next_back();
        let rest = &value[at + host.len()..];
        !before.is_some_and(is_host_char)
            && !rest.chars().next().is_some_and(is_host_char)
            && !rest.starts_with("://")
    })
}

/// "`what`: a, b" or "`what` (it has none)".
fn one_of(what: &str, names: &[String]) -> String {
    if names.is_empty() {
        format!("{what} (there is none)")
    } else {
        format!("{what}: {}", names.join(", "))
    }
}

/// [`client_findings`] and [`selector_collisions`] against the migration base of the tree in `out`, when the profile has
/// a migration and the base is there (the phases apply the client patches to it).
pub fn migration_base_findings(profile: &Profile, map: &SourceMap, out: &Path) -> Vec<Finding> {
    let Some(dir) = validate::migration_base_dir(profile, out) else {
        return Vec::new();
    };
    let Some(seen) = read(&dir) else {
        return Vec::new();
    };
    let place = format!("the migration base {}", dir.display());
    let mut findings = client_findings(profile, map, &seen, &place, true);
    findings.extend(selector_collisions(profile, map, &seen, &place));
    findings
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::diagnostic::Severity;
    use crate::profile::load::{self, Source};

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bot}\n\
                              spec:\n  template:\n    spec:\n      containers:\n      \
                              - {name: bot, image: x}\n      - {name: shipper, image: y}\n";

    /// A base in a fresh directory: `files` as (relative path, content).
    fn base(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("rsg-base-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn findings(clients: &str, seen: &Seen) -> Vec<Finding> {
        let source = Source {
            name: "p.yaml".into(),
            text: format!(
                "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\n\
                 metadata: {{name: x, namespace: ns}}\nspec:\n  masterName: m\n  clients: {clients}\n"
            ),
        };
        let loaded = load::load(&source).expect("profile loads");
        client_findings(&loaded.profile, &loaded.map, seen, "the base", true)
    }

    #[test]
    fn nested_kustomizations_and_name_prefixes_are_followed() {
        let dir = base(
            "nested",
            &[
                (
                    "kustomization.yaml",
                    "namePrefix: prod-\nnamespace: shop\nresources: [app]\n\
                     commonLabels: {team: a}\n",
                ),
                (
                    "app/kustomization.yaml",
                    "resources: [bot.yaml]\nnameSuffix: -v2\n",
                ),
                ("app/bot.yaml", DEPLOYMENT),
            ],
        );
        let seen = read(&dir).expect("a kustomization");
        assert_eq!(
            seen,
            Seen {
                workloads: vec![Workload {
                    kind: "Deployment".into(),
                    name: "prod-bot-v2".into(),
                    namespace: Some("shop".into()),
                    pod_labels: BTreeMap::from([("team".into(), "a".into())]),
                    containers: vec![
                        Container {
                            name: "bot".into(),
                            env: Vec::new()
                        },
                        Container {
                            name: "shipper".into(),
                            env: Vec::new()
                        }
                    ],
                }],
                complete: true,
            }
        );
        let found = findings(
            "[{kind: Deployment, name: prod-bot-v2, container: bott}]",
            &seen,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].severity, Severity::Error);
        assert_eq!(
            found[0].valid.as_deref(),
            Some("a container of Deployment prod-bot-v2: bot, shipper")
        );
        assert!(
            findings(
                "[{kind: Deployment, name: prod-bot-v2, container: bot}]",
                &seen
            )
            .is_empty()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_old_redis_labelled_like_this_deployment_is_an_error() {
        let chart_redis = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: old}\n\
                           spec:\n  template:\n    metadata:\n      labels:\n        \
                           app.kubernetes.io/name: redis\n        \
                           app.kubernetes.io/instance: x\n    spec:\n      containers: []\n";
        let dir = base(
            "collision",
            &[
                ("kustomization.yaml", "resources: [old.yaml, other/]\n"),
                ("old.yaml", chart_redis),
                // The same labels in another namespace select nothing of this deployment.
                (
                    "other/kustomization.yaml",
                    "namespace: elsewhere\nresources: [old.yaml]\nnameSuffix: -b\n",
                ),
                ("other/old.yaml", chart_redis),
            ],
        );
        let seen = read(&dir).expect("a kustomization");
        let source = Source {
            name: "p.yaml".into(),
            text: "apiVersion: redis-sentinel-gen/v1alpha1\nkind: RedisSentinel\n\
                   metadata: {name: x, namespace: ns}\nspec:\n  masterName: m\n"
                .into(),
        };
        let loaded = load::load(&source).expect("profile loads");
        let found = selector_collisions(&loaded.profile, &loaded.map, &seen, "the base");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].severity, Severity::Error);
        assert_eq!(found[0].field.as_deref(), Some("metadata.name"));
        assert!(
            found[0].message.contains("StatefulSet old "),
            "{}",
            found[0].message
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_host_is_named_only_as_a_whole_name() {
        assert!(names_host("redis://redis-service:6379/0", "redis-service"));
        assert!(names_host("redis-service.legacy.svc:6379", "redis-service"));
        assert!(names_host("redis-service", "redis-service"));
        assert!(!names_host("my-redis-service:6379", "redis-service"));
        assert!(!names_host("redis-service2:6379", "redis-service"));
        assert!(!names_host("redis://cache:6379", "redis"));
        assert!(names_host("redis://redis:6379", "redis"));
    }

    #[test]
    fn a_base_with_patches_gives_warnings_and_an_absent_client_is_a_warning() {
        let dir = base(
            "patched",
            &[
                (
                    "kustomization.yaml",
                    "resources: [bot.yaml]\npatches: [{path: sidecar.yaml}]\n",
                ),
                ("bot.yaml", DEPLOYMENT),
            ],
        );
        let seen = read(&dir).expect("a kustomization");
        assert!(!seen.complete);
        let found = findings(
            "[{kind: Deployment, name: bot, container: added-by-patch}, \
             {kind: StatefulSet, name: bot, container: bot}]",
            &seen,
        );
        let summary: Vec<(Severity, Option<&str>)> = found
            .iter()
            .map(|f| (f.severity, f.field.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                (Severity::Warning, Some("spec.clients[0].container")),
                (Severity::Warning, Some("spec.clients[1].name")),
            ]
        );
        assert!(read(&dir.join("nowhere")).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
