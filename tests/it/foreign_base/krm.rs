//! The KRM function over the foreign base: it does what the Component does, and refuses a
//! misspelt client container the same way `render --out` does.

use serde_json::Value;

use super::judge::{pod_labels, refused_env_entries, switch_problems};
use super::{BOTS, bot, container, kustomize, scratch};
use crate::support;
use crate::support::render_out;

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

/// A client of the profile that the items do not hold (renamed in the package, or in another
/// namespace) is not switched; the function says so in a warning result, as `render --out`
/// warns about a client its base lacks, instead of passing in silence.
#[test]
fn a_client_the_items_lack_is_a_warning_result() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    let dir = scratch("absent-client");
    let shipped = std::fs::read_to_string(support::repo_root().join("profiles/welcomebot.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let config: Value = serde_saphyr::from_str(&shipped).unwrap_or_else(|e| panic!("{e}"));
    let base = kustomize(&kubectl, &dir.join("base"));
    let worker = |item: &Value| {
        item["kind"] == "Deployment" && item["metadata"]["name"] == "welcomebot-worker"
    };
    assert!(base.iter().any(worker), "the base's worker moved");
    for (case, change) in [
        ("renamed", ("name", "welcomebot-worker-v2")),
        ("elsewhere", ("namespace", "other")),
    ] {
        let mut items = base.clone();
        for item in items.iter_mut().filter(|item| worker(item)) {
            item["metadata"][change.0] = Value::from(change.1);
        }
        let list = serde_json::json!({
            "apiVersion": "config.kubernetes.io/v1",
            "kind": "ResourceList",
            "items": items,
            "functionConfig": config,
        });
        let outcome = redis_sentinel_gen::krm::process(&list.to_string());
        assert!(
            !outcome.failed(),
            "{case}: a missing client failed the function"
        );
        let output: Value = serde_saphyr::from_str(&outcome.output.unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        let warned = output["results"].as_array().into_iter().flatten().any(|r| {
            r["severity"] == "warning"
                && r["field"]["path"] == "spec.clients[1].name"
                && r["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Deployment `welcomebot-worker`"))
        });
        assert!(warned, "{case}: no warning result: {:#}", output["results"]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
