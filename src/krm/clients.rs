//! The client workloads among the items: `spec.clients` checked against them, as `render
//! --out` checks it against the migration base, and the env switch applied to them.

use super::paths::path_of;
use super::results::{resource_ref, result};
use super::{Out, Run, env_switch, resource_list, set};
use crate::base;
use crate::diagnostic::Finding;
use crate::kustomization::workloads::{Seen, Workload};
use crate::profile::load;
use crate::render::{clients, meta};
use crate::resolve::Deployment;
use crate::yaml_tree::Yaml;

impl Run<'_, '_> {
    /// Check `spec.clients` against the client workloads among the items (those the switch
    /// would edit), as `render --out` checks them against the migration base; true when a
    /// named container is missing (an error: the items then stay as they came).
    pub(super) fn client_containers_missing(
        &mut self,
        loaded: &load::Loaded,
        dep: &Deployment,
    ) -> bool {
        let workloads = self
            .list
            .items
            .iter()
            .filter(|item| {
                let header = &item.header;
                header.api_version.as_deref() == Some("apps/v1")
                    && matches!(header.kind.as_deref(), Some("Deployment" | "StatefulSet"))
                    && header
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| ns == dep.namespace)
            })
            .filter_map(|item| Yaml::read_lossless(&resource_list::standalone(item)).ok())
            .filter_map(|object| Workload::of(&object))
            .collect();
        let seen = Seen {
            workloads,
            complete: true,
        };
        let mut findings =
            base::client_findings(&loaded.profile, &loaded.map, &seen, "the items", false);
        for finding in &mut findings {
            finding.pos = None;
        }
        let missing = findings.iter().any(Finding::is_error);
        self.findings.extend(findings);
        missing
    }

    /// Apply the env switch (`render::clients`, the same env the `clients/` patches set) to
    /// every client workload of the profile found among the items.
    ///
    /// A client the items do not hold is a warning result: its env stays as it is wherever it
    /// lives, as `render --out` warns about a client its base lacks.
    pub(super) fn switch_clients(&mut self, dep: &Deployment) {
        for (client_index, client) in dep.clients.iter().enumerate() {
            let env = clients::client_env(dep, client);
            let kind = clients::kind_name(client.kind);
            let mut found = false;
            for out in &mut self.out {
                let Out::Carried(index) = out else {
                    continue;
                };
                let item = &self.list.items[*index];
                let header = &item.header;
                let matches = header.api_version.as_deref() == Some("apps/v1")
                    && header.kind.as_deref() == Some(kind)
                    && header.name.as_deref() == Some(client.name.as_str())
                    && header
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| ns == dep.namespace);
                if !matches {
                    continue;
                }
                found = true;
                let mut workload = match Yaml::read_lossless(&resource_list::standalone(item)) {
                    Ok(workload) => workload,
                    Err(why) => {
                        self.notes.push(result(
                            "error",
                            &format!(
                                "{kind} {} cannot be switched to Sentinel: {why}",
                                client.name
                            ),
                            resource_ref(header),
                            None,
                            path_of(header).as_deref(),
                        ));
                        continue;
                    }
                };
                if env_switch::switch_container(&mut workload, &client.container, &env) {
                    // The label the NetworkPolicies admit, as the `clients/` patches add it.
                    let (label, value) = meta::client_label(dep);
                    let labels = workload.map_at(&["spec", "template", "metadata", "labels"]);
                    set(labels, &label, Yaml::Str(value));
                    *out = Out::Switched(Box::new(workload));
                } else {
                    self.notes.push(result(
                        "warning",
                        &format!(
                            "{kind} {} has no container `{}` (spec.clients); its env is unchanged",
                            client.name, client.container
                        ),
                        resource_ref(header),
                        None,
                        None,
                    ));
                }
            }
            if !found {
                self.notes.push(result(
                    "warning",
                    &format!(
                        "the items have no {kind} `{}` in namespace `{}` (or without one): its \
                         env is not switched to Sentinel",
                        client.name, dep.namespace
                    ),
                    None,
                    Some(&format!("spec.clients[{client_index}].name")),
                    Some(&self.source_name),
                ));
            }
        }
    }
}
