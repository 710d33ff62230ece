//! Validation rules, judged on the reference profile with one edit each.

use super::images::redis_version;
use super::names::dns_subdomain_problem;
use super::*;
use crate::profile::defaults;
use crate::profile::load::{Source, load};

/// `str::replace` for editing the default profile, except that the needle must be found
/// exactly once: a stale needle would leave the profile valid, and a test that expects "no
/// finding" would pass without testing anything.
trait ReplaceOnce {
    fn replace_once(&self, needle: &str, with: &str) -> String;
}

impl ReplaceOnce for str {
    #[track_caller]
    fn replace_once(&self, needle: &str, with: &str) -> String {
        let found = self.matches(needle).count();
        assert!(
            found == 1,
            "replace_once: {needle:?} is found {found} times, not once"
        );
        self.replacen(needle, with, 1)
    }
}

#[test]
#[should_panic(expected = "replace_once: \"quorum: 9\" is found 0 times, not once")]
fn a_stale_needle_is_an_error() {
    findings(|t| t.replace_once("quorum: 9", "quorum: 1"));
}

/// Findings for the embedded default profile with `edit` applied to its text.
fn findings(edit: impl Fn(&str) -> String) -> Vec<Finding> {
    let source = Source {
        name: "t.yaml".into(),
        text: edit(&Source::embedded_default().text),
    };
    match load(&source) {
        Ok(loaded) => validate(&loaded.profile, &loaded.map),
        Err(findings) => findings,
    }
}

fn fields(findings: &[Finding]) -> Vec<&str> {
    findings.iter().filter_map(|f| f.field.as_deref()).collect()
}

#[test]
fn the_default_profile_is_valid() {
    assert_eq!(findings(str::to_string), vec![]);
}

#[test]
fn quorum_must_be_the_majority() {
    let found = findings(|t| t.replace_once("quorum: 2", "quorum: 1"));
    assert_eq!(fields(&found), ["spec.sentinel.quorum"]);
    assert!(
        found[0]
            .valid
            .as_deref()
            .is_some_and(|v| v.starts_with("2 (⌊3/2⌋ + 1)"))
    );
    let found =
        findings(|t| t.replace_once("replicas: 3\n    quorum: 2", "replicas: 5\n    quorum: 2"));
    assert!(
        found[0]
            .valid
            .as_deref()
            .is_some_and(|v| v.starts_with("3 (⌊5/2⌋ + 1)"))
    );
    assert_eq!(defaults::quorum_for(7), 4);
}

#[test]
fn one_sentinel_is_an_error_unless_development() {
    let one = |t: &str| t.replace_once("replicas: 3\n    quorum: 2", "replicas: 1");
    let found = findings(one);
    assert_eq!(fields(&found), ["spec.sentinel.replicas"]);
    assert!(found[0].is_error());
    let found = findings(|t| one(t).replace_once("spec:\n", "spec:\n  development: true\n"));
    assert_eq!(fields(&found), ["spec.sentinel.replicas"]);
    assert!(!found[0].is_error());
}

#[test]
fn image_versions() {
    assert_eq!(redis_version("7.2.5-alpine"), Some((7, 2, 5)));
    assert_eq!(redis_version("7.0"), Some((7, 0, u64::MAX)));
    assert_eq!(redis_version("latest"), None);
    assert_eq!(redis_version("7.x"), None);
    let image = |tag: &'static str| move |t: &str| t.replace_once("redis:7.2.5-alpine", tag);
    assert!(findings(image("redis:7.0.5"))[0].is_error());
    assert!(findings(image("redis:6.2.14-alpine"))[0].is_error());
    assert_eq!(findings(image("registry.local:5000/redis:7.0.8")), vec![]);
    assert!(!findings(image("redis:latest"))[0].is_error());
    assert!(!findings(image("redis"))[0].is_error());
    let pinned: &'static str =
        "redis@sha256:0f97c1c9f5a3b6c4d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9";
    assert!(!findings(image(pinned))[0].is_error());
    for bad in [
        "redis@sha256:0f97c1c9",
        "Redis:7.2.5",
        "redis:7.2.5:7.2.5",
        "\"redis:\"",
        "\"@\"",
    ] {
        let found = findings(image(bad));
        assert_eq!(fields(&found), ["spec.image"], "{bad}");
        assert!(found[0].is_error(), "{bad}");
    }
    for moving in ["redis:7.0", "redis:7"] {
        let found = findings(image(moving));
        assert_eq!(fields(&found), ["spec.image"], "{moving}");
        assert!(!found[0].is_error(), "{moving}");
    }
}

