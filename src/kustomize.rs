//! The legacy kustomize exec plugin (what `kubectl kustomize --enable-alpha-plugins` runs;
//! kubectl skips exec KRM functions without a word): recognising the plugin invocation,
//! finding the profile file behind the config kustomize hands over, and installing the
//! symlink kustomize looks for.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::diagnostic::Finding;
use crate::kustomization;
use crate::profile::load::{Capped, Source, read_capped};
use crate::profile::spec::{API_VERSION, KIND};
use crate::profile::yaml;
use crate::yaml_tree::Yaml;

/// The file name kustomize runs a generator plugin of `kind: RedisSentinel` by.
pub const PLUGIN_NAME: &str = "RedisSentinel";

/// Where kustomize looks for the plugin under its plugin home:
/// `<group>/<version>/<lowercase kind>/<kind>`.
pub fn plugin_relative_path() -> PathBuf {
    let (group, version) = API_VERSION.split_once('/').unwrap_or((API_VERSION, ""));
    [group, version, &KIND.to_lowercase(), PLUGIN_NAME]
        .iter()
        .collect()
}

/// True when the program was started under the plugin's name (a symlink or a copy).
pub fn invoked_as_plugin(argv0: &Path) -> bool {
    argv0.file_name().is_some_and(|name| name == PLUGIN_NAME)
}

/// The profile to render for the generator config `config` (a temporary file kustomize
/// writes, re-serialized from the profile and with a random name).
///
/// Rendered files quote the profile's name, so a random name would make every build
/// different. When the kustomization (in `$KUSTOMIZE_PLUGIN_CONFIG_ROOT`, set by kustomize)
/// lists exactly one generator file that is this same object, that file is read instead:
/// findings then point at its real lines, and the output is byte for byte what
/// `redis-sentinel-gen render <that file>` prints from the kustomization's directory. Otherwise
/// the config is named by its object, `RedisSentinel/<name>`.
pub fn plugin_source(config: &Path) -> Result<Source, Box<Finding>> {
    let mut source = Source::read(config)?;
    let identity = identity_of(&source.text);
    source.name = format!(
        "{KIND}/{}",
        identity.as_ref().map_or("unnamed", |id| id[2].as_str())
    );
    let Some(root) = std::env::var_os("KUSTOMIZE_PLUGIN_CONFIG_ROOT").map(PathBuf::from) else {
        return Ok(source);
    };
    let candidates: Vec<(String, String)> = generator_files(&root)
        .into_iter()
        .filter_map(|entry| {
            let Ok(Capped::Whole(text)) = read_capped(&root.join(&entry), yaml::MAX_BYTES) else {
                return None;
            };
            (identity.is_some() && identity_of(&text) == identity).then_some((entry, text))
        })
        .collect();
    if let [(name, text)] = candidates.as_slice() {
        source.name.clone_from(name);
        source.text.clone_from(text);
    }
    Ok(source)
}

/// apiVersion, kind, name and namespace of a YAML object, if it parses as one.
fn identity_of(text: &str) -> Option<[String; 4]> {
    let object: Yaml = serde_saphyr::from_str(text).ok()?;
    let field = |path: &[&str]| {
        object
            .get_path(path)
            .and_then(Yaml::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Some([
        field(&["apiVersion"]),
        field(&["kind"]),
        field(&["metadata", "name"]),
        field(&["metadata", "namespace"]),
    ])
}

/// The `generators:` entries of the kustomization in `root` that are plain relative files.
fn generator_files(root: &Path) -> Vec<String> {
    let Some(text) = kustomization::FILES
        .iter()
        .find_map(|name| std::fs::read_to_string(root.join(name)).ok())
    else {
        return Vec::new();
    };
    let Ok(kustomization) = serde_saphyr::from_str::<Yaml>(&text) else {
        return Vec::new();
    };
    match kustomization.get("generators") {
        Some(Yaml::Seq(entries)) => entries
            .iter()
            .filter_map(Yaml::as_str)
            .filter(|entry| {
                let path = Path::new(entry);
                path.is_relative() && root.join(path).is_file()
            })
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Create `<config home>/kustomize/plugin/<group>/<version>/redissentinel/RedisSentinel` as a
/// symlink to the running binary; `config_home` defaults to `$XDG_CONFIG_HOME`, else
/// `~/.config` (where kustomize looks when `KUSTOMIZE_PLUGIN_HOME` is unset). An existing
/// symlink is replaced; any other file there is left alone. Returns the link's path.
pub fn install_plugin(config_home: Option<&Path>) -> Result<PathBuf> {
    let config_home = match config_home {
        Some(dir) => dir.to_path_buf(),
        None => default_config_home()?,
    };
    let link = config_home
        .join("kustomize")
        .join("plugin")
        .join(plugin_relative_path());
    let exe = std::env::current_exe()
        .and_then(|exe| exe.canonicalize())
        .context("cannot find this program's own path")?;
    if let Some(parent) = link.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    match std::fs::symlink_metadata(&link) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::remove_file(&link)
            .with_context(|| format!("cannot replace {}", link.display()))?,
        Ok(_) => bail!(
            "{} exists and is not a symlink; remove it first",
            link.display()
        ),
        Err(_) => {}
    }
    std::os::unix::fs::symlink(&exe, &link).with_context(|| {
        format!(
            "cannot create the symlink {} -> {}",
            link.display(),
            exe.display()
        )
    })?;
    Ok(link)
}

fn default_config_home() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config")),
        None => bail!("neither XDG_CONFIG_HOME nor HOME is set; pass --dir"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_path_follows_kustomize_layout() {
        assert_eq!(
            plugin_relative_path(),
            Path::new("redis-sentinel-gen/v1alpha1/redissentinel/RedisSentinel")
        );
        assert!(invoked_as_plugin(Path::new(
            "/x/redissentinel/RedisSentinel"
        )));
        assert!(!invoked_as_plugin(Path::new("/usr/bin/redis-sentinel-gen")));
    }
}
