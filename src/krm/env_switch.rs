//! The client env switch applied to client workloads found among the items: the same env
//! the `clients/` patches set (`render::clients`).

use k8s_openapi::api::core::v1::EnvVar;

use crate::render::clients::ClientEnv;
use crate::yaml_tree::Yaml;

/// An env entry as an item field: `name` first, then `value` or
/// `valueFrom.secretKeyRef` (`name`, `key`), the order people write them in.
fn env_var_yaml(var: &EnvVar) -> Yaml {
    let mut entry = vec![("name".to_string(), Yaml::Str(var.name.clone()))];
    if let Some(value) = &var.value {
        entry.push(("value".to_string(), Yaml::Str(value.clone())));
    }
    if let Some(secret) = var
        .value_from
        .as_ref()
        .and_then(|from| from.secret_key_ref.as_ref())
    {
        let mut selector = vec![
            ("name".to_string(), Yaml::Str(secret.name.clone())),
            ("key".to_string(), Yaml::Str(secret.key.clone())),
        ];
        if let Some(optional) = secret.optional {
            selector.push(("optional".to_string(), Yaml::Bool(optional)));
        }
        entry.push((
            "valueFrom".to_string(),
            Yaml::map([("secretKeyRef", Yaml::Map(selector))]),
        ));
    }
    Yaml::Map(entry)
}

/// Apply `env` to the container named `container` of a workload: its variables set (existing
/// entries replaced where they stand, so a second run changes nothing), the ones it removes
/// gone. False when the workload has no such container.
pub(super) fn switch_container(workload: &mut Yaml, container: &str, env: &ClientEnv) -> bool {
    let Some(Yaml::Seq(containers)) =
        workload.get_path_mut(&["spec", "template", "spec", "containers"])
    else {
        return false;
    };
    let Some(target) = containers
        .iter_mut()
        .find(|c| c.get("name").and_then(Yaml::as_str) == Some(container))
    else {
        return false;
    };
    let Yaml::Map(fields) = target else {
        return false;
    };
    if !fields
        .iter()
        .any(|(k, v)| k == "env" && matches!(v, Yaml::Seq(_)))
    {
        fields.retain(|(k, _)| k != "env");
        fields.push(("env".to_string(), Yaml::Seq(Vec::new())));
    }
    let Some(Yaml::Seq(vars)) = target.get_mut("env") else {
        return false;
    };
    let name_of = |var: &Yaml| var.get("name").and_then(Yaml::as_str).map(str::to_string);
    vars.retain(|var| name_of(var).is_none_or(|name| !env.remove.contains(&name.as_str())));
    for set in &env.set {
        let var = env_var_yaml(set);
        match vars
            .iter_mut()
            .find(|v| name_of(v).as_deref() == Some(set.name.as_str()))
        {
            Some(existing) => *existing = var,
            None => vars.push(var),
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::clients;

    #[test]
    fn the_switch_replaces_in_place_and_removes_the_old_address() {
        let mut workload: Yaml = serde_saphyr::from_str(
            "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n        env:\n        \
             - {name: A, value: a}\n        - {name: REDIS_ADDR, value: r:6379}\n        \
             - {name: REDIS_MASTER_NAME, value: old}\n",
        )
        .unwrap();
        let plain = |name: &str, value: &str| EnvVar {
            name: name.to_string(),
            value: Some(value.to_string()),
            ..Default::default()
        };
        let env = ClientEnv {
            set: vec![
                plain(clients::ENV_SENTINEL_ADDRS, "s"),
                plain(clients::ENV_MASTER_NAME, "m"),
            ],
            remove: vec![clients::ENV_ADDR],
        };
        assert!(switch_container(&mut workload, "app", &env));
        let once = workload.clone();
        assert!(switch_container(&mut workload, "app", &env));
        assert_eq!(once, workload, "not idempotent");
        let names: Vec<_> = match workload
            .get_path(&["spec", "template", "spec", "containers"])
            .and_then(|c| match c {
                Yaml::Seq(c) => c.first(),
                _ => None,
            })
            .and_then(|c| c.get("env"))
        {
            Some(Yaml::Seq(vars)) => vars
                .iter()
                .filter_map(|v| v.get("name").and_then(Yaml::as_str))
                .collect(),
            other => panic!("no env: {other:?}"),
        };
        assert_eq!(names, ["A", "REDIS_MASTER_NAME", "REDIS_SENTINEL_ADDRS"]);
        assert!(!switch_container(&mut workload, "other", &env));
    }
}
