//! What a rendered `redis-sentinel.yaml` says about its deployment: every object by kind and
//! name, and the facts a plan compares (names, image, counts, Sentinel settings, volumes,
//! auth). Read from the stream itself, so a committed tree (`plan --from DIR`) and a
//! profile rendered now are compared the same way.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Container};
use serde_json::Value;

use crate::render::layout;

/// (kind, name) → the object as JSON.
pub type Objects = BTreeMap<(String, String), Value>;

/// A StatefulSet as the plan sees it.
#[derive(Debug, Clone)]
pub struct Set {
    pub name: String,
    pub replicas: i32,
    /// The main container's name and image.
    pub container: String,
    pub image: String,
    /// `volumeClaimTemplates[0]`: claim name, requested size, storage class.
    pub claim: Option<Claim>,
    /// `updateStrategy.type` (`RollingUpdate` when absent, as Kubernetes defaults it).
    pub update_strategy: String,
    /// The pod template, to tell whether the pods roll.
    pub template: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub name: String,
    pub size: String,
    pub storage_class: Option<String>,
}

/// The facts of one rendered deployment.
#[derive(Debug, Clone)]
pub struct Facts {
    pub objects: Objects,
    pub namespace: String,
    /// `spec.namePrefix`: what precedes `redis-master` in the master StatefulSet's name.
    pub prefix: String,
    pub master: Set,
    pub replica: Set,
    pub sentinel: Set,
    /// From the rendered `sentinel.conf`.
    pub master_name: String,
    pub quorum: String,
    pub down_after: String,
    pub failover_timeout: String,
    pub parallel_syncs: String,
    /// (Secret, key) of `REDIS_PASSWORD`; `None` with auth off.
    pub auth: Option<(String, String)>,
}

impl Facts {
    /// The facts of a rendered stream.
    pub fn of(stream: &str) -> Result<Facts> {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(stream).context("not a YAML stream of objects")?;
        let mut objects = Objects::new();
        for doc in docs {
            let kind = doc["kind"].as_str().unwrap_or_default().to_string();
            let name = doc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if kind.is_empty() || name.is_empty() {
                bail!("an object without kind or metadata.name");
            }
            objects.insert((kind, name), doc);
        }
        let sets: Vec<StatefulSet> = objects
            .iter()
            .filter(|((kind, _), _)| kind == "StatefulSet")
            .map(|(_, v)| serde_json::from_value(v.clone()).context("a StatefulSet"))
            .collect::<Result<_>>()?;
        let find = |suffix: &str| -> Result<Set> {
            let sts = sets
                .iter()
                .find(|s| {
                    s.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.ends_with(suffix))
                })
                .with_context(|| format!("no StatefulSet named *{suffix}"))?;
            set(sts)
        };
        let master = find("redis-master")?;
        let replica = find("redis-replica")?;
        let sentinel = find("redis-sentinel")?;
        let prefix = master
            .name
            .strip_suffix("redis-master")
            .unwrap_or_default()
            .to_string();
        let namespace = objects
            .values()
            .find_map(|v| v["metadata"]["namespace"].as_str())
            .unwrap_or("default")
            .to_string();
        let conf = objects
            .iter()
            .filter(|((kind, _), _)| kind == "ConfigMap")
            .find_map(|(_, v)| {
                let cm: ConfigMap = serde_json::from_value(v.clone()).ok()?;
                cm.data?.get(layout::SENTINEL_CONF).cloned()
            })
            .context("no ConfigMap holds sentinel.conf")?;
        let words: Vec<Vec<&str>> = conf
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        let setting = |key: &str| -> Result<(String, String)> {
            words
                .iter()
                .find(|w| w.len() >= 4 && w[0] == "sentinel" && w[1] == key)
                .map(|w| (w[2].to_string(), w[w.len() - 1].to_string()))
                .with_context(|| format!("sentinel.conf has no `sentinel {key}` line"))
        };
        let (master_name, quorum) = setting("monitor")?;
        let auth = main_container(&sets, &master.name)?
            .env
            .iter()
            .flatten()
            .find(|e| e.name == layout::ENV_PASSWORD)
            .and_then(|e| e.value_from.as_ref()?.secret_key_ref.as_ref())
            .map(|r| (r.name.clone(), r.key.clone()));
        Ok(Facts {
            namespace,
            prefix,
            master,
            replica,
            sentinel,
            master_name,
            quorum,
            down_after: setting("down-after-milliseconds")?.1,
            failover_timeout: setting("failover-timeout")?.1,
            parallel_syncs: setting("parallel-syncs")?.1,
            auth,
            objects,
        })
    }
}

fn main_container<'a>(sets: &'a [StatefulSet], name: &str) -> Result<&'a Container> {
    sets.iter()
        .find(|s| s.metadata.name.as_deref() == Some(name))
        .and_then(|s| s.spec.as_ref()?.template.spec.as_ref()?.containers.first())
        .with_context(|| format!("StatefulSet {name} has no container"))
}

fn set(sts: &StatefulSet) -> Result<Set> {
    let name = sts.metadata.name.clone().unwrap_or_default();
    let spec = sts
        .spec
        .as_ref()
        .with_context(|| format!("StatefulSet {name} has no spec"))?;
    let container = spec
        .template
        .spec
        .as_ref()
        .and_then(|p| p.containers.first())
        .with_context(|| format!("StatefulSet {name} has no container"))?;
    let claim = spec
        .volume_claim_templates
        .iter()
        .flatten()
        .next()
        .map(|c| {
            let size = c
                .spec
                .as_ref()
                .and_then(|s| s.resources.as_ref()?.requests.as_ref()?.get("storage"))
                .map(|q| q.0.clone())
                .unwrap_or_default();
            Claim {
                name: c.metadata.name.clone().unwrap_or_default(),
                size,
                storage_class: c.spec.as_ref().and_then(|s| s.storage_class_name.clone()),
            }
        });
    Ok(Set {
        replicas: spec.replicas.unwrap_or(1),
        container: container.name.clone(),
        image: container.image.clone().unwrap_or_default(),
        claim,
        update_strategy: spec
            .update_strategy
            .as_ref()
            .and_then(|u| u.type_.clone())
            .unwrap_or_else(|| "RollingUpdate".into()),
        template: serde_json::to_value(&spec.template)?,
        name,
    })
}
