//! Monitoring (issue 6): the rendered PrometheusRule is a valid Prometheus rule file
//! (`promtool check rules`), its alerts fire and stay quiet as intended (`promtool test rules`
//! with tests/alerts/), and every metric they read is one Debian's `prometheus-redis-exporter`
//! really exposes when it scrapes a real redis-server and redis-sentinel, configured by the
//! env of the rendered sidecars.

use crate::support;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Container;
use redis_sentinel_gen::render::monitoring::{AlertRule, PrometheusRule, ServiceMonitor};

/// Loopback addresses of this test (issue 6 owns 127.0.0.140–179).
const MASTER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 160);
const REPLICA_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 161);
const SENTINEL_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 162);
const PASSWORD: &str = "monitoring-test-password";

fn documents(rendered: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple(rendered).expect("rendered output is a YAML stream")
}

fn of_kind<T: serde::de::DeserializeOwned>(rendered: &str, kind: &str) -> Vec<T> {
    documents(rendered)
        .into_iter()
        .filter(|d| d["kind"] == kind)
        .map(|d| serde_json::from_value(d).unwrap_or_else(|e| panic!("{kind} does not parse: {e}")))
        .collect()
}

fn welcomebot() -> String {
    support::render_profile(
        &support::repo_root()
            .join("profiles")
            .join("welcomebot.yaml"),
    )
}

fn prometheus_rule(rendered: &str) -> Option<PrometheusRule> {
    let mut rules: Vec<PrometheusRule> = of_kind(rendered, "PrometheusRule");
    assert!(rules.len() <= 1, "more than one PrometheusRule");
    rules.pop()
}

fn alerts(rule: &PrometheusRule) -> Vec<&AlertRule> {
    rule.spec.groups.iter().flat_map(|g| &g.rules).collect()
}

