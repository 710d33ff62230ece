//! A new volume claim size for a StatefulSet.

use super::facts::Set;
use super::kubectl::Kubectl;
use super::{Change, Step, Verdict, object, pods};

pub(super) fn storage_change(old: &Set, new: &Set, k: &Kubectl, changes: &mut Vec<Change>) {
    let (Some(from), Some(to)) = (&old.claim, &new.claim) else {
        return;
    };
    if from.size == to.size {
        return;
    }
    let field = if new.name.ends_with("redis-sentinel") {
        "spec.sentinel.storage.size"
    } else {
        "spec.redis.storage.size"
    };
    let grows = grows(&from.size, &to.size);
    let mut change = Change {
        field: format!("{field} ({})", new.name),
        from: from.size.clone(),
        to: to.size.clone(),
        verdict: Verdict::Manual,
        objects: vec![object("StatefulSet", &new.name)],
        notes: vec![
            "volumeClaimTemplates cannot change: kubectl apply refuses the StatefulSet".into(),
        ],
        before_apply: Vec::new(),
        after_apply: Vec::new(),
    };
    if !grows {
        change.verdict = Verdict::NewDeployment;
        change.notes.push(
            "a PersistentVolumeClaim cannot shrink: a smaller volume means a new deployment \
             and the migration path"
                .into(),
        );
        changes.push(change);
        return;
    }
    let claims: Vec<String> = pods(old, 0..old.replicas)
        .iter()
        .map(|p| format!("{}-{p}", from.name))
        .collect();
    change.before_apply = vec![
        expansion_allowed(k, claims.first().map_or("", String::as_str)),
        Step {
            why: format!(
                "delete the StatefulSet object only; its pods keep running (--cascade=orphan), \
                 then grow each claim to {}",
                to.size
            ),
            commands: std::iter::once(format!(
                "kubectl -n {} delete statefulset {} --cascade=orphan",
                k.ns, old.name
            ))
            .chain(claims.iter().map(|c| {
                format!(
                    "kubectl -n {} patch pvc {c} -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{}\"}}}}}}}}'",
                    k.ns, to.size
                )
            }))
            .collect(),
        },
    ];
    change.notes.push(
        "the apply recreates the StatefulSet with the new template, which adopts the running \
         pods; most storage drivers grow a mounted volume online"
            .into(),
    );
    change.after_apply.push(capacity(
        k,
        "check: each claim reports the new capacity",
        &claims,
    ));
    changes.push(change);
}

/// Whether the quantity `to` is larger than `from` (false when either does not parse).
pub(super) fn grows(from: &str, to: &str) -> bool {
    match (
        crate::quantity::Quantity::parse(from),
        crate::quantity::Quantity::parse(to),
    ) {
        (Ok(a), Ok(b)) => b > a,
        _ => false,
    }
}

/// The check that the storage class of the claim `claim` allows volume expansion.
pub(super) fn expansion_allowed(k: &Kubectl, claim: &str) -> Step {
    Step {
        why: "the storage class must allow volume expansion (prints true)".into(),
        commands: vec![format!(
            "kubectl get storageclass \"$(kubectl -n {} get pvc {claim} -o jsonpath='{{.spec.storageClassName}}')\" -o jsonpath='{{.allowVolumeExpansion}}'",
            k.ns
        )],
    }
}

/// The check that each of `claims` reports its new capacity.
pub(super) fn capacity(k: &Kubectl, why: &str, claims: &[String]) -> Step {
    Step {
        why: why.into(),
        commands: claims
            .iter()
            .map(|c| {
                format!(
                    "kubectl -n {} get pvc {c} -o jsonpath='{{.status.capacity.storage}}'",
                    k.ns
                )
            })
            .collect(),
    }
}