#[test]
fn names_and_injection() {
    assert_eq!(
        fields(&findings(
            |t| t.replace_once("name: welcomebot\n", "name: Welcome_bot\n")
        )),
        ["metadata.name"]
    );
    assert_eq!(
        fields(&findings(|t| t.replace_once(
            "masterName: welcomebot-master",
            "masterName: \"a b\""
        ))),
        ["spec.masterName"]
    );
    assert_eq!(
        fields(&findings(|t| t.replace_once(
            "spec:\n",
            "spec:\n  namePrefix: a-very-long-prefix-for-every-object-name-\n"
        ))),
        ["spec.namePrefix"]
    );
    let dup = |t: &str| t.replace_once("name: welcomebot-worker", "name: welcomebot-master");
    assert_eq!(fields(&findings(dup)), ["spec.clients[1].name"]);
    assert_eq!(
        dns_subdomain_problem("a..b").as_deref(),
        Some("an empty part (two dots in a row, or a dot at an end)")
    );
    assert_eq!(dns_subdomain_problem("cluster.local"), None);
}

#[test]
fn clients_and_removed_objects_may_not_be_generated_objects() {
    let found = findings(|t| {
        t.replace_once(
            "{ kind: Deployment, name: welcomebot-worker",
            "{ kind: StatefulSet, name: redis-sentinel",
        )
    });
    assert_eq!(fields(&found), ["spec.clients[1].name"], "{found:?}");
    for service in ["redis-metrics", "redis-sentinel-metrics", "redis-sentinel"] {
        let found =
            findings(|t| t.replace_once("host: redis-service", &format!("host: {service}")));
        assert_eq!(fields(&found), ["spec.migration.from.host"], "{service}");
    }
}

#[test]
fn resources_must_be_quantities_and_requests_within_limits() {
    let found = findings(|t| {
        t.replace_once(
            "limits: { cpu: \"1\", memory: 512Mi }",
            "limits: { cpu: \"1\", memory: 128Mi }",
        )
    });
    assert_eq!(fields(&found), ["spec.redis.resources.limits.memory"]);
    let found = findings(|t| t.replace_once("size: 5Gi", "size: 5GB"));
    assert_eq!(fields(&found), ["spec.redis.storage.size"]);
    let found =
        findings(|t| t.replace_once("quorum: 2\n", "quorum: 2\n    storage: { size: \"0\" }\n"));
    assert_eq!(fields(&found), ["spec.sentinel.storage.size"]);
    let found = findings(|t| {
        t.replace_once(
            "quorum: 2\n",
            "quorum: 2\n    storage: { storageClassName: Fast_SSD }\n",
        )
    });
    assert_eq!(fields(&found), ["spec.sentinel.storage.storageClassName"]);
}

#[test]
fn maxmemory_must_fit_the_memory_limit() {
    let with = |value: &str| {
        findings(move |t| {
            t.replace_once(
                "minReplicasMaxLag: 10\n",
                &format!("minReplicasMaxLag: 10\n    maxmemory: {value}\n"),
            )
        })
    };
    // 512Mi, 2 replicas: ceiling 416Mi, default 208Mi.
    assert!(with("208Mi").is_empty());
    let found = with("300Mi");
    assert_eq!(fields(&found), ["spec.redis.maxmemory"]);
    assert!(!found[0].is_error(), "above the default is a warning");
    for bad in ["417Mi", "0", "5GB"] {
        let found = with(bad);
        assert_eq!(fields(&found), ["spec.redis.maxmemory"], "{bad}");
        assert!(found[0].is_error(), "{bad}");
    }
    // Without maxmemory, a limit too small to hold a whole MiB of dataset beside the
    // buffers of 15 replicas is an error.
    let found = findings(|t| {
        t.replace_once("replicas: 2\n", "replicas: 15\n")
            .replace_once("512Mi", "2Mi")
            .replace_once("memory: 256Mi", "memory: 2Mi")
    });
    assert!(
        fields(&found).contains(&"spec.redis.resources.limits.memory"),
        "{found:?}"
    );
}
