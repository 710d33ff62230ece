//! Names, namespace, master name and storage class: what cannot change in place.

use super::facts::{Facts, Set};
use super::kubectl::Kubectl;
use super::{Change, DELETE_OLD_OBJECTS, NEW_PROFILE, Step, Verdict, pods};

/// Names, namespace, master name and storage class are baked into other objects (pod DNS
/// names in every config file, `volumeClaimTemplates` that cannot change): not in place.
pub(super) fn identity_changes(old: &Facts, new: &Facts, k: &Kubectl, changes: &mut Vec<Change>) {
    let class = |s: &Set| {
        s.claim
            .as_ref()
            .and_then(|c| c.storage_class.clone())
            .unwrap_or_else(|| "(cluster default)".into())
    };
    let mut found = Vec::new();
    for (field, from, to) in [
        (
            "metadata.namespace",
            old.namespace.clone(),
            new.namespace.clone(),
        ),
        ("spec.namePrefix", old.prefix.clone(), new.prefix.clone()),
        (
            "spec.masterName",
            old.master_name.clone(),
            new.master_name.clone(),
        ),
        (
            "spec.redis.storage.storageClassName",
            class(&old.master),
            class(&new.master),
        ),
        (
            "spec.sentinel.storage.storageClassName",
            class(&old.sentinel),
            class(&new.sentinel),
        ),
    ] {
        if from != to {
            found.push((field, from, to));
        }
    }
    for (field, from, to) in found {
        let collide = matches!(
            field,
            "spec.masterName"
                | "spec.redis.storage.storageClassName"
                | "spec.sentinel.storage.storageClassName"
        );
        let mut notes = vec![format!(
            "{field} is written into objects that cannot change in place (pod DNS names in \
             every config file and Sentinel's saved state, immutable volumeClaimTemplates): \
             the new profile is a new deployment, and the data moves over with the migration path"
        )];
        if collide {
            notes.push(
                "the new deployment needs names of its own beside the old one: give the new \
                 profile a different spec.namePrefix (or namespace) as well"
                    .into(),
            );
        }
        changes.push(Change {
            field: field.into(),
            from,
            to,
            verdict: Verdict::NewDeployment,
            objects: Vec::new(),
            notes,
            before_apply: vec![
                Step {
                    why: "find the current master of the old deployment: the new profile's \
                          spec.migration.from.host is its pod DNS name"
                        .into(),
                    commands: vec![k.current_master()],
                },
                Step {
                    why: "render the new deployment with its migration overlay and follow \
                          its phases (deploy beside the old one, copy the data by \
                          replication, cut the clients over, remove the old one); NEW-DIR \
                          is a directory of its own, not the old deployment's"
                        .into(),
                    commands: vec![
                        format!("redis-sentinel-gen render {NEW_PROFILE} --out NEW-DIR"),
                        "less NEW-DIR/migration/README.md".into(),
                    ],
                },
                Step {
                    why: remove_old_why(old),
                    commands: vec![
                        DELETE_OLD_OBJECTS.into(),
                        format!(
                            "kubectl -n {} delete pvc {}",
                            k.ns,
                            old_claims(old).join(" ")
                        ),
                    ],
                },
            ],
            after_apply: Vec::new(),
        });
    }
}

/// Why the old deployment's objects and volumes are deleted, and what goes with them: a
/// claim that is an object of `redis-sentinel.yaml` (the backup volume) is deleted by
/// `kubectl delete -f`, with the snapshots on it.
fn remove_old_why(old: &Facts) -> String {
    let mut why = "once the clients run on the new deployment: remove the old one and, when \
                   its data is no longer needed, its volumes"
        .to_string();
    let claims = super::claims::standalone_claims(old);
    if !claims.is_empty() {
        why.push_str(&format!(
            "; the first command also deletes the claim {} and the backup snapshots on it: \
             copy out the ones you keep first (docs/operations.md, Backups and restore)",
            claims.join(", ")
        ));
    }
    why
}

/// Every volume claim of the old deployment's pods, by name.
pub(super) fn old_claims(f: &Facts) -> Vec<String> {
    [&f.master, &f.replica, &f.sentinel]
        .iter()
        .filter_map(|set| {
            let claim = set.claim.as_ref()?;
            Some(
                pods(set, 0..set.replicas)
                    .into_iter()
                    .map(move |p| format!("{}-{p}", claim.name)),
            )
        })
        .flatten()
        .collect()
}
