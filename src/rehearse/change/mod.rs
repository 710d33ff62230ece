//! `rehearse --from OLD [NEW] [--then NEW2]…`: a running deployment changed the way it
//! will be changed in the cluster (issue 10). OLD runs on emulated pods; each next profile is
//! then applied as Kubernetes applies it (changed ConfigMaps, StatefulSets scaled and their
//! outdated pods rolled by their controllers) with `plan`'s manual steps around the apply,
//! run exactly as `plan` prints them, in one shell session, through a `kubectl` stand-in
//! ([`kubectl`], [`terminal`]). A default-configured client writes all along; each step is
//! held to the bounds of [`report`].

pub mod kubectl;
pub mod report;
pub mod terminal;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::client::{Ack, ClientEnv, Style, Writer};
use super::cluster::{Cluster, Deletion};
use super::manifest::Manifests;
use super::rig::Rig;
use super::rollout::{self, Events};
use super::watch::{Passwords, Watcher};
use crate::plan::{self, Plan, Verdict};
use crate::resolve::{Deployment, REDIS_PORT, SENTINEL_PORT};
use kubectl::{Answer, Request};
use report::{Report, SentinelView, StepReport};
use terminal::{Ran, Terminal};

/// From the first start to a deployment that agrees on its master.
const FIRST_START: Duration = Duration::from_secs(90);
/// Writes before a step begins, so the client is known to work.
const BASELINE: Duration = Duration::from_secs(1);
/// Writes after the deployment agrees again, so a late loss would show.
const TAIL: Duration = Duration::from_secs(1);
/// How long the first profile runs untouched when there is no change to rehearse.
const IDLE: Duration = Duration::from_secs(3);
/// From the last manual step to a deployment that agrees on its master.
const SETTLE: Duration = Duration::from_secs(120);
/// How long one printed command line may run (a reset step waits for Sentinel discovery).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the StatefulSet controllers may take for one apply.
const ROLLOUT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long every Sentinel may take to report the new settings and counts (hellos every
/// 2 s, INFO every 10 s).
const SETTINGS_WAIT: Duration = Duration::from_secs(30);
/// How long a restarted client may take to acknowledge its first write.
const CLIENT_START: Duration = Duration::from_secs(10);

/// One profile of the sequence, validated and rendered.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The profile as named on the command line.
    pub name: String,
    pub dep: Deployment,
    /// Its `redis-sentinel.yaml`.
    pub rendered: String,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub first_ip: Ipv4Addr,
}

