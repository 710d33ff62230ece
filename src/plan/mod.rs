//! `plan OLD NEW`: what a profile change does to a running deployment, before anything is
//! applied (DESIGN §4.2, issue 10). Both sides are rendered streams (`facts`); each change
//! found between them gets a verdict (`kubectl apply` alone is safe, needs manual steps, or
//! is impossible in place), what the apply sets off, and the manual steps with this
//! deployment's names.
//!
//! One file per kind of change: `identity` (what cannot change in place), `image`,
//! `replicas` (Redis replicas), `sentinel` (Sentinel count and timings), `storage`, `auth`;
//! `kubectl` writes the manual steps' command lines, `objects` lists the objects that differ
//! and `rollout` what the apply sets off.

mod auth;
mod claims;
pub mod facts;
mod identity;
mod image;
mod kubectl;
mod objects;
mod replicas;
mod rollout;
mod sentinel;
mod storage;

use std::collections::BTreeSet;

use anyhow::Result;
use serde::Serialize;

use auth::auth_change;
use claims::claim_changes;
use facts::{Facts, Set};
use identity::identity_changes;
use image::image_change;
use kubectl::Kubectl;
use objects::object_changes;
use replicas::redis_replicas_change;
use rollout::rollout;
use sentinel::sentinel_change;
use storage::storage_change;

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

/// The NEW profile in printed commands, until [`Plan::naming_inputs`] names it.
pub const NEW_PROFILE: &str = "NEW-PROFILE";
/// The printed command that deletes the old deployment's objects, until
/// [`Plan::naming_inputs`] gives the one for what OLD was read from.
pub const DELETE_OLD_OBJECTS: &str = "kubectl delete -f OLD-DIR/redis-sentinel.yaml";

impl Plan {
    /// The plan with its printed commands naming the inputs as the caller has them: the NEW
    /// profile (a shell word) and the command that deletes OLD's objects.
    pub fn naming_inputs(mut self, new_profile: &str, delete_old: &str) -> Self {
        for change in &mut self.changes {
            for step in change
                .before_apply
                .iter_mut()
                .chain(&mut change.after_apply)
            {
                for command in &mut step.commands {
                    if command == DELETE_OLD_OBJECTS {
                        *command = delete_old.to_string();
                    } else if command.contains(NEW_PROFILE) {
                        *command = command.replace(NEW_PROFILE, new_profile);
                    }
                }
            }
        }
        self
    }

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
        claim_changes(&old, &new, &k, &mut changes);
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

fn pods(set: &Set, range: std::ops::Range<i32>) -> Vec<String> {
    range.map(|i| format!("{}-{i}", set.name)).collect()
}

fn object(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}
