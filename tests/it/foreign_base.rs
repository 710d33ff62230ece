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

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::Value;

use support::network_policy::{Cluster, Labels, Peer, labels};

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");
const NAMESPACE: &str = "welcomebot";
/// (Deployment, the container the shipped profile names) of every bot.
const BOTS: [(&str, &str); 2] = [
    ("welcomebot-master", "welcomebot-master"),
    ("welcomebot-worker", "welcomebot-worker"),
];
const PHASES: [&str; 3] = ["1-deploy", "2-switch", "3-cleanup"];
/// Kinds no Kubernetes OpenAPI schema knows (Prometheus Operator CRDs).
const CRD_KINDS: &[&str] = &["ServiceMonitor", "PrometheusRule"];

fn fixture_base() -> PathBuf {
    support::repo_root().join("tests/fixtures/foreign-base/base")
}

/// A scratch directory with a copy of the foreign base at `base/`, where the shipped
/// profile's default `spec.migration.base` (`../base`) finds it from `out/`.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsg-foreign-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("base")).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(fixture_base()).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = path.file_name().unwrap_or_default();
        std::fs::copy(&path, dir.join("base").join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

fn render_out(profile: &Path, out: &Path) -> Output {
    Command::new(BIN)
        .arg("render")
        .arg(profile)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"))
}

fn kustomize(kubectl: &Path, dir: &Path) -> Vec<Value> {
    let output = support::run_ok(Command::new(kubectl).arg("kustomize").arg(dir));
    let text = String::from_utf8_lossy(&output.stdout);
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

fn bot<'a>(objects: &'a [Value], name: &str, what: &str) -> &'a Value {
    find(objects, "Deployment", name).unwrap_or_else(|| panic!("{what}: no Deployment {name}"))
}

fn container<'a>(workload: &'a Value, name: &str) -> &'a Value {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no container {name} in {workload}"))
}

fn env_entry<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
}

