//! `plan OLD NEW`: what a profile change does to a running deployment, before anything is
//! applied (DESIGN §4.2, issue 10). Both sides are rendered streams (`facts`); each change
//! found between them gets a verdict (`kubectl apply` alone is safe, needs manual steps, or
//! is impossible in place), what the apply sets off, and the manual steps with this
//! deployment's names.

pub mod facts;

use std::collections::BTreeSet;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use crate::render::layout;
use crate::resolve::SENTINEL_PORT;
use facts::{Facts, Set};

/// `plan` exit code when manual steps are needed (or the change is impossible in place).
pub const EXIT_MANUAL: i32 = 3;

/// Whether `kubectl apply` of the new stream is enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Apply alone is safe.
    Apply,
    /// Apply, with manual steps before and/or after it.
    Manual,
    /// Not possible in place: a new deployment and the migration path.
    NewDeployment,
}

/// Commands for one purpose.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub why: String,
    pub commands: Vec<String>,
}

/// One change between OLD and NEW.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The profile field(s), e.g. `spec.redis.replicas`.
    pub field: String,
    pub from: String,
    pub to: String,
    pub verdict: Verdict,
    /// Objects whose rendered form this change alters (`Kind/name`).
    pub objects: Vec<String>,
    /// What happens, in words.
    pub notes: Vec<String>,
    pub before_apply: Vec<Step>,
    pub after_apply: Vec<Step>,
}

/// One object that differs between the streams.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectChange {
    pub object: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// Changed fields (`spec.template`, `data.sentinel.conf`), for `changed`.
    pub fields: Vec<String>,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub namespace: String,
    pub changes: Vec<Change>,
    pub objects: Vec<ObjectChange>,
    /// What the apply sets off: pods restarted, started and stopped, in order.
    pub apply_sets_off: Vec<String>,
    /// The worst verdict; `apply` when nothing changes.
    pub verdict: Verdict,
}

impl Plan {
    pub fn exit_code(&self) -> i32 {
        match self.verdict {
            Verdict::Apply => 0,
            _ => EXIT_MANUAL,
        }
    }
}

/// The plan from `old` to `new` (both rendered `redis-sentinel.yaml` streams).
pub fn plan(old: &str, new: &str) -> Result<Plan> {
    let old = Facts::of(old)?;
    let new = Facts::of(new)?;
    let k = Kubectl::of(&old);
    let mut changes = Vec::new();
    identity_changes(&old, &new, &k, &mut changes);
    if changes.is_empty() {
        // In place: the rest can be planned on the same objects.
        image_change(&old, &new, &mut changes);
        redis_replicas_change(&old, &new, &k, &mut changes);
        sentinel_change(&old, &new, &k, &mut changes);
        for (old_set, new_set) in [
            (&old.master, &new.master),
            (&old.replica, &new.replica),
            (&old.sentinel, &new.sentinel),
        ] {
            storage_change(old_set, new_set, &k, &mut changes);
        }
        auth_change(&old, &new, &k, &mut changes);
    }
    let objects = object_changes(&old, &new);
    let explained: BTreeSet<&String> = changes.iter().flat_map(|c| &c.objects).collect();
    let unexplained: Vec<String> = objects
        .iter()
        .filter(|o| !explained.contains(&o.object))
        .map(|o| o.object.clone())
        .collect();
    if !unexplained.is_empty() && changes.iter().all(|c| c.verdict != Verdict::NewDeployment) {
        changes.push(Change {
            field: "other rendered objects".into(),
            from: String::new(),
            to: String::new(),
            verdict: Verdict::Apply,
            objects: unexplained,
            notes: vec![
                "the config files and checksums that follow from the changes above, or \
                 resources, persistence, monitoring, policies and the like: apply; pods whose \
                 template changed restart as listed below"
                    .into(),
            ],
            before_apply: Vec::new(),
            after_apply: Vec::new(),
        });
    }
    let apply_sets_off = if changes.iter().any(|c| c.verdict == Verdict::NewDeployment) {
        vec!["nothing: this change is not applied to the running deployment".into()]
    } else {
        rollout(&old, &new)
    };
    let verdict = changes
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Apply);
    Ok(Plan {
        namespace: new.namespace.clone(),
        changes,
        objects,
        apply_sets_off,
        verdict,
    })
}

/// Command lines against the running (old) deployment.
struct Kubectl {
    ns: String,
    master_name: String,
    sentinel_container: String,
    sentinel_set: String,
}

impl Kubectl {
    fn of(f: &Facts) -> Self {
        Kubectl {
            ns: f.namespace.clone(),
            master_name: f.master_name.clone(),
            sentinel_container: f.sentinel.container.clone(),
            sentinel_set: f.sentinel.name.clone(),
        }
    }

    /// `redis-cli` on Sentinel pod `pod` (the container's `REDISCLI_AUTH` authenticates).
    fn sentinel_cli(&self, pod: &str, args: &str) -> String {
        format!(
            "kubectl -n {} exec {pod} -c {} -- redis-cli -p {SENTINEL_PORT} {args}",
            self.ns, self.sentinel_container
        )
    }

    /// Wait until Sentinel `pod` reports `field` = `value` in `SENTINEL MASTER`.
    fn wait_sentinel_field(&self, pod: &str, field: &str, value: i32) -> String {
        format!(
            "until [ \"$({} | sed -n '/^{field}$/{{n;p;}}')\" = {value} ]; do sleep 2; done",
            self.sentinel_cli(pod, &format!("SENTINEL MASTER {}", self.master_name))
        )
    }

