//! `spec.image`: a new image for every Redis and Sentinel pod.

use super::facts::Facts;
use super::{Change, Verdict, object};

pub(super) fn image_change(old: &Facts, new: &Facts, changes: &mut Vec<Change>) {
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