/// The PrometheusRule's `spec` is a Prometheus rule file: write it as one.
fn write_rule_file(rule: &PrometheusRule, path: &Path) {
    let text = serde_saphyr::to_string(&rule.spec).expect("rule spec serializes");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// A directory of this process: a second `cargo test` in the same checkout must not wipe it.
fn temp_dir(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn the_reference_profile_ships_every_required_alert_fully_annotated() {
    let rendered = welcomebot();
    let rule = prometheus_rule(&rendered).expect("monitoring is on in the reference profile");
    let alerts = alerts(&rule);
    let names: BTreeSet<&str> = alerts.iter().map(|a| a.alert.as_str()).collect();
    for required in [
        "RedisSentinelFailover",
        "RedisSentinelNoQuorum",
        "RedisSentinelsMissing",
        "RedisSentinelTilt",
        "RedisNoMaster",
        "RedisMultipleMasters",
        "RedisReplicaLinkDown",
        "RedisTooFewReplicas",
        "RedisPersistenceFailing",
    ] {
        assert!(names.contains(required), "no alert {required} in {names:?}");
    }
    for alert in alerts {
        let severity = alert.labels.get("severity").map(String::as_str);
        assert!(
            matches!(severity, Some("critical" | "warning")),
            "{}: severity {severity:?}",
            alert.alert
        );
        for key in ["summary", "description"] {
            assert!(
                alert.annotations.get(key).is_some_and(|v| !v.is_empty()),
                "{}: no {key}",
                alert.alert
            );
        }
        let runbook = &alert.annotations["runbook_url"];
        let anchor = runbook.strip_prefix("RUNBOOK.md#").unwrap_or_default();
        assert!(
            !anchor.is_empty() && anchor.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}: runbook_url {runbook:?} is not a RUNBOOK.md section",
            alert.alert
        );
        // Scoped to this deployment: every selector names its namespace.
        assert!(
            alert.expr.contains(r#"namespace="welcomebot""#),
            "{}: {}",
            alert.alert,
            alert.expr
        );
    }

    // The ServiceMonitor selects exactly the two metrics Services, by their port name.
    let monitors: Vec<ServiceMonitor> = of_kind(&rendered, "ServiceMonitor");
    assert_eq!(monitors.len(), 1);
    let selector = monitors[0]
        .spec
        .selector
        .match_labels
        .clone()
        .unwrap_or_default();
    let services: Vec<k8s_openapi::api::core::v1::Service> = of_kind(&rendered, "Service");
    let selected: Vec<String> = services
        .iter()
        .filter(|s| {
            let labels = s.metadata.labels.clone().unwrap_or_default();
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .map(|s| s.metadata.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(selected, ["redis-metrics", "redis-sentinel-metrics"]);
    for service in services
        .iter()
        .filter(|s| selected.contains(s.metadata.name.as_ref().expect("Service name")))
    {
        let ports = service
            .spec
            .as_ref()
            .and_then(|s| s.ports.clone())
            .unwrap_or_default();
        assert_eq!(ports.len(), 1);
        assert_eq!(
            ports[0].name.as_deref(),
            Some(monitors[0].spec.endpoints[0].port.as_str())
        );
    }
}

#[test]
fn a_profile_without_monitoring_renders_no_monitoring_objects() {
    let rendered = support::render_profile(&support::repo_root().join("profiles").join("dev.yaml"));
    assert!(prometheus_rule(&rendered).is_none());
    assert!(!rendered.contains("ServiceMonitor") && !rendered.contains("redis_exporter"));
}

#[test]
fn promtool_accepts_the_rules_of_every_profile() {
    let Some(promtool) = support::require_tool("promtool") else {
        return;
    };
    let dir = temp_dir("promtool-check");
    let mut checked = 0;
    for profile in support::shipped_profiles()
        .into_iter()
        .chain(support::edge_profiles())
    {
        let Some(rule) = prometheus_rule(&support::render_profile(&profile)) else {
            continue;
        };
        let file = dir.join(format!(
            "{}.rules.yaml",
            profile.file_stem().unwrap_or_default().to_string_lossy()
        ));
        write_rule_file(&rule, &file);
        let output = Command::new(&promtool)
            .args(["check", "rules"])
            .arg(&file)
            .output()
            .expect("promtool runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "promtool check rules {}:\n{stdout}\n{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains(&format!("SUCCESS: {} rules found", alerts(&rule).len())),
            "{stdout}"
        );
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} profiles have monitoring");
}

#[test]
fn promtool_unit_tests_of_the_alerts_pass() {
    let Some(promtool) = support::require_tool("promtool") else {
        return;
    };
    let dir = temp_dir("promtool-test");
    let rule = prometheus_rule(&welcomebot()).expect("PrometheusRule");
    write_rule_file(&rule, &dir.join("rules.yaml"));
    let test_file = dir.join("welcomebot.test.yaml");
    std::fs::copy(
        support::repo_root().join("tests/alerts/welcomebot.test.yaml"),
        &test_file,
    )
    .expect("copy the unit tests");
    let output = Command::new(&promtool)
        .args(["test", "rules"])
        .arg(&test_file)
        .output()
        .expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool test rules:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Metric names against the real exporter

/// Child processes killed when the test ends, also on panic.
struct Processes(Vec<Child>);

impl Processes {
    fn spawn(&mut self, command: &mut Command) {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        self.0.push(child);
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_for_port(ip: Ipv4Addr, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((ip, port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {ip}:{port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// HTTP/1.0 GET of `path` on `addr`: the body of a 200 answer, else `None`.
fn http_get(addr: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_string()))
}

/// The metrics sidecar of a rendered StatefulSet.
fn exporter_of(rendered: &str, statefulset: &str) -> Container {
    let sets: Vec<StatefulSet> = of_kind(rendered, "StatefulSet");
    let set = sets
        .into_iter()
        .find(|s| s.metadata.name.as_deref() == Some(statefulset))
        .unwrap_or_else(|| panic!("no StatefulSet {statefulset}"));
    set.spec
        .and_then(|s| s.template.spec)
        .map(|p| p.containers)
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.name == "metrics")
        .unwrap_or_else(|| panic!("{statefulset} has no metrics sidecar"))
}

/// Start the exporter the way the sidecar `container` is configured: its env, with the
/// Secret's password, and `localhost` (the pod's own loopback) replaced by the emulated pod's
/// address. It listens on `listen` instead of every address of the pod.
fn start_exporter(
    exporter: &Path,
    container: &Container,
    pod_ip: Ipv4Addr,
    listen: Ipv4Addr,
    processes: &mut Processes,
) -> String {
    let mut command = Command::new(exporter);
    command.env_clear();
    for var in container.env.iter().flatten() {
        let value = if var.value_from.is_some() {
            PASSWORD.to_string()
        } else {
            var.value
                .clone()
                .unwrap_or_default()
                .replace("localhost", &pod_ip.to_string())
        };
        command.env(&var.name, value);
    }
    let port = container.ports.as_ref().expect("ports")[0].container_port;
    command.arg(format!("-web.listen-address={listen}:{port}"));
    processes.spawn(&mut command);
    format!("{listen}:{port}")
}

/// Metric names in a Prometheus expression: identifiers directly followed by a selector.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes: Vec<char> = expr.chars().collect();
    for (i, c) in bytes.iter().enumerate() {
        if *c != '{' {
            continue;
        }
        let start = bytes[..i]
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == ':'))
            .map_or(0, |p| p + 1);
        let name: String = bytes[start..i].iter().collect();
        if !name.is_empty() {
            names.insert(name);
        }
    }
    names
}

#[test]
fn every_metric_the_alerts_read_is_exposed_by_the_real_exporter() {
    let (Some(exporter), Some(server), Some(sentinel)) = (
        support::require_tool("prometheus-redis-exporter"),
        support::require_tool("redis-server"),
        support::require_tool("redis-sentinel"),
    ) else {
        return;
    };
    let _turn = support::real_redis_turn();
    let _lock = support::address_lock("exporter");
    let rendered = welcomebot();
    let rule = prometheus_rule(&rendered).expect("PrometheusRule");
    let dir = temp_dir("exporter");
    let mut processes = Processes(Vec::new());

    let redis = |ip: Ipv4Addr, extra: &[String]| {
        let data = dir.join(ip.to_string());
        std::fs::create_dir_all(&data).expect("data dir");
        let mut command = Command::new(&server);
        command.args([
            "--bind",
            &ip.to_string(),
            "--bind-source-addr",
            &ip.to_string(),
            "--port",
            "6379",
            "--requirepass",
            PASSWORD,
            "--masterauth",
            PASSWORD,
            "--save",
            "",
            "--dir",
        ]);
        command.arg(&data).args(extra);
        command
    };
    processes.spawn(&mut redis(MASTER_IP, &[]));
    wait_for_port(MASTER_IP, 6379);
    processes.spawn(&mut redis(
        REPLICA_IP,
        &["--replicaof".into(), MASTER_IP.to_string(), "6379".into()],
    ));
    wait_for_port(REPLICA_IP, 6379);
    let sentinel_conf = dir.join("sentinel.conf");
    std::fs::write(
        &sentinel_conf,
        format!(
            "bind {SENTINEL_IP}\nport 26379\nrequirepass {PASSWORD}\n\
             sentinel monitor welcomebot-master {MASTER_IP} 6379 1\n\
             sentinel auth-pass welcomebot-master {PASSWORD}\n"
        ),
    )
    .expect("sentinel.conf");
    processes.spawn(Command::new(&sentinel).arg(&sentinel_conf));
    wait_for_port(SENTINEL_IP, 26379);

    // Exporters listen on addresses of their own, next to the servers they scrape.
    let redis_exporter = exporter_of(&rendered, "redis-master");
    let sentinel_exporter = exporter_of(&rendered, "redis-sentinel");
    let urls = [
        start_exporter(
            &exporter,
            &redis_exporter,
            MASTER_IP,
            Ipv4Addr::new(127, 0, 0, 163),
            &mut processes,
        ),
        start_exporter(
            &exporter,
            &redis_exporter,
            REPLICA_IP,
            Ipv4Addr::new(127, 0, 0, 164),
            &mut processes,
        ),
        start_exporter(
            &exporter,
            &sentinel_exporter,
            SENTINEL_IP,
            Ipv4Addr::new(127, 0, 0, 165),
            &mut processes,
        ),
    ];

    // The probes' path answers.
    let probe_path = redis_exporter
        .readiness_probe
        .as_ref()
        .and_then(|p| p.http_get.as_ref())
        .and_then(|h| h.path.clone())
        .expect("HTTP readiness probe");
    let needed: BTreeSet<String> = alerts(&rule)
        .iter()
        .flat_map(|a| metric_names(&a.expr))
        // `up` is written by Prometheus itself for every target, not by the exporter.
        .filter(|name| name != "up")
        .collect();
    assert!(needed.len() >= 9, "too few metric names found: {needed:?}");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut exposed = BTreeSet::new();
        let mut all_up = true;
        for url in &urls {
            all_up &= http_get(url, &probe_path).is_some();
            let metrics = http_get(url, "/metrics").unwrap_or_default();
            // Authenticated: a wrong or missing password gives redis_up 0.
            all_up &= metrics.lines().any(|l| l == "redis_up 1");
            for line in metrics.lines().filter(|l| !l.starts_with('#')) {
                let name = line.split(['{', ' ']).next().unwrap_or_default();
                exposed.insert(name.to_string());
            }
        }
        let missing: Vec<&String> = needed.difference(&exposed).collect();
        if all_up && missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the exporter does not expose {missing:?} (all exporters up and authenticated: {all_up})"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
