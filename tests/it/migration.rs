//! The migration overlay (issue 3), proven by its consumers:
//!
//! - `kubectl kustomize` builds every phase of the reference profile over the fixture base
//!   (`tests/fixtures/migration/base`: the single Redis and the two welcomebot Deployments with
//!   `REDIS_ADDR`), and the parsed result is what each phase promises;
//! - the whole migration runs for real with `rehearse --migration` (src/rehearse/migration.rs):
//!   an old `redis-server` with data, the rendered pods, the rendered `migrate.sh`, two clients
//!   switching from `REDIS_ADDR` to Sentinel discovery at different times after the cutover;
//! - `migrate.sh` against a fake redis-cli for the refusals that need no real server.
//!
//! The real-Redis test binds 127.0.0.100 and up (the pods) and 127.0.0.200 (the old Redis).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");
const NAMESPACE: &str = "welcomebot";
const MASTER_NAME: &str = "welcomebot-master";
const CLIENTS: [&str; 2] = ["welcomebot-master", "welcomebot-worker"];

fn fixture() -> PathBuf {
    support::repo_root().join("tests/fixtures/migration")
}

/// A scratch directory holding a copy of the fixture base at `base/`, so that an output
/// directory `out/` beside it finds it as `../base`.
fn scratch_with_base(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rsg-migration-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let base = dir.join("base");
    std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(fixture().join("base")).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = path.file_name().unwrap_or_default();
        std::fs::copy(&path, base.join(name)).unwrap_or_else(|e| panic!("{e}"));
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
    let text =
        std::fs::read_to_string(fixture().join("profile.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let (kept, _) = text
        .split_once("    remove:")
        .expect("the fixture profile lists remove");
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
    let args = container(old, "redis")["args"].to_string();
    assert!(
        args.ends_with(r#""--min-replicas-to-write","1","--min-replicas-max-lag","10"]"#),
        "{args}"
    );
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

/// Without a base to find the old Redis in, `spec.migration.remove` is required: otherwise
/// the last phase would leave the old Redis running.
#[test]
fn without_a_base_migration_remove_is_required() {
    let dir = scratch_with_base("remove-required");
    std::fs::remove_dir_all(dir.join("base")).unwrap_or_else(|e| panic!("{e}"));
    let profile = dir.join("profile.yaml");
    let text =
        std::fs::read_to_string(fixture().join("profile.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let (kept, _) = text
        .split_once("    remove:")
        .expect("the fixture profile lists remove");
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

// ---------------------------------------------------------------------------------------------
// The whole migration on real Redis: `rehearse --migration`

/// `redis-sentinel-gen rehearse --migration` on the fixture profile and base: every scenario
/// within its bounds. The pods take 127.0.0.100 and up, the old Redis 127.0.0.200.
#[test]
fn rehearse_migration_passes_every_scenario() {
    if !support::real_redis_prerequisites(&["redis-cli", "sh"]) {
        return;
    }
    let _turn = support::real_redis_turn();
    let output = Command::new(BIN)
        .arg("rehearse")
        .arg(fixture().join("profile.yaml"))
        .arg("--migration")
        .arg("--base")
        .arg(fixture().join("base"))
        .args(["--first-ip", "127.0.0.100", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stderr}");
    let outcomes: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); exit {:?}", output.status));
    let titles: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o["scenario"].as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "migration",
            "migration, cutover right after copy",
            "migration, old Redis restarted after cutover",
            "migration, wrong old-Redis password",
        ]
    );
    // The bounds, checked here as well as by the rehearsal's own verdict.
    for outcome in &outcomes {
        let title = outcome["scenario"].as_str().unwrap_or_default();
        assert_eq!(outcome["failures"], serde_json::json!([]), "{title}");
        if title.ends_with("password") {
            let took = outcome["copy_failed_after_s"]
                .as_f64()
                .expect("copy timing");
            assert!(took < 10.0, "{title}: copy took {took} s to fail");
            continue;
        }
        assert_eq!(
            outcome["keys_carried"], outcome["preloaded_keys"],
            "{title}"
        );
        assert_eq!(outcome["full_syncs_after_cutover"], 0, "{title}");
        let clients = outcome["clients"].as_array().expect("clients");
        assert_eq!(clients.len(), 2, "{title}");
        for client in clients {
            assert_eq!(client["lost"], 0, "{title}: {client}");
            assert!(
                client["acked_before_cutover"].as_u64() > Some(0),
                "{title}: {client}"
            );
            assert!(
                client["acked_after_cutover"].as_u64() > Some(0),
                "{title}: {client}"
            );
        }
        // The clients switch at different times after the cutover.
        assert_ne!(
            clients[0]["switched_after_cutover_s"]
                .as_f64()
                .map(|s| (s * 10.0).round()),
            clients[1]["switched_after_cutover_s"]
                .as_f64()
                .map(|s| (s * 10.0).round()),
            "{title}"
        );
        if title.ends_with("after cutover") {
            // The second client wrote to the restarted old Redis: the fence refused it.
            assert!(
                clients[1]["refused_by_fence"].as_u64() > Some(0),
                "{title}: {}",
                clients[1]
            );
        }
        if title == "migration" {
            let checks = outcome["verify_checks"].as_array().expect("verify checks");
            assert_eq!(checks.len(), 2, "{title}");
            for check in checks {
                assert_eq!(check["verify_failed"], true, "{title}: {check}");
            }
        }
    }
    assert!(output.status.success(), "exit {:?}", output.status);
}

/// Without a base the old Redis is a plain `redis-server` that phase 2 leaves running as it
/// is: `verify` then judges the very process of the cutover (same run_id: its write count and
/// replication offset), and must still fail when a write got past the fence.
#[test]
fn rehearse_migration_without_a_base() {
    if !support::real_redis_prerequisites(&["redis-cli", "sh"]) {
        return;
    }
    let _turn = support::real_redis_turn();
    let output = Command::new(BIN)
        .arg("rehearse")
        .arg(fixture().join("profile.yaml"))
        .args(["--migration", "--only", "normal"])
        .args(["--first-ip", "127.0.0.100", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stderr}");
    let outcomes: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); exit {:?}", output.status));
    let [outcome] = outcomes.as_slice() else {
        panic!("one scenario expected: {outcomes:?}");
    };
    assert!(stderr.contains("a plain redis-server"), "{stderr}");
    assert!(!stderr.contains("restarted it with the fence"), "{stderr}");
    assert_eq!(outcome["failures"], serde_json::json!([]));
    assert_eq!(outcome["keys_carried"], outcome["preloaded_keys"]);
    for client in outcome["clients"].as_array().expect("clients") {
        assert_eq!(client["lost"], 0, "{client}");
    }
    for check in outcome["verify_checks"].as_array().expect("verify checks") {
        assert_eq!(check["verify_failed"], true, "{check}");
    }
    assert!(output.status.success(), "exit {:?}", output.status);
}

#[test]
fn migrate_sh_passes_shellcheck_for_every_shipped_profile() {
    let Some(shellcheck) = support::require_tool("shellcheck") else {
        return;
    };
    for profile in support::shipped_profiles() {
        let stem = profile
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let out =
            std::env::temp_dir().join(format!("rsg-migrate-sh-{stem}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let rendered = render_out(&profile, &out);
        assert!(
            rendered.status.success(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        let script = out.join("migration/migrate.sh");
        if !script.exists() {
            continue;
        }
        let checked = Command::new(&shellcheck)
            .args(["--shell=sh", "--severity=style"])
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run shellcheck: {e}"));
        assert!(
            checked.status.success(),
            "{stem}: shellcheck migrate.sh:\n{}",
            String::from_utf8_lossy(&checked.stdout)
        );
        let _ = std::fs::remove_dir_all(&out);
    }
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

/// A fake redis-cli for `migrate.sh`: `sh fake-redis-cli old|new|sentinel [redis-cli
/// options] COMMAND...`. It logs each call (which server, its REDISCLI_AUTH, every argument on
/// a line of its own) to `$FAKE_ARGS`, answers reads from canned replies and the environment,
/// and records every command that would change something in `$FAKE_CHANGES`.
const FAKE_REDIS_CLI: &str = r#"#!/bin/sh
role=$1
shift
{
    printf -- '--- %s REDISCLI_AUTH=%s\n' "$role" "${REDISCLI_AUTH-unset}"
    for arg in "$@"; do printf '%s\n' "$arg"; done
} >>"$FAKE_ARGS"
remote=no
while [ $# -gt 0 ]; do
    case $1 in
        -h) remote=yes; shift 2 ;;
        -p | -a | --user) shift 2 ;;
        --no-auth-warning) shift ;;
        *) break ;;
    esac
done
case "$role $remote $*" in
    'old no PING')
        if [ -n "${FAKE_OLD_DOWN:-}" ]; then
            echo 'Could not connect to Redis at redis-service:6379: Connection refused' >&2
            exit 1
        fi
        echo PONG ;;
    'old no INFO server') printf 'redis_version:%s\r\nrun_id:abc\r\n' "$FAKE_VERSION" ;;
    'new yes PING') printf '%s\n' "$FAKE_PROBE" ;;
    'new no INFO replication') printf 'role:master\r\nconnected_slaves:2\r\n' ;;
    *'CLIENT LIST') printf '%s\n' "$FAKE_CLIENTS" ;;
    *DBSIZE) printf '%s\n' "$FAKE_KEYS" ;;
    *) printf '%s %s\n' "$role" "$*" >>"$FAKE_CHANGES"; echo OK ;;
