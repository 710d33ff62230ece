//! The password Secret: turned on, off, or moved to another Secret or key.

use super::facts::Facts;
use super::kubectl::Kubectl;
use super::{Change, Step, Verdict, object, pods};
use crate::render::layout;

pub(super) fn auth_change(old: &Facts, new: &Facts, k: &Kubectl, changes: &mut Vec<Change>) {
    if old.auth == new.auth {
        return;
    }
    let show = |a: &Option<(String, String)>| match a {
        Some((s, key)) => format!("Secret {s}, key {key}"),
        None => "off".into(),
    };
    let redis_pods: Vec<String> = pods(&old.master, 0..old.master.replicas)
        .into_iter()
        .chain(pods(&old.replica, 0..old.replica.replicas))
        .collect();
    let sentinel_pods = pods(&old.sentinel, 0..old.sentinel.replicas);
    let mut change = Change {
        field: "spec.auth".into(),
        from: show(&old.auth),
        to: show(&new.auth),
        verdict: Verdict::Manual,
        objects: vec![
            object("StatefulSet", &new.master.name),
            object("StatefulSet", &new.replica.name),
            object("StatefulSet", &new.sentinel.name),
        ],
        notes: vec![
            "apply alone rolls pods with the new password setting while the others still use \
             the old one: Sentinels whose PINGs fail with NOAUTH count the master as down and \
             may fail over, replicas cannot authenticate to the master"
                .into(),
        ],
        before_apply: Vec::new(),
        after_apply: Vec::new(),
    };
    let ns = &k.ns;
    match (&old.auth, &new.auth) {
        (Some((old_secret, old_key)), Some((secret, key))) => {
            change.notes.push(
                "a new Secret or key is a password rotation: both passwords are valid while \
                 clients, replication and Sentinels move over, and the old one is removed last \
                 (ACL dual passwords; no failover). Restarted pods take the new password from \
                 the Secret, Sentinels reconcile their auth-pass with it at start"
                    .into(),
            );
            let read = |s: &str, key: &str| {
                format!(
                    "kubectl -n {ns} get secret {s} -o jsonpath='{{.data.{}}}' | base64 -d",
                    key.replace('.', "\\.")
                )
            };
            change.before_apply.push(Step {
                why: format!("the new password in Secret {secret}, key {key}"),
                commands: vec![
                    format!(
                        "kubectl -n {ns} create secret generic {secret} --from-literal={key}=\"$(openssl rand -base64 32)\"  # or add the key to the existing Secret"
                    ),
                    format!("NEW=$({})", read(secret, key)),
                    format!("OLD=$({})", read(old_secret, old_key)),
                ],
            });
            let rotate = |what: &str, stdin: Option<&str>| {
                let feed = stdin.map_or(String::new(), |v| format!("printf '%s' \"${v}\" | "));
                let i = if stdin.is_some() { " -i" } else { "" };
                [
                    (&redis_pods, &old.master.container),
                    (&sentinel_pods, &old.sentinel.container),
                ]
                .iter()
                // One line per pod, not a loop: a loop's exit status is its last pod's, so a
                // step that failed on an earlier pod would pass unseen.
                .flat_map(|(pods, container)| {
                    let feed = feed.clone();
                    pods.iter().map(move |pod| {
                        format!(
                            "{feed}kubectl -n {ns} exec{i} {pod} -c {container} -- sh {}/{} {what}",
                            layout::CONFIG_DIR,
                            layout::ROTATE_PASSWORD
                        )
                    })
                })
                .collect::<Vec<_>>()
            };
            change.before_apply.push(Step {
                why: "every pod accepts the new password beside the old one; then \
                      replication and the Sentinels use the new one"
                    .into(),
                commands: rotate("add", Some("NEW"))
                    .into_iter()
                    .chain(rotate("switch", None))
                    .collect(),
            });
            change.before_apply.push(Step {
                why: "move the clients: apply the rendered clients/ Component (it names the new \
                      Secret); they restart with the new password, which every pod accepts"
                    .into(),
                commands: vec![
                    "kubectl apply -k DIR/clients  # or your overlay that includes it".into(),
                ],
            });
            change.after_apply.push(Step {
                why: "once every pod has rolled (kubectl rollout status): the old password is \
                      refused everywhere"
                    .into(),
                commands: rotate("remove", Some("OLD")),
            });
        }
        (None, Some((secret, key))) => {
            change.before_apply.push(Step {
                why: format!("the password in Secret {secret}, key {key}"),
                commands: vec![format!(
                    "kubectl -n {ns} create secret generic {secret} --from-literal={key}=NEW-PASSWORD"
                )],
            });
            change.notes.push(
                "there is no way to turn auth on without a window: a Redis without a password \
                 answers AUTH with an error, one with a password answers NOAUTH to clients \
                 without it. Apply the deployment and the clients' Component (which adds \
                 REDIS_PASSWORD) together, in a quiet hour; replicas and Sentinels catch up \
                 as they restart"
                    .into(),
            );
        }
        (Some(_), None) => {
            change.notes.push(
                "turning auth off: a Redis without a password answers AUTH with an error, so \
                 clients that still send one fail until the clients' Component (which drops \
                 REDIS_PASSWORD) is applied; apply both together, in a quiet hour"
                    .into(),
            );
        }
        (None, None) => {}
    }
    changes.push(change);
}
