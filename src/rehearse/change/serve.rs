//! The answers of the `kubectl` stand-in: each request of a printed line carried out on the
//! emulated cluster, as the API server and the controllers would.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::kubectl::{self, Answer, Request};
use super::{CLIENT_START, Measure, ROLLOUT_TIMEOUT, Run, Stage};
use crate::rehearse::client::{ClientEnv, Style, Writer};
use crate::rehearse::cluster::Cluster;
use crate::rehearse::rollout;

impl Run {
    /// Answer one `kubectl` call of the printed steps.
    pub(super) fn serve(&mut self, args: &[String], m: &mut Measure, new: &Stage) -> Answer {
        let invocation = match kubectl::parse(args) {
            Ok(i) => i,
            Err(e) => return Answer::error(format!("kubectl (rehearsal stand-in): {e:#}\n")),
        };
        if let Some(ns) = &invocation.namespace
            && *ns != new.dep.namespace
        {
            return Answer::error(format!(
                "Error from server (NotFound): namespaces \"{ns}\" not found\n"
            ));
        }
        match self.answer(invocation.request, m, new) {
            Ok(answer) => answer,
            Err(e) => Answer::error(format!("error: {e:#}\n")),
        }
    }

    pub(super) fn answer(
        &mut self,
        request: Request,
        m: &mut Measure,
        new: &Stage,
    ) -> Result<Answer> {
        let cluster = &mut self.rig.cluster;
        Ok(match request {
            Request::Exec {
                pod,
                container,
                stdin,
                mut argv,
            } => {
                let plan = cluster
                    .pod(&pod)
                    .map_err(|_| anyhow::anyhow!("pods \"{pod}\" not found"))?;
                let ip = plan.ip;
                let (_, main) = plan.containers()?;
                if let Some(c) = &container
                    && *c != main.name
                {
                    bail!(
                        "container {c} is not valid for pod {pod} (only {} is emulated)",
                        main.name
                    );
                }
                if !cluster.is_running(&pod) {
                    bail!("pod {pod} is not running");
                }
                // Inside a pod, redis-cli reaches its own Redis on localhost; the emulated
                // pods share one network namespace and each listens on its own address.
                if argv.first().is_some_and(|a| a == "redis-cli") && !argv.iter().any(|a| a == "-h")
                {
                    argv.splice(1..1, ["-h".to_string(), ip.to_string()]);
                }
                Answer {
                    run: Some(cluster.exec_command(&pod, &argv)?),
                    stdin,
                    ..Answer::default()
                }
            }
            Request::DeletePods(pods) => {
                let mut out = String::new();
                for pod in pods {
                    cluster.pod(&pod)?;
                    m.events
                        .push((m.t0.elapsed(), format!("{pod} deleted (kubectl)")));
                    cluster.stop(&pod)?;
                    out.push_str(&format!("pod \"{pod}\" deleted\n"));
                    // Its StatefulSet recreates it.
                    cluster.start_on_new_ip(&pod)?;
                    m.events.push((m.t0.elapsed(), format!("{pod} recreated")));
                }
                Answer::ok(out)
            }
            Request::DeleteClaims(claims) => {
                let mut out = String::new();
                for claim in claims {
                    if !cluster.delete_claim(&claim)? {
                        return Ok(Answer {
                            stdout: out,
                            stderr: format!(
                                "Error from server (NotFound): persistentvolumeclaims \"{claim}\" not found\n"
                            ),
                            code: 1,
                            ..Answer::default()
                        });
                    }
                    m.events
                        .push((m.t0.elapsed(), format!("PVC {claim} deleted")));
                    out.push_str(&format!("persistentvolumeclaim \"{claim}\" deleted\n"));
                }
                Answer::ok(out)
            }
            Request::RolloutRestart(set) => {
                let pods = set_pods(cluster, &set)?;
                let offset = m.t0.elapsed();
                let events = rollout::roll_pods(cluster, &pods, ROLLOUT_TIMEOUT)?;
                m.events
                    .extend(events.into_iter().map(|(t, what)| (offset + t, what)));
                Answer::ok(format!("statefulset.apps/{set} restarted\n"))
            }
            Request::RolloutStatus(set) => {
                let pods = set_pods(cluster, &set)?;
                let outdated = cluster.outdated()?;
                if pods.iter().any(|p| outdated.contains(p)) {
                    bail!("statefulset {set}: a rollout is still pending");
                }
                Answer::ok(format!(
                    "partitioned roll out complete: {} new pods have been updated...\n",
                    pods.len()
                ))
            }
            Request::GetSecretKey { secret, key } => match cluster.secret(&secret, &key) {
                Some(value) => Answer::ok(kubectl::base64(value.as_bytes())),
                None if cluster.has_secret(&secret) => Answer::ok(""),
                None => bail!("secrets \"{secret}\" not found"),
            },
            Request::CreateSecret { secret, literals } => {
                if cluster.has_secret(&secret) {
                    bail!("failed to create secret secrets \"{secret}\" already exists");
                }
                for (key, value) in literals {
                    cluster.set_secret(&secret, &key, &value);
                    if let Ok(mut p) = m.passwords.write() {
                        p.push(value.clone());
                    }
                }
                self.rig.spare_password = m.passwords.read().ok().and_then(|p| p.last().cloned());
                Answer::ok(format!("secret/{secret} created\n"))
            }
            Request::ApplyKustomization(dir) => self.apply_clients(&dir, m, new)?,
        })
    }

