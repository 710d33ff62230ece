//! Every migration phase and the `clients/` Component over the foreign base, built with the
//! real `kubectl kustomize`, judged and validated strictly.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::judge::{
    admission_problems, cluster, refused_env_entries, switch_problems, write_stream,
};
use super::{BOTS, PHASES, bot, container, kustomize, scratch};
use crate::support;
use crate::support::render_out;

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
