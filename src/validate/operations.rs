//! Operations: monitoring, network policy and backup.

use super::{Check, cron};
use crate::profile::defaults;

impl Check<'_> {
    /// Monitoring, network policy and backup (issue 6): names and labels that reach objects,
    /// an interval Prometheus parses, a schedule the CronJob controller parses.
    pub(super) fn operations(&mut self) {
        let spec = &self.profile.spec;
        if let Some(m) = &spec.monitoring {
            if let Some(finding) = m.exporter_image.as_deref().and_then(|image| {
                self.image_reference(
                    "spec.monitoring.exporterImage",
                    image,
                    defaults::DEFAULT_EXPORTER_IMAGE,
                )
            }) {
                self.push(finding);
            }
            if let Some(interval) = m.interval.as_deref() {
                let digits = interval.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                let unit = &interval[digits.len()..];
                let fits = !digits.is_empty()
                    && digits.chars().all(|c| c.is_ascii_digit())
                    && digits.parse::<u64>().is_ok_and(|n| n > 0)
                    && matches!(unit, "s" | "m" | "h");
                if !fits {
                    self.error("spec.monitoring.interval", "invalid scrape interval", |f| {
                        f.found(interval).valid(
                            "a positive whole number of seconds, minutes or hours: `30s`, `1m`",
                        )
                    });
                }
            }
            // Judged only when the sidecars exist: `resolve` drops them with `enabled: false`.
            if m.enabled != Some(false) {
                self.resources("spec.monitoring.resources", m.resources.as_ref(), |d| {
                    d.monitoring
                        .as_ref()
                        .map(|m| m.resources.clone())
                        .unwrap_or_else(|| d.redis.resources.clone())
                });
            }
            self.labels("spec.monitoring.labels", &m.labels);
        }
        if let Some(n) = &spec.network_policy {
            self.dns_label(
                "spec.networkPolicy.monitoringNamespace",
                n.monitoring_namespace.as_deref(),
            );
            self.labels("spec.networkPolicy.clientPodLabels", &n.client_pod_labels);
            // Listed clients are admitted by the label their patches add (render::meta::
            // client_label); clientPodLabels only adds pods the tool does not patch.
            if n.enabled != Some(false) && n.client_pod_labels.is_empty() && spec.clients.is_empty()
            {
                self.error(
                    "spec.networkPolicy.clientPodLabels",
                    "network policy on, but no client pods named",
                    |f| {
                        f.valid(
                            "clients in spec.clients (their patches add the label the policies \
                             admit), or the labels of the pods that use Redis here, e.g. \
                             `{app: welcomebot}`",
                        )
                        .help("without them the policies admit no client at all")
                    },
                );
            }
        }
        if let Some(b) = &spec.backup {
            if let Some(schedule) = b.schedule.as_deref()
                && let Some(problem) = cron::problem(schedule)
            {
                self.error("spec.backup.schedule", format!("invalid cron schedule: {problem}"), |f| {
                    f.found(schedule)
                        .valid("five fields (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or jan-dec, day of week 0-6 or sun-sat), each `*`, `?`, a value, a range `a-b` or a list, with an optional positive `/step`; or @yearly, @monthly, @weekly, @daily, @hourly. E.g. `17 3 * * *`")
                });
            }
            let storage = b.storage.as_ref();
            self.storage_size(
                "spec.backup.storage.size",
                storage.and_then(|s| s.size.as_deref()),
            );
            self.dns_subdomain(
                "spec.backup.storage.storageClassName",
                storage.and_then(|s| s.storage_class_name.as_deref()),
            );
        }
    }
}