    /// `kubectl apply -k DIR/clients`: the rendered clients Component of the new profile,
    /// which names its Secret. The client restarts with it; the new one writes before the
    /// old one stops, as a Deployment's rolling update brings a new pod up first.
    pub(super) fn apply_clients(
        &mut self,
        dir: &Path,
        m: &mut Measure,
        new: &Stage,
    ) -> Result<Answer> {
        if dir.file_name().is_none_or(|n| n != "clients") {
            bail!(
                "{}: the rehearsal knows the rendered clients/ Component only",
                dir.display()
            );
        }
        let password = match &new.dep.auth {
            Some(auth) => Some(
                self.rig
                    .cluster
                    .secret(&auth.name, &auth.key)
                    .with_context(|| {
                        format!(
                            "the clients read Secret {} key {}, which does not exist: they would \
                             not start",
                            auth.name, auth.key
                        )
                    })?
                    .to_string(),
            ),
            None => None,
        };
        self.client_env = ClientEnv::of(&new.dep, password.as_deref())?;
        let key = format!("{}:{}", m.key, m.replaced.len() + 1);
        let writer = Writer::start(
            self.client_env.clone(),
            self.rig.cluster.dns(),
            key.clone(),
            Style::Library,
        );
        let deadline = Instant::now() + CLIENT_START;
        while writer.acks().is_empty() {
            if Instant::now() > deadline {
                bail!("the restarted client acknowledged no write within {CLIENT_START:?}");
            }
            sleep(Duration::from_millis(20));
        }
        let (old_key, old) = std::mem::replace(&mut m.writer, (key, writer));
        m.replaced.push((old_key, old.stop()));
        m.events.push((
            m.t0.elapsed(),
            "client restarted with the new Secret".into(),
        ));
        Ok(Answer::ok(format!(
            "the clients' Component applied: the client restarted with Secret {}\n",
            new.dep.auth.as_ref().map_or("(none)", |a| a.name.as_str())
        )))
    }
}

/// The running pods of StatefulSet `set`.
fn set_pods(cluster: &mut Cluster, set: &str) -> Result<Vec<String>> {
    let pods: Vec<String> = cluster
        .pods()
        .iter()
        .filter(|p| p.stateful_set == set)
        .map(|p| p.name.clone())
        .collect();
    if pods.is_empty() {
        bail!("statefulsets.apps \"{set}\" not found");
    }
    Ok(pods.into_iter().filter(|p| cluster.is_running(p)).collect())
}