esac
"#;

/// A fake world for `migrate.sh copy`, set through the fake redis-cli's environment.
struct FakeWorld<'a> {
    clients: &'a str,
    keys: &'a str,
    old_version: &'a str,
    /// What the old Redis answers the new master's AUTH + PING.
    probe: &'a str,
    old_down: bool,
}

const HEALTHY: FakeWorld<'static> = FakeWorld {
    clients: "id=8 addr=10.0.0.9:40001 name= db=0",
    keys: "0",
    old_version: "7.2.5",
    probe: "PONG",
    old_down: false,
};

/// `sh migrate.sh copy` with the fake redis-cli in `dir`: (exit code, stderr, changes made,
/// the argument log). `hook_args` follow the role in every hook (shell text, as a user writes
/// it); `old_auth` is OLD_REDISCLI_AUTH.
fn fake_copy(
    dir: &Path,
    world: &FakeWorld,
    hook_args: &str,
    old_auth: Option<&str>,
) -> (Option<i32>, String, String, String) {
    let fake = dir.join("fake-redis-cli");
    std::fs::write(&fake, FAKE_REDIS_CLI).unwrap_or_else(|e| panic!("{e}"));
    let (changes, args) = (dir.join("changes"), dir.join("args"));
    let _ = std::fs::remove_file(&changes);
    let _ = std::fs::remove_file(&args);
    // Unquoted: the scratch path has no space, and a hook of plain words works with any
    // version of the script.
    let hook = |role: &str| format!("sh {} {role}{hook_args}", fake.display());
    let mut command = Command::new("sh");
    command
        .arg(dir.join("out/migration/migrate.sh"))
        .arg("copy")
        .env("OLD_REDIS", hook("old"))
        .env("NEW_REDIS", hook("new"))
        .env("SENTINEL", hook("sentinel"))
        .env_remove("REDISCLI_AUTH")
        .env("FAKE_CLIENTS", world.clients)
        .env("FAKE_KEYS", world.keys)
        .env("FAKE_VERSION", world.old_version)
        .env("FAKE_PROBE", world.probe)
        .env("FAKE_CHANGES", &changes)
        .env("FAKE_ARGS", &args)
        .env("SYNC_TIMEOUT_SECONDS", "0")
        .env("LINK_TIMEOUT_SECONDS", "0");
    if world.old_down {
        command.env("FAKE_OLD_DOWN", "1");
    }
    if let Some(auth) = old_auth {
        command.env("OLD_REDISCLI_AUTH", auth);
    }
    let output = command.output().unwrap_or_else(|e| panic!("{e}"));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        std::fs::read_to_string(&changes).unwrap_or_default(),
        std::fs::read_to_string(&args).unwrap_or_default(),
    )
}

