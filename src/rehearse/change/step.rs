//! One step of `rehearse --from`: `plan`'s printed lines before the apply, the apply as the
//! StatefulSet controllers carry it out, and the printed lines after it.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::report::StepReport;
use super::terminal::{Ran, Terminal};
use super::{COMMAND_TIMEOUT, IDLE, Measure, ROLLOUT_TIMEOUT, Run, Stage};
use crate::plan::{self, Plan};
use crate::profile::defaults::{REDIS_PORT, SENTINEL_PORT};
use crate::rehearse::cluster::Deletion;
use crate::rehearse::manifest::{Manifests, PodPlan};
use crate::rehearse::rollout;

impl Run {
    /// The first profile with nothing changed: the client writes for a while and the
    /// bounds are checked (what `rehearse --from OLD` alone reports).
    pub(super) fn idle(
        &mut self,
        stage: &Stage,
        progress: &mut dyn FnMut(&str),
    ) -> Result<StepReport> {
        let m = self.start_measure(0, &[])?;
        sleep(IDLE);
        Ok(self.finish(m, None, stage, Vec::new(), Vec::new(), Vec::new(), progress))
    }

    pub(super) fn step(
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
                        progress(&format!("  {} {what}", crate::rehearse::report::secs(*t)));
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
    pub(super) fn run_lines(
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
    pub(super) fn check_master_stays(
        &mut self,
        new_pods: &[PodPlan],
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
    pub(super) fn apply(&mut self, new: &Stage, m: &mut Measure) -> Result<()> {
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
    pub(super) fn classify_pods(&mut self) {
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
}

/// Every command line of `which` steps, in the plan's order.
fn commands(plan: &Plan, which: fn(&plan::Change) -> &Vec<plan::Step>) -> Vec<String> {
    plan.changes
        .iter()
        .flat_map(|c| which(c).iter().flat_map(|s| s.commands.iter().cloned()))
        .collect()
}
