//! Items the function does not own: with kpt fn eval and kpt fn render they come back as a
//! pass-through function returns them, at any size, and one with a generated object's name
//! stops the run.

use std::fmt::Write as _;

use super::{
    BIN, Kpt, assert_carried_like_pass_through, carried_like_pass_through, kpt_eval, profile_text,
    read_tree, scratch, text, write,
};
use crate::support;

/// Everything the issue found rewritten, in items the function does not own.
const ODD: &str = "\
# a comment above
apiVersion: v1
kind: ConfigMap
metadata:
  name: odd # a trailing comment
  namespace: welcomebot
data:
  y: \"2\"
  on: \"enabled\"
---
apiVersion: example.com/v1
kind: Thing
metadata:
  name: thing
spec:
  mode: off
  big: 12345678901234567890123
  version: 1.10
  inf: .inf
  nan: .nan
  bin: !!binary aGVsbG8=
  custom: !Custom thing
  base: &b {a: 1}
  ref: *b
  octal: 0777
  when: 2024-01-01
";

const APP: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: welcomebot-master
  namespace: welcomebot
spec:
  template:
    spec:
      containers:
        - name: welcomebot-master
          image: example.com/welcomebot:1.4.2
          args: [--mode, off, '1.10']
          env:
            - name: REDIS_ADDR
              value: redis-service:6379
            - name: FEATURE
              value: \"on\"
";

#[test]
fn kpt_gets_foreign_items_back_as_a_pass_through_returns_them() {
    let Some(kpt) = support::require_tool("kpt") else {
        return;
    };
    let root = scratch("odd");
    let package = root.join("package");
    write(&package.join("profile.yaml"), &profile_text());
    write(&package.join("odd.yaml"), ODD);
    write(&package.join("app.yaml"), APP);
    assert_carried_like_pass_through(&kpt, &package, &["app.yaml"]);

    let odd = std::fs::read_to_string(root.join("ours/odd.yaml")).unwrap_or_default();
    for kept in [
        "  y: \"2\"\n  on: \"enabled\"\n",
        "mode: off\n",
        "big: 12345678901234567890123\n",
        "version: 1.10\n",
        "inf: .inf\n",
        "bin: !!binary aGVsbG8=\n",
        "custom: !Custom thing\n",
        "base: &b {a: 1}\n  ref: *b\n",
        "name: odd # a trailing comment\n",
    ] {
        assert!(odd.contains(kept), "`{kept}` lost:\n{odd}");
    }
    // The switched client keeps what the switch does not touch, with its YAML 1.2 meaning.
    let app = std::fs::read_to_string(root.join("ours/app.yaml")).unwrap_or_default();
    let values: serde_json::Value =
        serde_saphyr::from_str(&app).unwrap_or_else(|e| panic!("{e}\n{app}"));
    let container = &values["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["args"],
        serde_json::json!(["--mode", "off", "1.10"]),
        "{app}"
    );
    let env = container["env"].as_array().cloned().unwrap_or_default();
    assert!(
        env.iter()
            .any(|e| e["name"] == "FEATURE" && e["value"] == "on"),
        "{app}"
    );
    assert!(!app.contains("REDIS_ADDR"), "{app}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn kpt_carries_ten_thousand_items_and_a_deeply_nested_crd() {
    let Some(kpt) = support::require_tool("kpt") else {
        return;
    };
    let _turn = support::heavy_turn();
    let root = scratch("large");
    let package = root.join("package");
    write(&package.join("profile.yaml"), &profile_text());
    let mut many = String::new();
    for index in 0..10_000 {
        let _ = write!(
            many,
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{index}\ndata:\n  \
             n: {index}\n  on: off\n"
        );
    }
    write(&package.join("many.yaml"), &many);
    // A CRD schema nested 150 levels deep (the packages failed beyond 64).
    let mut crd = String::from(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
         name: deeps.example.com\nspec:\n  schema:\n",
    );
    for level in 0..150 {
        let pad = "  ".repeat(level + 2);
        let _ = write!(crd, "{pad}properties:\n{pad}  level{level}:\n");
    }
    let _ = writeln!(crd, "{}type: string", "  ".repeat(152));
    write(&package.join("crd.yaml"), &crd);
    for how in [Kpt::Eval, Kpt::Render] {
        let started = std::time::Instant::now();
        // The Kptfiles differ by the function they name.
        carried_like_pass_through(&kpt, how, &package, &["Kptfile"]);
        eprintln!(
            "10,000 items + deep CRD through kpt fn {} (function and pass-through): {:?}",
            match how {
                Kpt::Eval => "eval",
                Kpt::Render => "render",
            },
            started.elapsed()
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn kpt_refuses_to_overwrite_an_object_the_function_does_not_own() {
    let Some(kpt) = support::require_tool("kpt") else {
        return;
    };
    let root = scratch("namesake");
    let package = root.join("package");
    write(&package.join("profile.yaml"), &profile_text());
    let theirs = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: redis-sentinel\n  \
                  namespace: welcomebot\nspec:\n  replicas: 1 # hand-written\n";
    write(&package.join("theirs.yaml"), theirs);
    let before = read_tree(&package);
    let output = kpt_eval(&kpt, &package, BIN);
    let said = text(&output);
    assert!(!output.status.success(), "kpt accepted it:\n{said}");
    for needle in [
        "StatefulSet welcomebot/redis-sentinel in theirs.yaml",
        "from profile.yaml",
        "not generated by redis-sentinel-gen",
    ] {
        assert!(said.contains(needle), "`{needle}` not in:\n{said}");
    }
    assert_eq!(before, read_tree(&package), "the package changed");
    let _ = std::fs::remove_dir_all(&root);
}
