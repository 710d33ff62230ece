//! The shipped profile over a base no one here wrote (`tests/fixtures/foreign-base/base`):
//! bots labelled `app: welcomebot` only, the password as a plain value (and, in the worker,
//! from a ConfigMap), `REDIS_ADDR` in one bot and `REDIS_URL` in the other, labels the
//! kustomization adds itself.
//!
//! Every migration phase and the `clients/` Component are built with the real
//! `kubectl kustomize`, and the built objects are judged the way a cluster would:
//! - the API server refuses an env entry with both `value` and `valueFrom` ("may not be
//!   specified when `value` is not empty"), and a `valueFrom` with more than one source;
//!   `kubernetes-validate` checks the schema only, so those rules are asserted here directly;
//! - a cluster enforcing NetworkPolicy lets a bot reach Redis and Sentinel only if the built
//!   policies admit the bot's built pod labels (`support::network_policy` evaluates them);
//! - `kubernetes-validate --strict` checks every built object against the OpenAPI schemas.
//!
//! Here: the fixture and the plumbing. How the built objects are judged is in `judge`; the
//! phases and the Component are built in `phases`, the KRM function runs in `krm`.

mod judge;
mod krm;
mod phases;

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub(super) const NAMESPACE: &str = "welcomebot";
/// (Deployment, the container the shipped profile names) of every bot.
pub(super) const BOTS: [(&str, &str); 2] = [
    ("welcomebot-master", "welcomebot-master"),
    ("welcomebot-worker", "welcomebot-worker"),
];
pub(super) const PHASES: [&str; 3] = ["1-deploy", "2-switch", "3-cleanup"];
/// Kinds no Kubernetes OpenAPI schema knows (Prometheus Operator CRDs).
pub(super) const CRD_KINDS: &[&str] = &["ServiceMonitor", "PrometheusRule"];

fn fixture_base() -> PathBuf {
    support::repo_root().join("tests/fixtures/foreign-base/base")
}

/// A scratch directory with a copy of the foreign base at `base/`, where the shipped
/// profile's default `spec.migration.base` (`../base`) finds it from `out/`.
pub(super) fn scratch(name: &str) -> PathBuf {
    support::scratch_with_base(&format!("foreign-{name}"), &fixture_base())
}

pub(super) fn kustomize(kubectl: &Path, dir: &Path) -> Vec<Value> {
    let output = support::run_ok(Command::new(kubectl).arg("kustomize").arg(dir));
    let text = String::from_utf8_lossy(&output.stdout);
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

pub(super) fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

pub(super) fn bot<'a>(objects: &'a [Value], name: &str, what: &str) -> &'a Value {
    find(objects, "Deployment", name).unwrap_or_else(|| panic!("{what}: no Deployment {name}"))
}

pub(super) fn container<'a>(workload: &'a Value, name: &str) -> &'a Value {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no container {name} in {workload}"))
}

pub(super) fn env_entry<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
}
