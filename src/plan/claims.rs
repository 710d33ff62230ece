//! The deployment's own PersistentVolumeClaims (the backup volume), which are objects of
//! `redis-sentinel.yaml` rather than templates of a StatefulSet: `kubectl apply` grows one
//! where its storage class allows expansion, and the API server refuses to shrink one or to
//! change its class.

use serde_json::Value;

use super::facts::Facts;
use super::kubectl::Kubectl;
use super::storage::{capacity, expansion_allowed, grows};
use super::{Change, Step, Verdict, object};

const CLAIM: &str = "PersistentVolumeClaim";

/// The names of the claims that are objects of the stream (not StatefulSet templates).
pub(super) fn standalone_claims(facts: &Facts) -> Vec<&str> {
    facts
        .objects
        .keys()
        .filter(|(kind, _)| kind == CLAIM)
        .map(|(_, name)| name.as_str())
        .collect()
}

/// `kubectl patch` of the CronJob `job`'s `suspend`.
fn suspend(k: &Kubectl, job: &str, on: bool) -> String {
    format!(
        "kubectl -n {} patch cronjob {job} -p '{{\"spec\":{{\"suspend\":{on}}}}}'",
        k.ns
    )
}

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
    for name in standalone_claims(new) {
        let key = (CLAIM.to_string(), name.to_string());
        let (Some(before), Some(after)) = (old.objects.get(&key), new.objects.get(&key)) else {
            continue;
        };
        let (from, to) = ((size(before), class(before)), (size(after), class(after)));
        if from == to {
            continue;
        }
        let mut change = Change {
            field: format!("spec.backup.storage ({CLAIM} {name})"),
            from: format!("{}, class {}", from.0, from.1),
            to: format!("{}, class {}", to.0, to.1),
            verdict: Verdict::Manual,
            objects: vec![object(CLAIM, name)],
            notes: Vec::new(),
            before_apply: Vec::new(),
            after_apply: Vec::new(),
        };
        let capacity = capacity(
            k,
            "check: the claim reports the new capacity",
            &[name.to_string()],
        );
        if from.1 == to.1 && grows(&from.0, &to.0) {
            change.notes.push(
                "kubectl apply grows the claim where its storage class allows volume \
                 expansion; otherwise the API server refuses the apply"
                    .into(),
            );
            change.before_apply.push(expansion_allowed(k, name));
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
            delete.push(suspend(k, job, true));
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
                commands: vec![suspend(k, job, false)],
            });
        }
        change.after_apply.push(capacity);
        changes.push(change);
    }
}