/// Every env entry of every container (init containers too) of every pod template in
/// `objects` the API server would refuse: `value` beside `valueFrom`, or a `valueFrom` with
/// other than exactly one source. As "Kind/name/container/VAR: entry".
fn refused_env_entries(objects: &[Value]) -> Vec<String> {
    let mut refused = Vec::new();
    for object in objects {
        let pod = match object["kind"].as_str() {
            Some("CronJob") => &object["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            _ => &object["spec"]["template"]["spec"],
        };
        for list in ["initContainers", "containers"] {
            for c in pod[list].as_array().into_iter().flatten() {
                for var in c["env"].as_array().into_iter().flatten() {
                    let value_set = var["value"].as_str().is_some_and(|v| !v.is_empty());
                    let sources = var["valueFrom"].as_object().map(serde_json::Map::len);
                    if (value_set && sources.is_some()) || sources.is_some_and(|n| n != 1) {
                        refused.push(format!(
                            "{}/{}/{}/{}: {var}",
                            object["kind"].as_str().unwrap_or_default(),
                            object["metadata"]["name"].as_str().unwrap_or_default(),
                            c["name"].as_str().unwrap_or_default(),
                            var["name"].as_str().unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    refused
}

/// What is wrong with the switched env of the shipped profile in `container`: it needs the
/// three Sentinel variables, the password from the Secret and nothing else, no `REDIS_ADDR`.
fn switch_problems(what: &str, container: &Value) -> Vec<String> {
    let sentinels: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "redis-sentinel-{i}.redis-sentinel-headless.{NAMESPACE}.svc.cluster.local:26379"
            )
        })
        .collect();
    let expected = [
        (
            "REDIS_SENTINEL_ADDRS",
            Some(serde_json::json!({"name": "REDIS_SENTINEL_ADDRS", "value": sentinels.join(",")})),
        ),
        (
            "REDIS_MASTER_NAME",
            Some(serde_json::json!({"name": "REDIS_MASTER_NAME", "value": "welcomebot-master"})),
        ),
        (
            "REDIS_PASSWORD",
            Some(serde_json::json!({"name": "REDIS_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}}})),
        ),
        ("REDIS_ADDR", None),
    ];
    expected
        .into_iter()
        .filter(|(name, want)| env_entry(container, name) != want.as_ref())
        .map(|(name, want)| {
            format!(
                "{what}: {name} is {}, want {}",
                env_entry(container, name).map_or("absent".into(), Value::to_string),
                want.map_or("absent".into(), |w| w.to_string())
            )
        })
        .collect()
}

fn pod_labels(workload: &Value) -> Labels {
    serde_json::from_value(workload["spec"]["template"]["metadata"]["labels"].clone())
        .unwrap_or_else(|e| panic!("pod labels of {workload}: {e}"))
}

/// The policies in `objects` as a cluster in the profile's namespace.
fn cluster(objects: &[Value]) -> Cluster {
    let policies: Vec<NetworkPolicy> = objects
        .iter()
        .filter(|o| o["kind"] == "NetworkPolicy")
        .map(|o| serde_json::from_value(o.clone()).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert!(!policies.is_empty(), "the shipped profile renders policies");
    Cluster {
        policies,
        namespace: labels(&[("kubernetes.io/metadata.name", NAMESPACE)]),
    }
}

/// The pod labels of the Redis master and of the Sentinels in the rendered deployment.
fn targets(deployment: &[Value]) -> [(Labels, u16, &'static str); 2] {
    let of = |name: &str| {
        pod_labels(
            find(deployment, "StatefulSet", name)
                .unwrap_or_else(|| panic!("no StatefulSet {name}")),
        )
    };
    [
        (of("redis-master"), 6379, "redis-master:6379"),
        (of("redis-sentinel"), 26379, "redis-sentinel:26379"),
    ]
}

/// Each bot (its built pod labels) must reach Redis and Sentinel through `policies`; the old
/// Redis's pod, a pod of the namespace that is no client, must not. The bots not admitted.
fn admission_problems(
    what: &str,
    built: &[Value],
    policies: &Cluster,
    deployment: &[Value],
) -> Vec<String> {
    let as_peer = |name: &'static str, workload: &Value| Peer {
        what: name,
        namespace: policies.namespace.clone(),
        pod: pod_labels(workload),
    };
    let mut problems = Vec::new();
    for (to, port, target) in targets(deployment) {
        for (name, _) in BOTS {
            let peer = as_peer(name, bot(built, name, what));
            if !policies.admits(&peer, &to, port) {
                problems.push(format!(
                    "{what}: {name} (pod labels {:?}) is not admitted to {target}",
                    peer.pod
                ));
            }
        }
        let old = find(built, "Deployment", "redis").map(|old| as_peer("old redis", old));
        if let Some(old) = old {
            assert!(
                !policies.admits(&old, &to, port),
                "{what}: {target} admits a pod that is no client"
            );
        }
    }
    problems
}

/// Write `objects` (CRDs left out) as a YAML stream kubernetes-validate reads.
fn write_stream(path: &Path, objects: &[Value]) {
    let stream: Vec<String> = objects
        .iter()
        .filter(|o| !CRD_KINDS.iter().any(|kind| o["kind"] == *kind))
        .map(|o| format!("---\n{o}\n"))
        .collect();
    std::fs::write(path, stream.concat()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn every_phase_over_a_foreign_base_gives_the_bots_a_valid_env_and_admits_them() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    let dir = scratch("phases");
    let out = dir.join("out");
    let rendered = render_out(&support::repo_root().join("profiles/welcomebot.yaml"), &out);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    // The worker finds Redis through REDIS_URL, which the switch does not touch: said, not
    // an error (the bot may read the Sentinel variables first).
    let stderr = String::from_utf8_lossy(&rendered.stderr);
    assert!(
        stderr.contains("warning: container `welcomebot-worker` keeps `REDIS_URL`")
            && stderr.contains("= found: REDIS_URL=redis://redis-service:6379/0"),
        "{stderr}"
    );
    let deployment: Vec<Value> = serde_saphyr::from_multiple(
        &std::fs::read_to_string(out.join("redis-sentinel.yaml")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let base = kustomize(&kubectl, &dir.join("base"));
    assert!(
        refused_env_entries(&base).is_empty(),
        "the fixture base itself is refused"
    );

    let component_only = dir.join("component-only");
    std::fs::create_dir_all(&component_only).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        component_only.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
         resources: [../base]\ncomponents: [../out/clients]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let mut builds: Vec<(String, Vec<Value>)> = PHASES
        .iter()
        .map(|phase| {
            let dir = out.join("migration").join(phase);
            (phase.to_string(), kustomize(&kubectl, &dir))
        })
        .collect();
    builds.push((
        "clients Component".to_string(),
        kustomize(&kubectl, &component_only),
    ));

    let mut failures = Vec::new();
    for (what, built) in &builds {
        let refused = refused_env_entries(built);
        if !refused.is_empty() {
            failures.push(format!("{what}: the API server refuses {refused:#?}"));
        }
        let switched = what != "1-deploy";
        for (name, container_name) in BOTS {
            let workload = bot(built, name, what);
            let before = bot(&base, name, "base");
            assert_eq!(
                workload["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .map(Vec::len),
                before["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .map(Vec::len),
                "{what}: the patch must not add a container to {name}"
            );
            if switched {
                failures.extend(switch_problems(
                    &format!("{what}: {name}"),
                    container(workload, container_name),
                ));
            } else {
                // Phase 1 leaves the bots on the old Redis, untouched.
                assert_eq!(workload, before, "phase 1 changed {name}");
            }
        }
        if switched {
            // The Component alone carries no policies: the rendered deployment's apply.
            let policies = if what == "clients Component" {
                cluster(&deployment)
            } else {
                cluster(built)
            };
            failures.extend(admission_problems(what, built, &policies, &deployment));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    if let Some(validator) = support::require_tool("kubernetes-validate") {
        let files: Vec<PathBuf> = builds
            .iter()
            .enumerate()
            .map(|(i, (_, built))| {
                let file = dir.join(format!("build-{i}.json"));
                write_stream(&file, built);
                file
            })
            .collect();
        for version in ["1.29.0", "1.37.0"] {
            let output = Command::new(&validator)
                .args(["--strict", "--no-warn", "--kubernetes-version", version])
                .args(&files)
                .output()
                .unwrap_or_else(|e| panic!("cannot run kubernetes-validate: {e}"));
            assert!(
                output.status.success(),
                "Kubernetes {version}:\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The KRM function over the built base does what the Component does: the same env and the
/// same pod labels for every bot container.
#[test]
fn the_krm_function_and_the_component_agree_on_a_foreign_base() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    let dir = scratch("krm");
    let out = dir.join("out");
    let profile_path = support::repo_root().join("profiles/welcomebot.yaml");
    let rendered = render_out(&profile_path, &out);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let base = kustomize(&kubectl, &dir.join("base"));
    std::fs::create_dir_all(dir.join("k")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("k/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
         resources: [../base]\ncomponents: [../out/clients]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let component = kustomize(&kubectl, &dir.join("k"));

    let profile: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(&profile_path).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let list = serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": base,
        "functionConfig": profile,
    });
    let outcome = redis_sentinel_gen::krm::process(&list.to_string());
    assert!(
        !outcome.failed(),
        "{:?} {:?}",
        outcome.findings,
        outcome.problem
    );
    let output: Value = serde_saphyr::from_str(&outcome.output.unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let krm = output["items"].as_array().cloned().unwrap_or_default();
    assert!(
        refused_env_entries(&krm).is_empty(),
        "KRM: {:#?}",
        refused_env_entries(&krm)
    );

    let sorted_env = |workload: &Value, name: &str| {
        let mut env = container(workload, name)["env"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        env.sort_by_key(|v| v["name"].as_str().unwrap_or_default().to_string());
        env
    };
    for (name, container_name) in BOTS {
        let (by_krm, by_component) = (bot(&krm, name, "KRM"), bot(&component, name, "Component"));
        for c in [container_name, "metrics"] {
            if name == "welcomebot-master" && c == "metrics" {
                continue;
            }
            assert_eq!(
                sorted_env(by_krm, c),
                sorted_env(by_component, c),
                "{name}/{c}: the KRM function and the Component disagree"
            );
        }
        assert_eq!(
            pod_labels(by_krm),
            pod_labels(by_component),
            "{name}: pod labels differ"
        );
        let problems = switch_problems(&format!("KRM {name}"), container(by_krm, container_name));
        assert!(problems.is_empty(), "{problems:#?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `spec.clients[].container` misspelt: with the base in view, `render --out` refuses the
/// profile and names the containers that exist (kustomize would add a second, image-less
/// container), and the KRM function fails the same way over the base's items.
#[test]
fn a_misspelt_client_container_is_an_error_naming_the_containers_that_exist() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    let dir = scratch("misspelt");
    let shipped = std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let misspelt = support::replace_once(
        &shipped,
        "name: welcomebot-worker, container: welcomebot-worker }",
        "name: welcomebot-worker, container: worker }",
    );
    assert_ne!(
        misspelt, shipped,
        "the shipped profile's worker client moved"
    );
    let profile = dir.join("profile.yaml");
    std::fs::write(&profile, &misspelt).unwrap_or_else(|e| panic!("{e}"));

    let out = dir.join("out");
    let rendered = render_out(&profile, &out);
    let stderr = String::from_utf8_lossy(&rendered.stderr);
    assert_eq!(rendered.status.code(), Some(1), "{stderr}");
    for expected in [
        "error: Deployment welcomebot-worker in the migration base",
        "has no container `worker`",
        "= field: spec.clients[1].container",
        "= found: worker",
        "= valid: a container of Deployment welcomebot-worker: welcomebot-worker, metrics",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(!out.exists(), "an invalid profile wrote {}", out.display());

    let base = kustomize(&kubectl, &dir.join("base"));
    let config: Value = serde_saphyr::from_str(&misspelt).unwrap_or_else(|e| panic!("{e}"));
    let list = serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": base,
        "functionConfig": config,
    });
    let outcome = redis_sentinel_gen::krm::process(&list.to_string());
    assert!(outcome.failed(), "the KRM function accepted it");
    let output: Value = serde_saphyr::from_str(&outcome.output.unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let errors: Vec<&Value> = output["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["severity"] == "error")
        .collect();
    assert!(
        errors.iter().any(|r| {
            r["field"]["path"] == "spec.clients[1].container"
                && r["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("welcomebot-worker, metrics"))
        }),
        "{:#}",
        output["results"]
    );
    assert_eq!(
        output["items"], list["items"],
        "the items must come back unchanged"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
