//! More or fewer Sentinels, and their timings (down-after, failover timeout, parallel syncs).

use super::facts::Facts;
use super::kubectl::Kubectl;
use super::{Change, Step, Verdict, object, pods};

pub(super) fn sentinel_change(old: &Facts, new: &Facts, k: &Kubectl, changes: &mut Vec<Change>) {
    let (from, to) = (old.sentinel.replicas, new.sentinel.replicas);
    let sentinel_cm = new
        .objects
        .keys()
        .filter(|(kind, _)| kind == "ConfigMap")
        .find(|(_, name)| name.starts_with(&new.sentinel.name))
        .map(|(kind, name)| object(kind, name));
    let mut objects: Vec<String> = sentinel_cm.into_iter().collect();
    objects.push(object("StatefulSet", &new.sentinel.name));
    if from != to {
        let mut change = Change {
            field: "spec.sentinel.replicas".into(),
            from: format!("{from} (quorum {})", old.quorum),
            to: format!("{to} (quorum {})", new.quorum),
            verdict: Verdict::Apply,
            objects: objects.clone(),
            notes: vec![
                "the Sentinels restart with the new sentinel.conf and each adopts the new \
                 quorum and timings at start, keeping the master, epochs and peers it knows"
                    .into(),
            ],
            before_apply: Vec::new(),
            after_apply: Vec::new(),
        };
        if to > from {
            change.notes.push(format!(
                "starts {}; they find the master through the other Sentinels",
                pods(&new.sentinel, from..to).join(", ")
            ));
        } else {
            let removed = pods(&old.sentinel, to..from);
            change.verdict = Verdict::Manual;
            change.notes.push(format!(
                "stops {}; the remaining Sentinels still count them as voters until reset",
                removed.join(", ")
            ));
            change.after_apply.push(Step {
                why: "reset the remaining Sentinels one at a time, each until it knows the \
                      others and the replicas again"
                    .into(),
                commands: k.reset_sentinels(to, new.replica.replicas),
            });
            if let Some(claim) = &old.sentinel.claim {
                change.after_apply.push(Step {
                    why: "the removed Sentinels' state volumes (a later scale-up would \
                          otherwise bring back their stale state)"
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
    let timings = [
        ("downAfterMilliseconds", &old.down_after, &new.down_after),
        (
            "failoverTimeout",
            &old.failover_timeout,
            &new.failover_timeout,
        ),
        ("parallelSyncs", &old.parallel_syncs, &new.parallel_syncs),
    ];
    let changed: Vec<_> = timings.iter().filter(|(_, o, n)| o != n).collect();
    let redis_rolls =
        old.master.template != new.master.template || old.replica.template != new.replica.template;
    if !changed.is_empty() {
        let list = |pick: fn(&(&str, &String, &String)) -> String| {
            changed
                .iter()
                .map(|t| pick(t))
                .collect::<Vec<_>>()
                .join(", ")
        };
        changes.push(Change {
            field: changed
                .iter()
                .map(|(f, _, _)| format!("spec.sentinel.{f}"))
                .collect::<Vec<_>>()
                .join(", "),
            from: list(|(f, o, _)| format!("{f} {o}")),
            to: list(|(f, _, n)| format!("{f} {n}")),
            verdict: Verdict::Apply,
            objects,
            notes: vec![if redis_rolls {
                "the Sentinels restart one at a time and each adopts the new values at start, \
                 keeping what it learned; the Redis pods' timing-dependent settings roll \
                 with their own ConfigMap"
                    .into()
            } else {
                "the Sentinels restart one at a time and each adopts the new values at start, \
                 keeping what it learned; no Redis pod restarts (only the Sentinels read these \
                 values)"
                    .into()
            }],
            before_apply: Vec::new(),
            after_apply: vec![Step {
                why: "check: every Sentinel reports the new values".into(),
                commands: (0..to)
                    .map(|i| {
                        k.sentinel_cli(
                            &format!("{}-{i}", new.sentinel.name),
                            &format!("SENTINEL MASTER {}", k.master_name),
                        )
                    })
                    .collect(),
            }],
        });
    }
}
