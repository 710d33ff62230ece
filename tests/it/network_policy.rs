//! NetworkPolicies (issue 6), read back from the rendered stream: for every pod of the
//! deployment and every port, exactly the intended peers are admitted, and egress reaches
//! only Redis, Sentinel and DNS.
//!
//! The evaluator of NetworkPolicy semantics is `support::network_policy`.

use crate::support;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::networking::v1::NetworkPolicy;

use support::network_policy::{Cluster, Labels, Peer, labels};

fn of_kind<T: serde::de::DeserializeOwned>(rendered: &str, kind: &str) -> Vec<T> {
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(rendered).expect("rendered output is a YAML stream");
    docs.into_iter()
        .filter(|d| d["kind"] == kind)
        .map(|d| serde_json::from_value(d).expect("object parses"))
        .collect()
}

fn pod_labels_of(set: &StatefulSet) -> Labels {
    set.spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .expect("pod labels")
}

#[test]
fn every_port_admits_exactly_the_intended_peers() {
    for (profile, client, monitoring_ns) in [
        // The reference profile admits its clients by the label the client patches add;
        // ha-5 also names `clientPodLabels`, which admit further pods.
        (
            "welcomebot.yaml",
            ("client.redis-sentinel-gen/welcomebot", "true"),
            "monitoring",
        ),
        ("ha-5.yaml", ("app", "api"), "observability"),
    ] {
        let rendered =
            support::render_profile(&support::repo_root().join("profiles").join(profile));
        let sets: Vec<StatefulSet> = of_kind(&rendered, "StatefulSet");
        let namespace_name = sets[0].metadata.namespace.clone().expect("namespace");
        let namespace = labels(&[("kubernetes.io/metadata.name", &namespace_name)]);
        let cluster = Cluster {
            policies: of_kind(&rendered, "NetworkPolicy"),
            namespace: namespace.clone(),
        };
        let pod = |name: &str| {
            pod_labels_of(
                sets.iter()
                    .find(|s| s.metadata.name.as_deref() == Some(name))
                    .unwrap_or_else(|| panic!("{profile}: no StatefulSet {name}")),
            )
        };
        let (master, replica, sentinel) = (
            pod("redis-master"),
            pod("redis-replica"),
            pod("redis-sentinel"),
        );
        let jobs: Vec<CronJob> = of_kind(&rendered, "CronJob");
        let backup = jobs[0]
            .spec
            .as_ref()
            .and_then(|s| s.job_template.spec.as_ref())
            .and_then(|j| j.template.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .expect("backup pod labels");

        let in_ns = |what, pod: &Labels| Peer {
            what,
            namespace: namespace.clone(),
            pod: pod.clone(),
        };
        let peers = [
            in_ns("redis master", &master),
            in_ns("redis replica", &replica),
            in_ns("sentinel", &sentinel),
            in_ns("backup job", &backup),
            in_ns("client", &labels(&[client])),
            // A pod of the namespace that is not a client: the policies' whole point.
            in_ns("other pod", &labels(&[("app", "something-else")])),
            // A client of another deployment in the same namespace.
            in_ns(
                "other instance's client",
                &labels(&[("client.redis-sentinel-gen/other", "true")]),
            ),
            // Prometheus in the monitoring namespace, and the same labels elsewhere.
            Peer {
                what: "prometheus",
                namespace: labels(&[("kubernetes.io/metadata.name", monitoring_ns)]),
                pod: labels(&[("app.kubernetes.io/name", "prometheus")]),
            },
            Peer {
                what: "prometheus elsewhere",
                namespace: labels(&[("kubernetes.io/metadata.name", "default")]),
                pod: labels(&[("app.kubernetes.io/name", "prometheus")]),
            },
            // A client's labels in another namespace.
            Peer {
                what: "client elsewhere",
                namespace: labels(&[("kubernetes.io/metadata.name", "default")]),
                pod: labels(&[client]),
            },
        ];

        let redis_ok = [
            "redis master",
            "redis replica",
            "sentinel",
            "backup job",
            "client",
        ];
        let sentinel_ok = redis_ok;
        let expectations: [(&str, &Labels, u16, &[&str]); 8] = [
            ("redis master", &master, 6379, &redis_ok),
            ("redis replica", &replica, 6379, &redis_ok),
            ("sentinel", &sentinel, 26379, &sentinel_ok),
            ("redis master", &master, 9121, &["prometheus"]),
            ("redis replica", &replica, 9121, &["prometheus"]),
            ("sentinel", &sentinel, 9121, &["prometheus"]),
            // Redis ports of the other role are closed; nothing reaches the backup job.
            ("redis master", &master, 26379, &[]),
            ("backup job", &backup, 6379, &[]),
        ];
        for (target, to, port, allowed) in expectations {
            let admitted: Vec<&str> = peers
                .iter()
                .filter(|from| cluster.admits(from, to, port))
                .map(|from| from.what)
                .collect();
            assert_eq!(
                admitted, allowed,
                "{profile}: who may connect to {target} port {port}"
            );
        }
        assert!(
            !cluster.admits(&peers[4], &sentinel, 6379),
            "client to sentinel:6379"
        );

        // Egress: Redis on 6379, Sentinel on 26379 and DNS; nothing else.
        let any = Peer {
            what: "anything",
            namespace: labels(&[("kubernetes.io/metadata.name", "kube-system")]),
            pod: labels(&[("k8s-app", "kube-dns")]),
        };
        for (what, from) in [
            ("redis", &master),
            ("sentinel", &sentinel),
            ("backup", &backup),
        ] {
            assert!(
                cluster.allows_egress(from, &peers[1], 6379, "TCP"),
                "{what} → redis"
            );
            assert!(
                cluster.allows_egress(from, &peers[2], 26379, "TCP"),
                "{what} → sentinel"
            );
            assert!(
                cluster.allows_egress(from, &any, 53, "UDP"),
                "{what} → DNS/UDP"
            );
            assert!(
                cluster.allows_egress(from, &any, 53, "TCP"),
                "{what} → DNS/TCP"
            );
            assert!(
                !cluster.allows_egress(from, &any, 443, "TCP"),
                "{what} → 443"
            );
            assert!(
                !cluster.allows_egress(from, &peers[4], 6379, "TCP"),
                "{what} → client"
            );
            assert!(
                !cluster.allows_egress(from, &peers[1], 26379, "TCP"),
                "{what} → redis:26379"
            );
        }
    }
}

#[test]
fn a_profile_without_network_policy_renders_none() {
    let rendered = support::render_profile(&support::repo_root().join("profiles").join("dev.yaml"));
    assert!(of_kind::<NetworkPolicy>(&rendered, "NetworkPolicy").is_empty());
}