    /// `SENTINEL RESET` on each of `sentinels` Sentinel pods in turn, each time waiting until
    /// it knows the other Sentinels and `replicas` replicas again: resetting them all at once
    /// would leave no Sentinel able to authorise a failover meanwhile.
    fn reset_sentinels(&self, sentinels: i32, replicas: i32) -> Vec<String> {
        let mut commands = Vec::new();
        for i in 0..sentinels {
            let pod = format!("{}-{i}", self.sentinel_set);
            commands.push(self.sentinel_cli(&pod, &format!("SENTINEL RESET {}", self.master_name)));
            commands.push(self.wait_sentinel_field(&pod, "num-other-sentinels", sentinels - 1));
            commands.push(self.wait_sentinel_field(&pod, "num-slaves", replicas));
        }
        commands
    }

    fn current_master(&self) -> String {
        self.sentinel_cli(
            &format!("{}-0", self.sentinel_set),
            &format!("SENTINEL get-master-addr-by-name {}", self.master_name),
        )
    }
}

fn pods(set: &Set, range: std::ops::Range<i32>) -> Vec<String> {
    range.map(|i| format!("{}-{i}", set.name)).collect()
}

fn object(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

/// Names, namespace, master name and storage class are baked into other objects (pod DNS
/// names in every config file, `volumeClaimTemplates` that cannot change): not in place.
fn identity_changes(old: &Facts, new: &Facts, k: &Kubectl, changes: &mut Vec<Change>) {
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
                          replication, cut the clients over, remove the old one)"
                        .into(),
                    commands: vec![
                        "redis-sentinel-gen render NEW-PROFILE --out NEW-DIR".into(),
                        "less NEW-DIR/migration/README.md".into(),
                    ],
                },
                Step {
                    why: "once the clients run on the new deployment: remove the old one \
                          and, when its data is no longer needed, its volumes"
                        .into(),
                    commands: vec![
                        "kubectl delete -f OLD-DIR/redis-sentinel.yaml".into(),
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

/// Every volume claim of the old deployment's pods, by name.
fn old_claims(f: &Facts) -> Vec<String> {
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

fn image_change(old: &Facts, new: &Facts, changes: &mut Vec<Change>) {
    if old.master.image == new.master.image {
        return;
    }
    let objects = [
        (&old.master, &new.master),
        (&old.replica, &new.replica),
        (&old.sentinel, &new.sentinel),
    ]
    .iter()
    .filter(|(o, n)| o.image != n.image)
    .map(|(_, n)| object("StatefulSet", &n.name))
    .collect();
    changes.push(Change {
        field: "spec.image".into(),
        from: old.master.image.clone(),
        to: new.master.image.clone(),
        verdict: Verdict::Apply,
        objects,
        notes: vec![
            "every pod restarts on the new image (see below); a restarted Redis pod does a \
             full resync (AOF on), the master hands over in its preStop hook"
                .into(),
        ],
        before_apply: Vec::new(),
        after_apply: Vec::new(),
    });
}

fn redis_replicas_change(old: &Facts, new: &Facts, k: &Kubectl, changes: &mut Vec<Change>) {
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

fn sentinel_change(old: &Facts, new: &Facts, k: &Kubectl, changes: &mut Vec<Change>) {
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

fn storage_change(old: &Set, new: &Set, k: &Kubectl, changes: &mut Vec<Change>) {
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
    let grows = match (
        crate::quantity::Quantity::parse(&from.size),
        crate::quantity::Quantity::parse(&to.size),
    ) {
        (Ok(a), Ok(b)) => b > a,
        _ => false,
    };
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
        Step {
            why: "the storage class must allow volume expansion (prints true)".into(),
            commands: vec![format!(
                "kubectl get storageclass \"$(kubectl -n {} get pvc {} -o jsonpath='{{.spec.storageClassName}}')\" -o jsonpath='{{.allowVolumeExpansion}}'",
                k.ns,
                claims.first().map_or("", String::as_str)
            )],
        },
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
    change.after_apply.push(Step {
        why: "check: each claim reports the new capacity".into(),
        commands: claims
            .iter()
            .map(|c| {
                format!(
                    "kubectl -n {} get pvc {c} -o jsonpath='{{.status.capacity.storage}}'",
                    k.ns
                )
            })
            .collect(),
    });
    changes.push(change);
}

fn auth_change(old: &Facts, new: &Facts, k: &Kubectl, changes: &mut Vec<Change>) {
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

/// Objects added, removed or changed, with the fields that changed.
fn object_changes(old: &Facts, new: &Facts) -> Vec<ObjectChange> {
    let mut out = Vec::new();
    for ((kind, name), value) in &new.objects {
        let id = object(kind, name);
        match old.objects.get(&(kind.clone(), name.clone())) {
            None => out.push(ObjectChange {
                object: id,
                change: "added",
                fields: Vec::new(),
            }),
            Some(before) if before != value => {
                let mut fields = Vec::new();
                diff_fields("", before, value, 0, &mut fields);
                out.push(ObjectChange {
                    object: id,
                    change: "changed",
                    fields,
                });
            }
            Some(_) => {}
        }
    }
    for (kind, name) in old.objects.keys() {
        if !new.objects.contains_key(&(kind.clone(), name.clone())) {
            out.push(ObjectChange {
                object: object(kind, name),
                change: "removed",
                fields: Vec::new(),
            });
        }
    }
    out
}

/// Paths (at most three levels deep, `spec.template.metadata`) where `a` and `b` differ.
fn diff_fields(path: &str, a: &Value, b: &Value, depth: usize, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if depth < 3 => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff_fields(
                    &sub,
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                    depth + 1,
                    out,
                );
            }
        }
        _ => out.push(path.to_string()),
    }
}

/// What `kubectl apply` sets off, StatefulSet by StatefulSet, in the order the controllers
/// act.
fn rollout(old: &Facts, new: &Facts) -> Vec<String> {
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