fn rendered_fixture(name: &str) -> PathBuf {
    let dir = scratch_with_base(name);
    let rendered = render_out(&fixture().join("profile.yaml"), &dir.join("out"));
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    dir
}

/// The states in which copying would lose data are refused before anything is changed.
#[test]
fn migrate_sh_refuses_to_copy_while_sentinels_watch_or_over_existing_data() {
    if support::require_tool("sh").is_none() {
        return;
    }
    let dir = rendered_fixture("refusals");
    let watched = FakeWorld {
        clients: "id=7 addr=10.0.0.9:40000 name=sentinel-3f2a91c0-cmd db=0",
        ..HEALTHY
    };
    let (code, said, changes, _) = fake_copy(&dir, &watched, "", None);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("Sentinels are connected"), "{said}");
    assert_eq!(changes, "", "a refused copy changed something");
    let full = FakeWorld {
        keys: "12",
        ..HEALTHY
    };
    let (code, said, changes, _) = fake_copy(&dir, &full, "", None);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("holds 12 keys"), "{said}");
    assert_eq!(changes, "", "a refused copy changed something");
    // Empty and unwatched: copy goes ahead (and reconfigures the master).
    let (_, said, changes, _) = fake_copy(&dir, &HEALTHY, "", None);
    assert!(
        changes.contains("new REPLICAOF redis-service 6379"),
        "{changes}\n{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An old Redis that cannot be migrated stops `copy` at once, with the reason, before
/// anything changes: too old, refusing the password the new master replicates with, or
/// unreachable.
#[test]
fn migrate_sh_copy_fails_fast_and_changes_nothing() {
    if support::require_tool("sh").is_none() {
        return;
    }
    let dir = rendered_fixture("fail-fast");
    let cases = [
        (
            FakeWorld {
                old_version: "6.0.9",
                ..HEALTHY
            },
            "the old Redis is 6.0.9; the migration needs 6.2.0 or later",
        ),
        (
            FakeWorld {
                probe: "WRONGPASS invalid username-password pair or user is disabled.",
                ..HEALTHY
            },
            "the old Redis refuses the password redis-master-0 replicates with",
        ),
        (
            FakeWorld {
                probe: "NOAUTH Authentication required.",
                ..HEALTHY
            },
            "the old Redis needs a password",
        ),
        (
            FakeWorld {
                old_down: true,
                ..HEALTHY
            },
            "OLD_REDIS could not run",
        ),
    ];
    for (world, expected) in &cases {
        let started = std::time::Instant::now();
        let (code, said, changes, _) = fake_copy(&dir, world, "", None);
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains(expected), "`{expected}` not in:\n{said}");
        assert_eq!(changes, "", "a refused copy changed something:\n{said}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Hooks are shell text whose quoting holds, and the old Redis's password travels as
/// REDISCLI_AUTH, never as a word of a command line: a password with a space, quotes, a
/// glob and a `$` arrives intact.
#[test]
fn migrate_sh_hooks_take_any_password() {
    if support::require_tool("sh").is_none() {
        return;
    }
    let dir = rendered_fixture("hooks");
    let password = "pa ss* \"q' $HOME";
    // Hooks with a quoted argument, as a user writes them.
    let (_, said, _, args) = fake_copy(&dir, &HEALTHY, " -a 'pa ss*'", Some(password));
    let calls: Vec<&str> = args.split("--- ").filter(|c| !c.is_empty()).collect();
    for role in ["old", "new"] {
        assert!(
            calls.iter().any(|c| c.starts_with(role)),
            "no {role} call:\n{said}"
        );
    }
    for call in &calls {
        let mut lines = call.lines();
        let first = lines.next().unwrap_or_default();
        // Only the old Redis's calls carry its password.
        let auth = if first.starts_with("old ") {
            password
        } else {
            "unset"
        };
        assert!(first.ends_with(&format!(" REDISCLI_AUTH={auth}")), "{call}");
        assert_eq!(lines.next(), Some("-a"), "{call}");
        assert_eq!(lines.next(), Some("pa ss*"), "{call}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