/// Run `stages[0]`, then change it into each following stage in turn.
pub fn rehearse(
    stages: &[Stage],
    opts: &Options,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    if let Some(why) = super::missing_prerequisites() {
        bail!("{why}");
    }
    let first = stages.first().context("no profile to rehearse")?;
    // Every plan first: a change that cannot be rehearsed is refused before anything runs.
    let mut plans = Vec::new();
    for pair in stages.windows(2) {
        let plan = plan::plan(&pair[0].rendered, &pair[1].rendered)?;
        rehearsable(&plan, &pair[0].name, &pair[1].name)?;
        plans.push(plan);
    }
    let secrets = first
        .dep
        .auth
        .iter()
        .map(|s| ((s.name.clone(), s.key.clone()), super::PASSWORD.to_string()))
        .collect();
    let cluster = Cluster::new(
        Manifests::parse(&first.rendered)?,
        secrets,
        opts.first_ip,
        &first.dep.cluster_domain,
    )?;
    let started = Instant::now();
    let password = first.dep.auth.as_ref().map(|_| super::PASSWORD.to_string());
    let mut rig = Rig::new(
        cluster,
        first.dep.master_name.clone(),
        password.clone(),
        usize::try_from(first.dep.sentinel.quorum)?,
    )?;
    let pods = rig.cluster.pods().len();
    progress(&format!(
        "starting {pods} pods from {} ({} and up)",
        first.name, opts.first_ip
    ));
    for pod in rig
        .cluster
        .pods()
        .iter()
        .map(|p| p.name.clone())
        .collect::<Vec<_>>()
    {
        rig.cluster.start(&pod)?;
    }
    let master = rig.wait_agreement(FIRST_START).with_context(|| {
        format!(
            "the deployment did not come up:\n{}",
            rig.cluster.log_tails(20)
        )
    })?;
    progress(&format!(
        "up: {master} is master ({:.1} s)",
        started.elapsed().as_secs_f64()
    ));
    let work = unique_dir()?;
    let mut run = Run {
        rig,
        client_env: ClientEnv::of(&first.dep, password.as_deref())?,
        work: work.clone(),
    };
    let mut steps = Vec::new();
    let result = (|| -> Result<()> {
        if stages.len() == 1 {
            steps.push(run.idle(first, progress)?);
        }
        for (i, (pair, plan)) in stages.windows(2).zip(&plans).enumerate() {
            let step = run.step(i + 1, &pair[0], &pair[1], plan, progress)?;
            let failed = !step.missed.is_empty();
            steps.push(step);
            if failed {
                progress("a step missed its bounds; the later steps are not rehearsed");
                break;
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    if let Err(e) = result {
        progress(&format!(
            "stopping the rehearsal: {e:#}\n{}",
            run.rig.cluster.log_tails(30)
        ));
        return Err(e);
    }
    Ok(Report {
        profiles: stages.iter().map(|s| s.name.clone()).collect(),
        steps,
        elapsed: started.elapsed(),
    })
}

/// Refuse a change the emulation cannot stand for.
fn rehearsable(plan: &Plan, old: &str, new: &str) -> Result<()> {
    for change in &plan.changes {
        if change.verdict == Verdict::NewDeployment {
            bail!(
                "{old} → {new}: {} is not possible in place (plan: a new deployment and the \
                 migration path); rehearse that with `rehearse --migration`",
                change.field
            );
        }
        if change.field.contains("storage.size") {
            bail!(
                "{old} → {new}: {} changes volume sizes, which the emulation does not have \
                 (its volumes are directories); only a cluster can rehearse a PVC expansion",
                change.field
            );
        }
    }
    Ok(())
}

/// The running rehearsal between steps.
struct Run {
    rig: Rig,
    /// What the clients run with now (the Secret their Component names).
    client_env: ClientEnv,
    work: PathBuf,
}

/// What one step measures while it runs.
struct Measure {
    watcher: Watcher,
    passwords: Passwords,
    /// The writing client now, and the ones it replaced (a client restarted onto a new
    /// Secret): (key, writer).
    writer: (String, Writer),
    replaced: Vec<(String, Vec<Ack>)>,
    key: String,
    events: Events,
    t0: Instant,
}

impl Run {
    fn start_measure(&mut self, step: usize, extra_redis: &[String]) -> Result<Measure> {
        let passwords: Passwords =
            Arc::new(RwLock::new(self.rig.password.clone().into_iter().collect()));
        let mut watched: Vec<String> = self.rig.redis.clone();
        watched.extend(extra_redis.iter().cloned());
        watched.sort();
        watched.dedup();
        let watcher = Watcher::start_with(&watched, self.rig.cluster.dns(), passwords.clone());
        let key = format!("rehearse:change:{step}");
        let first_key = format!("{key}:0");
        let writer = Writer::start(
            self.client_env.clone(),
            self.rig.cluster.dns(),
            first_key.clone(),
            Style::Library,
        );
        sleep(BASELINE);
        if writer.acks().is_empty() {
            bail!("the client acknowledged no write against a healthy deployment");
        }
        Ok(Measure {
            watcher,
            passwords,
            writer: (first_key, writer),
            replaced: Vec::new(),
            key,
            events: Events::new(),
            t0: Instant::now(),
        })
    }

    /// The first profile with nothing changed: the client writes for a while and the
    /// bounds are checked (what `rehearse --from OLD` alone reports).
    fn idle(&mut self, stage: &Stage, progress: &mut dyn FnMut(&str)) -> Result<StepReport> {
        let m = self.start_measure(0, &[])?;
        sleep(IDLE);
        Ok(self.finish(m, None, stage, Vec::new(), Vec::new(), Vec::new(), progress))
    }

    fn step(
        &mut self,
        n: usize,
        old: &Stage,
        new: &Stage,
        plan: &Plan,
        progress: &mut dyn FnMut(&str),
    ) -> Result<StepReport> {
        let printed = crate::templates::render("plan.txt.j2", plan)?;
        progress(&format!(
            "step {n}: {} → {}; plan:\n{printed}",
            old.name, new.name
        ));
        let before: Vec<String> = commands(plan, |c| &c.before_apply);
        let after: Vec<String> = commands(plan, |c| &c.after_apply);
        for command in before.iter().chain(&after) {
            // The lines run are the lines printed, or this is not the plan's text.
            if !printed.contains(command.as_str()) {
                bail!("bug: `{command}` is not in the printed plan");
            }
        }
        let new_pods = Manifests::parse(&new.rendered)?.pods(Ipv4Addr::UNSPECIFIED, "")?;
        let new_redis: Vec<String> = new_pods
            .iter()
            .filter(|p| !p.ports().contains(&SENTINEL_PORT))
            .map(|p| p.name.clone())
            .collect();
        let mut m = self.start_measure(n, &new_redis)?;
        let mut terminal = Terminal::open(&self.work.join(format!("step-{n}")))?;
        let mut ran = Vec::new();
        let mut missed = Vec::new();
        let mut ok = self.run_lines(
            &mut terminal,
            &before,
            &mut m,
            new,
            &mut ran,
            &mut missed,
            progress,
        );
        if ok {
            ok = self.check_master_stays(&new_pods, &mut missed);
        }
        if ok {
            progress(&format!("step {n}: kubectl apply of {}", new.name));
            match self.apply(new, &mut m) {
                Ok(()) => {
                    for (t, what) in &m.events {
                        progress(&format!("  {} {what}", super::report::secs(*t)));
                    }
                }
                Err(e) => {
                    missed.push(format!("the apply did not complete: {e:#}"));
                    ok = false;
                }
            }
        }
        if ok {
            self.run_lines(
                &mut terminal,
                &after,
                &mut m,
                new,
                &mut ran,
                &mut missed,
                progress,
            );
        }
        drop(terminal);
        // From now on the harness speaks the password the new profile's Secret holds.
        if let Some(auth) = &new.dep.auth
            && let Some(value) = self.rig.cluster.secret(&auth.name, &auth.key)
        {
            let before = self.rig.password.replace(value.to_string());
            self.rig.spare_password = before.filter(|b| b != value);
        }
        self.rig.quorum = usize::try_from(new.dep.sentinel.quorum)?;
        let changes = plan.changes.iter().map(|c| c.field.clone()).collect();
        Ok(self.finish(m, Some(old), new, ran, changes, missed, progress))
    }

    /// Run `lines` in `terminal` until one fails; whether all succeeded.
    #[allow(clippy::too_many_arguments)]
    fn run_lines(
        &mut self,
        terminal: &mut Terminal,
        lines: &[String],
        m: &mut Measure,
        new: &Stage,
        ran: &mut Vec<Ran>,
        missed: &mut Vec<String>,
        progress: &mut dyn FnMut(&str),
    ) -> bool {
        for line in lines {
            progress(&format!("  $ {line}"));
            let result = terminal.run(line, COMMAND_TIMEOUT, &mut |args| self.serve(args, m, new));
            match result {
                Ok(r) => {
                    for out in r.output.lines() {
                        progress(&format!("    {out}"));
                    }
                    let failed = r.status != 0;
                    if failed {
                        missed.push(format!("`{line}` exited {}: {}", r.status, r.output.trim()));
                    }
                    ran.push(r);
                    if failed {
                        return false;
                    }
                }
                Err(e) => {
                    missed.push(format!("{e:#}"));
                    return false;
                }
            }
        }
        true
    }

    /// `plan` tells the operator to hand over first when the master is among the pods a
    /// scale-down removes; the rehearsal does not decide that for them, it stops.
    fn check_master_stays(
        &mut self,
        new_pods: &[super::manifest::PodPlan],
        missed: &mut Vec<String>,
    ) -> bool {
        let Some(master) = self.rig.named_master() else {
            missed.push("no master named by a quorum of Sentinels before the apply".into());
            return false;
        };
        if new_pods.iter().any(|p| p.name == master) {
            return true;
        }
        missed.push(format!(
            "the master {master} is one of the pods the scale-down removes: plan says to hand \
             over first (the runbook's manual failover)"
        ));
        false
    }

    /// `kubectl apply` of `new`, then what the StatefulSet controllers do about it
    /// (`podManagementPolicy: Parallel`, `updateStrategy: RollingUpdate`): pods beyond the
    /// new replica counts deleted at once and pods below them created at once; the rolling
    /// update, highest ordinal first, waits for the new pods to be Ready (they have the
    /// highest ordinals) and runs beside the deletions, as the controller does not wait for
    /// condemned pods. Volumes of removed pods stay, as their PVCs do.
    fn apply(&mut self, new: &Stage, m: &mut Measure) -> Result<()> {
        let manifests = Manifests::parse(&new.rendered)?;
        let wanted: BTreeSet<String> = manifests
            .pods(Ipv4Addr::UNSPECIFIED, &new.dep.cluster_domain)?
            .into_iter()
            .map(|p| p.name)
            .collect();
        let current: Vec<String> = self
            .rig
            .cluster
            .pods()
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let mut condemned: Vec<(String, Deletion)> = Vec::new();
        let mut removed: Vec<&String> = current.iter().filter(|p| !wanted.contains(*p)).collect();
        removed.sort_by_key(|p| std::cmp::Reverse(rollout::ordinal(p).unwrap_or(0)));
        for pod in removed {
            if self.rig.cluster.is_running(pod) {
                m.events
                    .push((m.t0.elapsed(), format!("{pod} deleted (scale-down)")));
                condemned.push((pod.clone(), self.rig.cluster.delete(pod)?));
            }
        }
        self.rig.cluster.apply(manifests)?;
        let added: Vec<String> = wanted
            .iter()
            .filter(|p| !current.contains(p))
            .cloned()
            .collect();
        for pod in &added {
            m.events
                .push((m.t0.elapsed(), format!("{pod} created (scale-up)")));
            self.rig.cluster.start(pod)?;
        }
        self.classify_pods();
        let deadline = Instant::now() + ROLLOUT_TIMEOUT;
        for pod in &added {
            // A pod just started may not have its PID 1 yet: not Ready either.
            while !rollout::ready(&self.rig.cluster, pod).unwrap_or(false) {
                if !self.rig.cluster.is_running(pod) {
                    bail!(
                        "{pod} exited after it was created:\n{}",
                        self.rig.cluster.log(pod)
                    );
                }
                if Instant::now() > deadline {
                    bail!("{pod} was not Ready within {ROLLOUT_TIMEOUT:?}");
                }
                sleep(Duration::from_millis(500));
            }
            m.events.push((m.t0.elapsed(), format!("{pod} Ready")));
        }
        let outdated: Vec<String> = self
            .rig
            .cluster
            .outdated()?
            .into_iter()
            .filter(|p| self.rig.cluster.is_running(p))
            .collect();
        if !outdated.is_empty() {
            let offset = m.t0.elapsed();
            let events = rollout::roll_pods(&mut self.rig.cluster, &outdated, ROLLOUT_TIMEOUT)?;
            m.events
                .extend(events.into_iter().map(|(t, what)| (offset + t, what)));
        }
        for (pod, deletion) in condemned {
            deletion.wait();
            m.events.push((m.t0.elapsed(), format!("{pod} gone")));
        }
        Ok(())
    }

    /// Which running pods are Redis and which Sentinel, after an apply.
    fn classify_pods(&mut self) {
        let (mut redis, mut sentinels) = (Vec::new(), Vec::new());
        for pod in self.rig.cluster.pods() {
            if pod.ports().contains(&SENTINEL_PORT) {
                sentinels.push(pod.name.clone());
            } else if pod.ports().contains(&REDIS_PORT) {
                redis.push(pod.name.clone());
            }
        }
        self.rig.redis = redis;
        self.rig.sentinels = sentinels;
    }

    /// Answer one `kubectl` call of the printed steps.
    fn serve(&mut self, args: &[String], m: &mut Measure, new: &Stage) -> Answer {
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

    fn answer(&mut self, request: Request, m: &mut Measure, new: &Stage) -> Result<Answer> {
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
    fn apply_clients(&mut self, dir: &Path, m: &mut Measure, new: &Stage) -> Result<Answer> {
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

    /// End a step: agreement, the tail of writes, and every bound.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        m: Measure,
        old: Option<&Stage>,
        new: &Stage,
        ran: Vec<Ran>,
        changes: Vec<String>,
        // What already went wrong (a printed line that failed).
        mut missed: Vec<String>,
        progress: &mut dyn FnMut(&str),
    ) -> StepReport {
        let master = match self.rig.wait_agreement(SETTLE) {
            Ok(master) => Some(master),
            Err(e) => {
                missed.push(format!("{e:#}"));
                None
            }
        };
        let duration = m.t0.elapsed();
        sleep(TAIL);
        let (key, writer) = m.writer;
        let mut writes = m.replaced;
        writes.push((key, writer.stop()));
        let watch = m.watcher.stop();
        let end = Instant::now();
        let mut acks: Vec<Instant> = writes
            .iter()
            .flat_map(|(_, a)| a.iter().map(|a| a.at))
            .collect();
        acks.sort();
        let longest_gap = longest_gap(&acks, m.t0, end);
        let mut lost = 0;
        if let Some(master) = &master {
            for (key, acked) in &writes {
                match self.members(master, key) {
                    Ok(present) => {
                        lost += acked.iter().filter(|a| !present.contains(&a.seq)).count()
                    }
                    Err(e) => missed.push(format!("cannot read {key} on {master}: {e:#}")),
                }
            }
        }
        let breaches = watch.master_breaches(m.t0, end);
        let master_changes = watch.master_changes(m.t0, end);
        let sentinels = self.sentinel_views(&new.dep);
        let report = StepReport {
            from: old.map(|s| s.name.clone()),
            to: new.name.clone(),
            changes,
            commands: ran,
            events: m.events,
            duration,
            longest_gap,
            acked: acks.len(),
            lost,
            breaches,
            master_changes,
            master_after: master,
            sentinels,
            missed,
        };
        let report = report.judged(&new.dep);
        progress(&report.summary());
        report
    }

    /// `SENTINEL MASTER` of every Sentinel, polled until each reports what `dep` says (or
    /// [`SETTINGS_WAIT`] is over): the last answers.
    fn sentinel_views(&mut self, dep: &Deployment) -> Vec<SentinelView> {
        let deadline = Instant::now() + SETTINGS_WAIT;
        let (sentinels, replicas) = report::expected_counts(dep);
        loop {
            let views: Vec<SentinelView> = self
                .rig
                .sentinels
                .clone()
                .iter()
                .map(|s| SentinelView {
                    pod: s.clone(),
                    fields: self.sentinel_master(s).unwrap_or_default(),
                })
                .collect();
            let done = views
                .iter()
                .all(|v| v.mismatches(dep, sentinels, replicas).is_empty());
            if done || Instant::now() > deadline {
                return views;
            }
            sleep(Duration::from_millis(500));
        }
    }

    fn sentinel_master(&self, sentinel: &str) -> Result<BTreeMap<String, String>> {
        let reply = self.rig.call(
            sentinel,
            SENTINEL_PORT,
            &["SENTINEL", "MASTER", &self.rig.master_name],
        )?;
        Ok(reply
            .strings()?
            .chunks(2)
            .filter_map(|kv| Some((kv[0].clone(), kv.get(1)?.clone())))
            .collect())
    }

    fn members(&self, pod: &str, key: &str) -> Result<BTreeSet<u64>> {
        let reply = self.rig.call(pod, REDIS_PORT, &["SMEMBERS", key])?;
        reply
            .strings()?
            .iter()
            .map(|s| s.parse().with_context(|| format!("{key} holds {s:?}")))
            .collect()
    }
}

/// Every command line of `which` steps, in the plan's order.
fn commands(plan: &Plan, which: fn(&plan::Change) -> &Vec<plan::Step>) -> Vec<String> {
    plan.changes
        .iter()
        .flat_map(|c| which(c).iter().flat_map(|s| s.commands.iter().cloned()))
        .collect()
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

/// The longest stretch without an acknowledged write between `from` and `to`.
fn longest_gap(acks: &[Instant], from: Instant, to: Instant) -> Duration {
    let mut prev = from;
    let mut longest = Duration::ZERO;
    for at in acks.iter().filter(|a| **a > from && **a <= to) {
        longest = longest.max(*at - prev);
        prev = *at;
    }
    longest.max(to.saturating_duration_since(prev))
}

fn unique_dir() -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!("rehearse-change-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_gap_counts_from_the_start_to_the_end_of_the_step() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(
            longest_gap(&[at(100), at(150), at(1400), at(1410)], t0, at(1500)),
            Duration::from_millis(1250)
        );
        assert_eq!(
            longest_gap(&[at(900)], t0, at(950)),
            Duration::from_millis(900)
        );
        // A client that stopped getting acknowledgements is a gap up to the end.
        assert_eq!(
            longest_gap(&[at(100)], t0, at(5000)),
            Duration::from_millis(4900)
        );
    }
}
