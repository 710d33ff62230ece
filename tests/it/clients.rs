//! The client env switch has one definition (`render::clients::client_env`) and two
//! consumers: the `clients/` Component that kustomize applies, and the KRM function that edits
//! workloads in place. Both are run here over the same client Deployments (the migration
//! fixture's base) and must leave every client container with the same env, in both modes.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");

fn base_dir() -> PathBuf {
    support::repo_root().join("tests/fixtures/migration/base")
}

/// The client Deployments of the fixture base, as YAML documents.
fn client_documents() -> Vec<Value> {
    let text = std::fs::read_to_string(base_dir().join("welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// `container`'s env in `workload`, sorted by name (the two consumers order entries their
/// own way; what matters is the set).
fn env_of(workload: &Value, container: &str) -> Vec<Value> {
    let mut env: Vec<Value> = workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
        .and_then(|c| c["env"].as_array())
        .cloned()
        .unwrap_or_else(|| panic!("no env of {container} in {workload}"));
    env.sort_by_key(|v| v["name"].as_str().unwrap_or_default().to_string());
    env
}

fn named<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Deployment {name}"))
}

/// The KRM function over the client Deployments with `profile` as its config.
fn through_krm(profile: &str) -> Vec<Value> {
    let config: Value = serde_saphyr::from_str(profile).unwrap_or_else(|e| panic!("{e}"));
    let list = serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": client_documents(),
        "functionConfig": config,
    });
    let outcome = redis_sentinel_gen::krm::process(&list.to_string());
    assert!(!outcome.failed(), "{:?}", outcome.findings);
    let output: Value = serde_saphyr::from_str(&outcome.output.unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    output["items"].as_array().cloned().unwrap_or_default()
}

/// `render --out` of `profile`, then kustomize of the base with the `clients/` Component.
fn through_component(kubectl: &Path, profile: &str, name: &str) -> Vec<Value> {
    let dir = std::env::temp_dir().join(format!("rsg-clients-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("k")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.join("base")).unwrap_or_else(|e| panic!("{e}"));
    for file in ["kustomization.yaml", "redis.yaml", "welcomebot.yaml"] {
        std::fs::copy(base_dir().join(file), dir.join("base").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    let profile_path = dir.join("profile.yaml");
    std::fs::write(&profile_path, profile).unwrap_or_else(|e| panic!("{e}"));
    let output = Command::new(BIN)
        .arg("render")
        .arg(&profile_path)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(
        dir.join("k/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
         resources: [../base]\ncomponents: [../out/clients]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let built = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir.join("k"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let text = String::from_utf8_lossy(&built.stdout).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// The shipped reference profile with its client list replaced.
fn reference_with_clients(clients: &str) -> String {
    let text = std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let start = text.find("  clients:\n").expect("reference lists clients");
    let end = text
        .find("  migration:\n")
        .expect("reference has a migration");
    format!("{}  clients:\n{clients}{}", &text[..start], &text[end..])
}

const SENTINEL_CLIENTS: &str = "    - { kind: Deployment, name: welcomebot-master, container: welcomebot-master }\n    \
                                - { kind: Deployment, name: welcomebot-worker, container: welcomebot-worker }\n";
const MIXED_CLIENTS: &str = "    - { kind: Deployment, name: welcomebot-master, container: welcomebot-master }\n    \
                             - { kind: Deployment, name: welcomebot-worker, container: welcomebot-worker, mode: address }\n";

#[test]
fn the_component_and_the_krm_function_give_every_client_the_same_env() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    for (case, clients) in [("sentinel", SENTINEL_CLIENTS), ("mixed", MIXED_CLIENTS)] {
        let profile = reference_with_clients(clients);
        let krm = through_krm(&profile);
        let component = through_component(&kubectl, &profile, case);
        for (workload, container) in [
            ("welcomebot-master", "welcomebot-master"),
            ("welcomebot-worker", "welcomebot-worker"),
            // Not named in the profile: untouched by both.
            ("welcomebot-worker", "log-shipper"),
        ] {
            let by_krm = env_of(named(&krm, workload), container);
            let by_component = env_of(named(&component, workload), container);
            assert_eq!(
                by_krm, by_component,
                "{case}: {workload}/{container} differs between KRM and the Component"
            );
        }
        let names = |env: Vec<Value>| -> Vec<String> {
            env.iter()
                .map(|v| v["name"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        let master = names(env_of(
            named(&krm, "welcomebot-master"),
            "welcomebot-master",
        ));
        assert_eq!(
            master,
            [
                "LOG_LEVEL",
                "REDIS_MASTER_NAME",
                "REDIS_PASSWORD",
                "REDIS_SENTINEL_ADDRS",
                "WELCOME_CHANNEL"
            ]
        );
        let worker = env_of(named(&krm, "welcomebot-worker"), "welcomebot-worker");
        if case == "mixed" {
            // The single-Redis form: the initial master pod, the password, no Sentinel vars.
            assert_eq!(
                worker,
                serde_json::json!([
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "REDIS_ADDR",
                     "value": "redis-master-0.redis-headless.welcomebot.svc.cluster.local:6379"},
                    {"name": "REDIS_PASSWORD",
                     "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}}},
                ])
                .as_array()
                .cloned()
                .unwrap_or_default()
            );
        } else {
            assert_eq!(
                names(worker),
                [
                    "LOG_LEVEL",
                    "REDIS_MASTER_NAME",
                    "REDIS_PASSWORD",
                    "REDIS_SENTINEL_ADDRS"
                ]
            );
        }
    }
}

#[test]
fn every_patch_is_a_headed_strategic_merge_patch_of_its_client() {
    let dir = std::env::temp_dir().join(format!("rsg-clients-patches-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = Command::new(BIN)
        .args(["render", "profiles/ha-5.yaml", "--out"])
        .arg(&dir)
        .current_dir(support::repo_root())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let patch = std::fs::read_to_string(dir.join("clients/api.patch.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        patch.starts_with(
            "# generated by redis-sentinel-gen from profiles/ha-5.yaml — do not edit\n#"
        )
    );
    // Comment lines (the header, then what the `null`s mean), then the one document.
    let (comments, _) = patch.split_once("---\n").expect("a YAML document");
    assert!(comments.lines().all(|l| l.starts_with('#')), "{patch}");
    let doc: Value = serde_saphyr::from_str(&patch).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc["kind"], "Deployment");
    assert_eq!(doc["metadata"]["name"], "api");
    let env = &doc["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[0],
        serde_json::json!({"name": "REDIS_ADDR", "$patch": "delete"})
    );
    let addrs = env[1]["value"].as_str().unwrap_or_default();
    assert_eq!(
        addrs.split(',').count(),
        5,
        "ha-5 has five Sentinels: {addrs}"
    );
    assert_eq!(
        env[3]["valueFrom"]["secretKeyRef"]["name"],
        "cache-redis-auth"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
