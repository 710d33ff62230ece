//! More or fewer Redis replicas.

use super::facts::Facts;
use super::kubectl::Kubectl;
use super::{Change, Step, Verdict, object, pods};

pub(super) fn redis_replicas_change(
    old: &Facts,
    new: &Facts,
    k: &Kubectl,
    changes: &mut Vec<Change>,
) {
    let (from, to) = (old.replica.replicas, new.replica.replicas);
    if from == to {
        return;
    }
    let mut change = Change {
        field: "spec.redis.replicas".into(),
        from: from.to_string(),
        to: to.to_string(),
        verdict: Verdict::Apply,
        objects: vec![object("StatefulSet", &new.replica.name)],
        notes: Vec::new(),
        before_apply: Vec::new(),
        after_apply: Vec::new(),
    };
    if to > from {
        change.notes.push(format!(
            "starts {}; each does a full sync from the master, and the Sentinels discover it \
             from the master's INFO",
            pods(&new.replica, from..to).join(", ")
        ));
    } else {
        let removed = pods(&old.replica, to..from);
        change.verdict = Verdict::Manual;
        change.notes.push(format!(
            "stops {} (highest ordinal first); the Sentinels keep them in their tables until \
             reset, and would count them as failover candidates",
            removed.join(", ")
        ));
        change.before_apply.push(Step {
            why: format!(
                "the current master must not be one of the pods removed ({}); if it is, hand \
                 over first with the runbook's manual failover",
                removed.join(", ")
            ),
            commands: vec![k.current_master()],
        });
        change.after_apply.push(Step {
            why: "reset the Sentinels one at a time, each until it knows the remaining \
                  replicas and Sentinels again"
                .into(),
            commands: k.reset_sentinels(new.sentinel.replicas, to),
        });
        if let Some(claim) = &old.replica.claim {
            change.after_apply.push(Step {
                why: "when their data is no longer needed: the removed pods' volumes (a later \
                      scale-up would otherwise start from that old data)"
                    .into(),
                commands: removed
                    .iter()
                    .map(|p| format!("kubectl -n {} delete pvc {}-{p}", k.ns, claim.name))
                    .collect(),
            });
        }
    }
    changes.push(change);
}
