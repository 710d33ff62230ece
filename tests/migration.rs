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

mod support;

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

#[test]
fn a_migration_base_that_does_not_exist_is_an_error_with_its_position() {
    let dir = scratch_with_base("missing-base");
    let profile = dir.join("profile.yaml");
    let text = std::fs::read_to_string(fixture().join("profile.yaml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace("base: ../base", "base: ../bsae");
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
    if let Some(why) = redis_sentinel_gen::rehearse::missing_prerequisites() {
        assert!(
            !support::in_ci(),
            "the migration rehearsal must run in CI: {why}"
        );
        eprintln!("\n!!!!!!!!!!\nSKIPPED: migration rehearsal: {why}\n!!!!!!!!!!\n");
        return;
    }
    for tool in ["redis-cli", "sh"] {
        if support::require_tool(tool).is_none() {
            return;
        }
    }
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
/// feature); `tests/monitoring.rs` checks those.
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

/// `migrate.sh` against a fake redis-cli (a shell script answering from canned replies):
/// the states in which copying would lose data are refused before anything is changed.
#[test]
fn migrate_sh_refuses_to_copy_while_sentinels_watch_or_over_existing_data() {
    let Some(sh) = support::require_tool("sh") else {
        return;
    };
    let dir = scratch_with_base("refusals");
    let out = dir.join("out");
    let rendered = render_out(&fixture().join("profile.yaml"), &out);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    // Answers like a fresh master; CLIENT LIST and DBSIZE come from the environment; any
    // command that would change something is recorded.
    let fake = dir.join("fake-redis-cli");
    std::fs::write(
        &fake,
        "#!/bin/sh\n\
         case \"$*\" in\n\
         'INFO replication') printf 'role:master\\r\\nconnected_slaves:2\\r\\n' ;;\n\
         'CLIENT LIST') printf '%s\\n' \"$FAKE_CLIENTS\" ;;\n\
         DBSIZE) printf '%s\\n' \"$FAKE_KEYS\" ;;\n\
         *) printf '%s\\n' \"$*\" >>\"$FAKE_CHANGES\"; echo OK ;;\n\
         esac\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let changes = dir.join("changes");
    let run = |clients: &str, keys: &str| {
        Command::new(&sh)
            .arg(out.join("migration/migrate.sh"))
            .arg("copy")
            .env("OLD_REDIS", format!("sh {}", fake.display()))
            .env("NEW_REDIS", format!("sh {}", fake.display()))
            .env("SENTINEL", format!("sh {}", fake.display()))
            .env("FAKE_CLIENTS", clients)
            .env("FAKE_KEYS", keys)
            .env("FAKE_CHANGES", &changes)
            .env("SYNC_TIMEOUT_SECONDS", "0")
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let watched = run(
        "id=7 addr=10.0.0.9:40000 name=sentinel-3f2a91c0-cmd db=0",
        "0",
    );
    let said = String::from_utf8_lossy(&watched.stderr);
    assert_eq!(watched.status.code(), Some(1), "{said}");
    assert!(said.contains("Sentinels are connected"), "{said}");
    let full = run("id=8 addr=10.0.0.9:40001 name= db=0", "12");
    let said = String::from_utf8_lossy(&full.stderr);
    assert_eq!(full.status.code(), Some(1), "{said}");
    assert!(said.contains("holds 12 keys"), "{said}");
    assert!(!changes.exists(), "a refused copy changed something");
    // The same fake, empty and unwatched: copy goes ahead (and reconfigures the master).
    let _ = run("id=8 addr=10.0.0.9:40001 name= db=0", "0");
    let made = std::fs::read_to_string(&changes).unwrap_or_default();
    assert!(made.contains("REPLICAOF redis-service 6379"), "{made}");
    let _ = std::fs::remove_dir_all(&dir);
}
