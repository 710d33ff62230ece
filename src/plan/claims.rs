//! The deployment's own PersistentVolumeClaims (the backup volume), which are objects of
//! `redis-sentinel.yaml` rather than templates of a StatefulSet: `kubectl apply` grows one
//! where its storage class allows expansion, and the API server refuses to shrink one or to
//! change its class.

use serde_json::Value;

use super::facts::Facts;
use super::kubectl::Kubectl;
use super::{Change, Step, Verdict, object};

const CLAIM: &str = "PersistentVolumeClaim";

fn size(claim: &Value) -> String {
    claim["spec"]["resources"]["requests"]["storage"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn class(claim: &Value) -> String {
    claim["spec"]["storageClassName"]
        .as_str()
        .unwrap_or("(cluster default)")
        .to_string()
}

/// The CronJob whose pods mount the claim `name`, if any.
fn cron_job_of<'f>(facts: &'f Facts, name: &str) -> Option<&'f str> {
    facts.objects.iter().find_map(|((kind, job), value)| {
        let volumes =
            value["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"].as_array()?;
        let mounts = volumes
            .iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == name);
        (kind == "CronJob" && mounts).then_some(job.as_str())
    })
}

pub(super) fn claim_changes(old: &Facts, new: &Facts, k: &Kubectl, changes: &mut Vec<Change>) {
    for ((kind, name), after) in &new.objects {
        let Some(before) = old.objects.get(&(kind.clone(), name.clone())) else {
            continue;
        };
        if kind != CLAIM {
            continue;
        }
        let (from, to) = ((size(before), class(before)), (size(after), class(after)));
        if from == to {
            continue;
        }
        let grows = match (
            crate::quantity::Quantity::parse(&from.0),
            crate::quantity::Quantity::parse(&to.0),
        ) {
            (Ok(a), Ok(b)) => b > a,
            _ => false,
        };
        let mut change = Change {
            field: format!("spec.backup.storage ({kind} {name})"),
            from: format!("{}, class {}", from.0, from.1),
            to: format!("{}, class {}", to.0, to.1),
            verdict: Verdict::Manual,
            objects: vec![object(kind, name)],
            notes: Vec::new(),
            before_apply: Vec::new(),
            after_apply: Vec::new(),
        };
        let capacity = Step {
            why: "check: the claim reports the new capacity".into(),
            commands: vec![format!(
                "kubectl -n {} get pvc {name} -o jsonpath='{{.status.capacity.storage}}'",
                k.ns
            )],
        };
        if from.1 == to.1 && grows {
            change.notes.push(
                "kubectl apply grows the claim where its storage class allows volume \
                 expansion; otherwise the API server refuses the apply"
                    .into(),
            );
            change.before_apply.push(Step {
                why: "the storage class must allow volume expansion (prints true)".into(),
                commands: vec![format!(
                    "kubectl get storageclass \"$(kubectl -n {} get pvc {name} -o jsonpath='{{.spec.storageClassName}}')\" -o jsonpath='{{.allowVolumeExpansion}}'",
                    k.ns
                )],
            });
            change.after_apply.push(capacity);
            changes.push(change);
            continue;
        }
        change.notes.push(
            "a PersistentVolumeClaim cannot shrink or change its storage class: kubectl apply \
             is refused; the claim is deleted and created anew, empty, and the snapshots on it \
             go with it: copy out the ones you keep first (docs/operations.md, Backups and \
             restore); the Redis data is not touched"
                .into(),
        );
        let job = cron_job_of(new, name);
        let mut delete = Vec::new();
        if let Some(job) = job {
            delete.push(format!(
                "kubectl -n {} patch cronjob {job} -p '{{\"spec\":{{\"suspend\":true}}}}'",
                k.ns
            ));
        }
        delete.push(format!("kubectl -n {} delete pvc {name}", k.ns));
        change.before_apply.push(Step {
            why: "stop the backups that write to it, then delete the claim (it goes once no \
                  pod mounts it)"
                .into(),
            commands: delete,
        });
        if let Some(job) = job {
            change.after_apply.push(Step {
                why: "resume the backups on the new claim".into(),
                commands: vec![format!(
                    "kubectl -n {} patch cronjob {job} -p '{{\"spec\":{{\"suspend\":false}}}}'",
                    k.ns
                )],
            });
        }
        change.after_apply.push(capacity);
        changes.push(change);
    }
}
