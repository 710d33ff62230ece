//! What `kubectl apply` sets off in the running deployment.

use super::facts::Facts;
use super::pods;

/// What `kubectl apply` sets off, StatefulSet by StatefulSet, in the order the controllers
/// act.
pub(super) fn rollout(old: &Facts, new: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    for (o, n) in [
        (&old.replica, &new.replica),
        (&old.master, &new.master),
        (&old.sentinel, &new.sentinel),
    ] {
        if n.replicas > o.replicas {
            out.push(format!(
                "StatefulSet {}: starts {}",
                n.name,
                pods(n, o.replicas..n.replicas).join(", ")
            ));
        }
        if n.replicas < o.replicas {
            let mut gone = pods(o, n.replicas..o.replicas);
            gone.reverse();
            out.push(format!("StatefulSet {}: stops {}", n.name, gone.join(", ")));
        }
        if o.template != n.template {
            let mut restart = pods(n, 0..o.replicas.min(n.replicas));
            restart.reverse();
            let how = if n.update_strategy == "OnDelete" {
                "updateStrategy OnDelete: nothing restarts until its pods are deleted; then"
            } else {
                "rolling update, one pod at a time, each once the previous is Ready:"
            };
            let master = if n.name == new.master.name {
                " (its preStop hook hands the master role over first)"
            } else {
                ""
            };
            out.push(format!(
                "StatefulSet {}: {how} restarts {}{master}",
                n.name,
                restart.join(", ")
            ));
        }
    }
    let rolling = [
        (&old.replica, &new.replica),
        (&old.master, &new.master),
        (&old.sentinel, &new.sentinel),
    ]
    .iter()
    .filter(|(o, n)| o.template != n.template && n.update_strategy != "OnDelete")
    .count();
    if rolling > 1 {
        out.push(
            "the StatefulSet controllers act independently: these rollouts run at the same \
             time, not one after the other"
                .into(),
        );
    }
    if out.is_empty() {
        out.push("no pod restarts".into());
    }
    out
}
