//! The command lines of the manual steps, against the running (old) deployment.

use super::facts::Facts;
use crate::profile::defaults::SENTINEL_PORT;

/// Command lines against the running (old) deployment.
pub(super) struct Kubectl {
    pub(super) ns: String,
    pub(super) master_name: String,
    pub(super) sentinel_container: String,
    pub(super) sentinel_set: String,
}

impl Kubectl {
    pub(super) fn of(f: &Facts) -> Self {
        Kubectl {
            ns: f.namespace.clone(),
            master_name: f.master_name.clone(),
            sentinel_container: f.sentinel.container.clone(),
            sentinel_set: f.sentinel.name.clone(),
        }
    }

    /// `redis-cli` on Sentinel pod `pod` (the container's `REDISCLI_AUTH` authenticates).
    pub(super) fn sentinel_cli(&self, pod: &str, args: &str) -> String {
        format!(
            "kubectl -n {} exec {pod} -c {} -- redis-cli -p {SENTINEL_PORT} {args}",
            self.ns, self.sentinel_container
        )
    }

    /// Wait until Sentinel `pod` reports `field` = `value` in `SENTINEL MASTER`.
    pub(super) fn wait_sentinel_field(&self, pod: &str, field: &str, value: i32) -> String {
        format!(
            "until [ \"$({} | sed -n '/^{field}$/{{n;p;}}')\" = {value} ]; do sleep 2; done",
            self.sentinel_cli(pod, &format!("SENTINEL MASTER {}", self.master_name))
        )
    }

    /// `SENTINEL RESET` on each of `sentinels` Sentinel pods in turn, each time waiting until
    /// it knows the other Sentinels and `replicas` replicas again: resetting them all at once
    /// would leave no Sentinel able to authorise a failover meanwhile.
    pub(super) fn reset_sentinels(&self, sentinels: i32, replicas: i32) -> Vec<String> {
        let mut commands = Vec::new();
        for i in 0..sentinels {
            let pod = format!("{}-{i}", self.sentinel_set);
            commands.push(self.sentinel_cli(&pod, &format!("SENTINEL RESET {}", self.master_name)));
            commands.push(self.wait_sentinel_field(&pod, "num-other-sentinels", sentinels - 1));
            commands.push(self.wait_sentinel_field(&pod, "num-slaves", replicas));
        }
        commands
    }

    pub(super) fn current_master(&self) -> String {
        self.sentinel_cli(
            &format!("{}-0", self.sentinel_set),
            &format!("SENTINEL get-master-addr-by-name {}", self.master_name),
        )
    }
}
