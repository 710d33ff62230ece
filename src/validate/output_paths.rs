//! Output paths: what a profile says relative to the output directory of `render --out` /
//! `check --out`, which only those commands know.

use crate::diagnostic::Finding;
use crate::kustomization::old_redis;
use crate::profile::defaults;
use crate::profile::source_map::SourceMap;
use crate::profile::spec::Profile;

/// Where the migration base of a tree rendered into `out` is (`spec.migration.base`, or its
/// default, relative to `out`); `None` without a migration.
pub fn migration_base_dir(profile: &Profile, out: &std::path::Path) -> Option<std::path::PathBuf> {
    let migration = profile.spec.migration.as_ref()?;
    let base = migration
        .base
        .as_deref()
        .unwrap_or(defaults::DEFAULT_MIGRATION_BASE);
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
        .unwrap_or(defaults::DEFAULT_MIGRATION_BASE);
    let is_kustomization = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|name| dir.join(name).is_file());
    let port = migration.from.port.unwrap_or(defaults::REDIS_PORT);
    // Phase 3 removes the old Redis: found in the base, or named in the profile. Found, phase
    // 2 also restarts it fenced; otherwise the fence is only the live setting of the cutover.
    let found = if is_kustomization {
        old_redis::find(&dir, &migration.from.host, port)
    } else {
        Err(format!("the base {} cannot be read", dir.display()))
    };
    let mut findings = Vec::new();
    if let Ok(old) = &found
        && let Some(shell) = old.shell_ignoring_args()
    {
        let (workload, container) = (&old.workload, &old.container);
        findings.push(
            map.warning(
                "spec.migration",
                format!(
                    "the old Redis's container `{container}` of {} `{}` starts it through \
                     `{shell} -c`, whose script ignores the arguments phase 2 appends: the \
                     fence never reaches redis-server, so from the cutover until phase 3 a \
                     restart of it would accept writes again",
                    workload.kind, workload.name
                ),
            )
            .valid(
                "`command: [redis-server]` with the options as `args`, or a script that \
                 passes its arguments on (`exec redis-server … \"$@\"`)",
            ),
        );
    }
    let not_found = found.err();
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
