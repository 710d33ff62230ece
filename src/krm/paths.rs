//! The file each finding and each generated item belongs to: kpt's and kustomize's path
//! annotations, and the generated file beside the profile.

use super::resource_list::{Header, Item};
use super::{PATH_ANNOTATIONS, UNNAMED_CONFIG};
use crate::render::GENERATED_FILE;

/// The file findings name: the functionConfig's own path annotation, else the path of the
/// package item that is the same object (kpt's `--fn-config` passes the config without its
/// path, but the profile is usually also in the package), else "functionConfig".
pub(super) fn config_file(function_config: Option<&Item<'_>>, items: &[Item<'_>]) -> String {
    let Some(config) = function_config else {
        return UNNAMED_CONFIG.to_string();
    };
    if let Some(path) = path_of(&config.header) {
        return path;
    }
    let identity = |header: &Header| {
        (
            header.api_version.clone(),
            header.kind.clone(),
            header.name.clone(),
            header.namespace.clone(),
        )
    };
    let wanted = identity(&config.header);
    let matching: Vec<String> = items
        .iter()
        .filter(|item| identity(&item.header) == wanted)
        .filter_map(|item| path_of(&item.header))
        .collect();
    match matching.as_slice() {
        [only] => only.clone(),
        _ => UNNAMED_CONFIG.to_string(),
    }
}

pub(super) fn path_of(header: &Header) -> Option<String> {
    PATH_ANNOTATIONS
        .iter()
        .find_map(|key| header.annotation(key).map(str::to_string))
}

/// `redis-sentinel.yaml` in the profile's directory of the package. A profile outside the
/// package (or one whose path climbs out of it) puts it at the package root.
pub(super) fn generated_path(source_name: &str) -> String {
    let dir = match source_name.rsplit_once('/') {
        Some((dir, _)) if source_name != UNNAMED_CONFIG => dir,
        _ => "",
    };
    let escapes = dir.starts_with('/') || dir.split('/').any(|part| part == "..");
    if dir.is_empty() || escapes {
        GENERATED_FILE.to_string()
    } else {
        format!("{dir}/{GENERATED_FILE}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_file_sits_beside_the_profile_inside_the_package() {
        assert_eq!(generated_path("profile.yaml"), "redis-sentinel.yaml");
        assert_eq!(generated_path("redis/p.yaml"), "redis/redis-sentinel.yaml");
        assert_eq!(generated_path("../p.yaml"), "redis-sentinel.yaml");
        assert_eq!(generated_path("/abs/p.yaml"), "redis-sentinel.yaml");
        assert_eq!(generated_path(UNNAMED_CONFIG), "redis-sentinel.yaml");
    }
}
