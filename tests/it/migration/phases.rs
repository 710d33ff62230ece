//! Every phase of the migration overlay built by `kubectl kustomize` over a base, and what
//! each promises: the clients switched or not, the old Redis fenced and then removed, the
//! objects valid against the Kubernetes schemas.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{BIN, fixture, scratch_with_base};
use crate::support;
use crate::support::render_out;

const NAMESPACE: &str = "welcomebot";
const MASTER_NAME: &str = "welcomebot-master";
const CLIENTS: [&str; 2] = ["welcomebot-master", "welcomebot-worker"];

fn kustomize(kubectl: &Path, dir: &Path) -> Vec<Value> {
    let output = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubectl: {e}"));
    assert!(
        output.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

fn containers(workload: &Value) -> &Vec<Value> {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap_or_else(|| panic!("no containers in {workload}"))
}

fn container<'a>(workload: &'a Value, name: &str) -> &'a Value {
    containers(workload)
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name} in {workload}"))
}

/// The env of a container as (name, entry without its name).
fn env(container: &Value) -> Vec<(String, Value)> {
    container["env"]
        .as_array()
        .map(|vars| {
            vars.iter()
                .map(|v| {
                    let mut rest = v.clone();
                    let name = rest["name"].as_str().unwrap_or_default().to_string();
                    if let Some(map) = rest.as_object_mut() {
                        map.remove("name");
                    }
                    (name, rest)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn value_of<'a>(env: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    env.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// The switched env of the reference profile: every Sentinel pod, the master name, the
/// password from the Secret, no `REDIS_ADDR`; the container's other variables kept.
fn assert_switched(workload: &Value, container_name: &str, kept: &[&str]) {
    let vars = env(container(workload, container_name));
    let sentinels: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "redis-sentinel-{i}.redis-sentinel-headless.{NAMESPACE}.svc.cluster.local:26379"
            )
        })
        .collect();
    assert_eq!(
        value_of(&vars, "REDIS_SENTINEL_ADDRS"),
        Some(&serde_json::json!({"value": sentinels.join(",")})),
        "{container_name}: {vars:?}"
    );
    assert_eq!(
        value_of(&vars, "REDIS_MASTER_NAME"),
        Some(&serde_json::json!({"value": MASTER_NAME})),
        "{container_name}: {vars:?}"
    );
    assert_eq!(
        value_of(&vars, "REDIS_PASSWORD"),
        Some(
            &serde_json::json!({"valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}}})
        ),
        "{container_name}: {vars:?}"
    );
    assert!(
        value_of(&vars, "REDIS_ADDR").is_none(),
        "{container_name} still has REDIS_ADDR: {vars:?}"
    );
    for name in kept {
        assert!(
            value_of(&vars, name).is_some(),
            "{container_name} lost {name}: {vars:?}"
        );
    }
}

fn assert_unswitched(workload: &Value, container_name: &str) {
    let vars = env(container(workload, container_name));
    assert_eq!(
        value_of(&vars, "REDIS_ADDR"),
        Some(&serde_json::json!({"value": "redis-service:6379"})),
        "{container_name}: {vars:?}"
    );
    for name in ["REDIS_SENTINEL_ADDRS", "REDIS_MASTER_NAME"] {
        assert!(
            value_of(&vars, name).is_none(),
            "{container_name}: {vars:?}"
        );
    }
}

fn replicas(objects: &[Value], kind: &str, name: &str) -> Option<i64> {
    find(objects, kind, name).and_then(|o| o["spec"]["replicas"].as_i64())
}

#[test]
fn every_phase_builds_over_the_fixture_base_and_does_what_it_says() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    let dir = scratch_with_base("phases");
    let out = dir.join("out");
    let rendered = render_out(&support::repo_root().join("profiles/welcomebot.yaml"), &out);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    // The base exists beside the output directory: no warning about it.
    assert!(
        !String::from_utf8_lossy(&rendered.stderr).contains("spec.migration"),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let read =
        |p: &str| std::fs::read_to_string(out.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert_eq!(
        read("migration/deployment/redis-sentinel.yaml"),
        read("redis-sentinel.yaml"),
        "the phases' copy of the deployment differs from redis-sentinel.yaml"
    );

    let base = kustomize(&kubectl, &dir.join("base"));
    let old_count = |objects: &[Value]| {
        [("Deployment", "redis"), ("Service", "redis-service")]
            .iter()
            .filter(|(kind, name)| find(objects, kind, name).is_some())
            .count()
    };
    assert_eq!(old_count(&base), 2, "the fixture base lacks the old Redis");

    // Phase 1: the Redis pods beside the old Redis, no Sentinel, clients untouched.
    let phase1 = kustomize(&kubectl, &out.join("migration/1-deploy"));
    assert_eq!(old_count(&phase1), 2);
    assert_eq!(replicas(&phase1, "StatefulSet", "redis-master"), Some(1));
    assert_eq!(replicas(&phase1, "StatefulSet", "redis-replica"), Some(2));
    assert_eq!(replicas(&phase1, "StatefulSet", "redis-sentinel"), Some(0));
    for client in CLIENTS {
        let workload = find(&phase1, "Deployment", client).expect("client in phase 1");
        assert_eq!(
            Some(workload),
            find(&base, "Deployment", client),
            "phase 1 changed {client}"
        );
        assert_unswitched(workload, client);
    }
    // The reference profile has network policies: phase 1 opens egress to the old Redis.
    let copy = find(&phase1, "NetworkPolicy", "redis-master-migration-copy")
        .expect("phase 1 lets the Redis pods reach the old Redis");
    assert_eq!(copy["spec"]["egress"][0]["ports"][0]["port"], 6379);
    // Quiet until the switch: no alert rules (RedisNoMaster would page during the copy), the
    // backup suspended (no Sentinel to ask for a replica).
    assert!(find(&phase1, "PrometheusRule", "redis-sentinel").is_none());
    let backup = find(&phase1, "CronJob", "redis-backup").expect("backup CronJob in phase 1");
    assert_eq!(backup["spec"]["suspend"], true);
    // The old Redis runs unfenced until the cutover: phase 1 leaves it as the base has it.
    assert_eq!(
        find(&phase1, "Deployment", "redis"),
        find(&base, "Deployment", "redis")
    );

    // Phases 2 and 3: Sentinels at full count, every client switched.
    for phase in ["2-switch", "3-cleanup"] {
        let objects = kustomize(&kubectl, &out.join("migration").join(phase));
        assert_eq!(
            replicas(&objects, "StatefulSet", "redis-sentinel"),
            Some(3),
            "{phase}"
        );
        assert!(find(&objects, "NetworkPolicy", "redis-master-migration-copy").is_none());
        for client in CLIENTS {
            let workload = find(&objects, "Deployment", client).expect("client");
            let before = find(&base, "Deployment", client).expect("client in base");
            assert_eq!(
                containers(workload).len(),
                containers(before).len(),
                "{phase}: the patch must not add a container to {client}"
            );
            assert_switched(workload, client, &["LOG_LEVEL"]);
        }
        // Only the container named in the profile is switched.
        let worker = find(&objects, "Deployment", "welcomebot-worker").expect("worker");
        assert_eq!(
            value_of(&env(container(worker, "log-shipper")), "REDIS_ADDR"),
            Some(&serde_json::json!({"value": "logs-redis:6379"}))
        );
        assert!(find(&objects, "PrometheusRule", "redis-sentinel").is_some());
        let backup = find(&objects, "CronJob", "redis-backup").expect("backup CronJob");
        assert!(backup["spec"]["suspend"].is_null(), "{phase}: {backup}");
        if phase == "2-switch" {
            // The fence on the old Redis's command line: a restart keeps it.
            let old = find(&objects, "Deployment", "redis").expect("old Redis in phase 2");
            assert_eq!(
                container(old, "redis")["args"],
                serde_json::json!([
                    "--appendonly",
                    "yes",
                    "--protected-mode",
                    "no",
                    "--min-replicas-to-write",
                    "1",
                    "--min-replicas-max-lag",
                    "10"
                ])
            );
        }
        let expected_old = if phase == "3-cleanup" { 0 } else { 2 };
        assert_eq!(
            old_count(&objects),
            expected_old,
            "{phase}: old Redis objects"
        );
        // Everything else of the base survives every phase.
        assert!(find(&objects, "StatefulSet", "redis-master").is_some());
    }

    // The Component alone, over the base, does the switch.
    let alone = dir.join("component-only");
    std::fs::create_dir_all(&alone).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        alone.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
         resources: [../base]\ncomponents: [../out/clients]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let objects = kustomize(&kubectl, &alone);
    assert_eq!(objects.len(), base.len());
    for client in CLIENTS {
        assert_switched(
            find(&objects, "Deployment", client).expect("client"),
            client,
            &["LOG_LEVEL"],
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The old Redis is found in the base through the Service's selector: the last phase
/// removes it although the profile lists nothing in `spec.migration.remove`, and phase 2
/// fences the container that serves the Service's port.
#[test]
fn the_old_redis_is_found_in_the_base_without_remove() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    let dir = scratch_with_base("found");
    let profile = dir.join("profile.yaml");
    let kept = &profile_without_remove();
    std::fs::write(&profile, kept).unwrap_or_else(|e| panic!("{e}"));
    // A second container before the Redis one: the fence must go to the one serving the port.
    let redis_yaml = dir.join("base/redis.yaml");
    let base = support::replace_once(
        &std::fs::read_to_string(&redis_yaml).unwrap_or_else(|e| panic!("{e}")),
        "      containers:\n",
        "      containers:\n        - name: exporter\n          image: oliver006/redis_exporter:v1.62.0\n",
    );
    std::fs::write(&redis_yaml, base).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    let rendered = render_out(&profile, &out);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let switch = kustomize(&kubectl, &out.join("migration/2-switch"));
    let old = find(&switch, "Deployment", "redis").expect("old Redis in phase 2");
    assert!(container(old, "exporter")["args"].is_null(), "{old}");
    assert_fenced(old);
    let cleanup = kustomize(&kubectl, &out.join("migration/3-cleanup"));
    assert!(find(&cleanup, "Deployment", "redis").is_none());
    assert!(find(&cleanup, "Service", "redis-service").is_none());
    let readme =
        std::fs::read_to_string(out.join("migration/README.md")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        readme.contains("deployment/redis service/redis-service"),
        "the README's kubectl delete misses the old Redis"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A base that renames its objects (`namePrefix` on the outer kustomization, `nameSuffix` on
/// a nested one, as teams layer them): the old Redis is found under the names kustomize gives
/// it, which are the names `init --from-base` writes into the profile, and it is fenced.
#[test]
fn the_old_redis_is_found_under_the_names_the_base_gives_it() {
    let Some(kubectl) = support::require_tool("kubectl") else {
        return;
    };
    let dir = scratch_with_base("renamed");
    let base = dir.join("base");
    let app = base.join("app");
    std::fs::create_dir_all(&app).unwrap_or_else(|e| panic!("{e}"));
    for file in ["kustomization.yaml", "redis.yaml", "welcomebot.yaml"] {
        std::fs::rename(base.join(file), app.join(file)).unwrap_or_else(|e| panic!("{e}"));
    }
    let inner =
        std::fs::read_to_string(app.join("kustomization.yaml")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        app.join("kustomization.yaml"),
        format!("{inner}nameSuffix: -v1\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        base.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
         namePrefix: shop-\nresources:\n  - app\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let kept = &profile_without_remove();
    let mut kept =
        support::replace_once(kept, "host: redis-service,", "host: shop-redis-service-v1,");
    for client in ["welcomebot-master", "welcomebot-worker"] {
        kept = support::replace_once(
            &kept,
            &format!("name: {client},"),
            &format!("name: shop-{client}-v1,"),
        );
    }
    let profile = dir.join("profile.yaml");
    std::fs::write(&profile, kept).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    let rendered = render_out(&profile, &out);
    let stderr = String::from_utf8_lossy(&rendered.stderr);
    assert!(rendered.status.success(), "{stderr}");
    assert!(
        !stderr.contains("has no"),
        "a warning about the base: {stderr}"
    );
    let switch = kustomize(&kubectl, &out.join("migration/2-switch"));
    let old = find(&switch, "Deployment", "shop-redis-v1").expect("old Redis in phase 2");
    assert_fenced(old);
    let cleanup = kustomize(&kubectl, &out.join("migration/3-cleanup"));
    assert!(find(&cleanup, "Deployment", "shop-redis-v1").is_none());
    assert!(find(&cleanup, "Service", "shop-redis-service-v1").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

/// An old Redis started through a shell (`sh -c "exec redis-server …"`): the args phase 2
/// appends become the script's `$0`, `$1`…, which it ignores, so the fence never reaches
/// redis-server. Render says so; a script that passes `"$@"` on is fenced as usual.
#[test]
fn an_old_redis_started_through_a_shell_is_named_as_not_fenced() {
    let dir = scratch_with_base("shell");
    let redis_yaml = dir.join("base/redis.yaml");
    let original = std::fs::read_to_string(&redis_yaml).unwrap_or_else(|e| panic!("{e}"));
    let args_line = r#"          args: ["--appendonly", "yes", "--protected-mode", "no"]"#;
    for (script, warned) in [
        (
            r#"exec redis-server --appendonly yes --requirepass \"$REDIS_PASSWORD\""#,
            true,
        ),
        (r#"exec redis-server --appendonly yes \"$@\""#, false),
    ] {
        let command = format!(r#"          command: ["sh", "-c", "{script}"]"#);
        std::fs::write(
            &redis_yaml,
            support::replace_once(&original, args_line, &command),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let out = dir.join("out");
        let _ = std::fs::remove_dir_all(&out);
        let rendered = render_out(&fixture().join("profile.yaml"), &out);
        let stderr = String::from_utf8_lossy(&rendered.stderr);
        assert!(rendered.status.success(), "{stderr}");
        let warning = "starts it through `sh -c`";
        assert_eq!(
            stderr.contains(warning),
            warned,
            "script {script}: expected the warning {warned}: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The fixture profile without its `spec.migration.remove` list (the old Redis then has to
/// be found in the base).
fn profile_without_remove() -> String {
    let text =
        std::fs::read_to_string(fixture().join("profile.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let (kept, _) = text
        .split_once("    remove:")
        .expect("the fixture profile lists remove");
    kept.to_string()
}

/// The old Redis's `redis` container ends its args with the fence phase 2 appends.
fn assert_fenced(old: &Value) {
    let args = container(old, "redis")["args"].to_string();
    assert!(
        args.ends_with(r#""--min-replicas-to-write","1","--min-replicas-max-lag","10"]"#),
        "the old Redis is not fenced in phase 2: {args}"
    );
}

/// Without a base to find the old Redis in, `spec.migration.remove` is required: otherwise
/// the last phase would leave the old Redis running.
#[test]
fn without_a_base_migration_remove_is_required() {
    let dir = scratch_with_base("remove-required");
    std::fs::remove_dir_all(dir.join("base")).unwrap_or_else(|e| panic!("{e}"));
    let profile = dir.join("profile.yaml");
    let kept = &profile_without_remove();
    std::fs::write(
        &profile,
        support::replace_once(kept, "    base: ../base\n", ""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    let output = render_out(&profile, &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for needle in [
        "error: the old Redis behind `redis-service` is not found in the migration base",
        "so the last phase would leave it running",
        "= field: spec.migration.remove",
        "{kind: Deployment, name: redis}",
    ] {
        assert!(stderr.contains(needle), "`{needle}` not in\n{stderr}");
    }
    assert!(!out.exists(), "an invalid profile wrote output");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_migration_base_that_does_not_exist_is_an_error_with_its_position() {
    let dir = scratch_with_base("missing-base");
    let profile = dir.join("profile.yaml");
    let text = support::replace_once(
        &std::fs::read_to_string(fixture().join("profile.yaml")).unwrap_or_else(|e| panic!("{e}")),
        "base: ../base",
        "base: ../bsae",
    );
    std::fs::write(&profile, text).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    let output = render_out(&profile, &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for needle in [
        "error: the migration base",
        "bsae does not exist",
        "profile.yaml:25:",
        "= field: spec.migration.base",
        "relative to the output directory",
    ] {
        assert!(stderr.contains(needle), "`{needle}` not in\n{stderr}");
    }
    assert!(!out.exists(), "an invalid profile wrote output");
    // `check` judges the same paths.
    let check = Command::new(BIN)
        .arg("check")
        .arg(&profile)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stderr).contains("spec.migration.base"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Kinds no Kubernetes OpenAPI schema knows (Prometheus Operator CRDs of the monitoring
/// feature); `tests/it/monitoring.rs` checks those.
const CRD_KINDS: &[&str] = &["ServiceMonitor", "PrometheusRule"];

#[test]
fn every_built_phase_validates_strictly_against_the_kubernetes_schemas() {
    let (Some(kubectl), Some(validator)) = (
        support::require_tool("kubectl"),
        support::require_tool("kubernetes-validate"),
    ) else {
        return;
    };
    let dir = scratch_with_base("conformance");
    let out = dir.join("out");
    let rendered = render_out(&support::repo_root().join("profiles/welcomebot.yaml"), &out);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let mut files = Vec::new();
    for phase in ["1-deploy", "2-switch", "3-cleanup"] {
        let objects: Vec<Value> = kustomize(&kubectl, &out.join("migration").join(phase))
            .into_iter()
            .filter(|o| !CRD_KINDS.iter().any(|kind| o["kind"] == *kind))
            .collect();
        let file = dir.join(format!("{phase}.json"));
        // One JSON document per line is also a YAML stream kubernetes-validate reads.
        let stream: Vec<String> = objects.iter().map(|o| format!("---\n{o}\n")).collect();
        std::fs::write(&file, stream.concat()).unwrap_or_else(|e| panic!("{e}"));
        files.push(file);
    }
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
    let _ = std::fs::remove_dir_all(&dir);
}
