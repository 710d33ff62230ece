//! The `results` entries of the KRM functions spec: a message, its severity, and the object,
//! field and file it is about.

use super::resource_list::Header;
use crate::diagnostic::Finding;
use crate::yaml_tree::Yaml;

/// The one-line result message: the finding with what was found and what is valid.
pub(super) fn summary(finding: &Finding) -> String {
    let mut message = finding.message.clone();
    for (label, text) in [
        ("found", &finding.found),
        ("valid", &finding.valid),
        ("help", &finding.help),
    ] {
        if let Some(text) = text {
            message.push_str(&format!("; {label}: {text}"));
        }
    }
    message
}

/// A `results` entry of the KRM spec.
pub(super) fn result(
    severity: &str,
    message: &str,
    resource: Option<Yaml>,
    field: Option<&str>,
    file: Option<&str>,
) -> Yaml {
    let mut entry = vec![
        ("message".to_string(), Yaml::Str(message.to_string())),
        ("severity".to_string(), Yaml::Str(severity.to_string())),
    ];
    if let Some(resource) = resource {
        entry.push(("resourceRef".to_string(), resource));
    }
    if let Some(field) = field {
        entry.push((
            "field".to_string(),
            Yaml::map([("path", Yaml::Str(field.into()))]),
        ));
    }
    if let Some(file) = file {
        entry.push((
            "file".to_string(),
            Yaml::map([("path", Yaml::Str(file.into()))]),
        ));
    }
    Yaml::Map(entry)
}

/// `resourceRef` of an object: apiVersion, kind, name and namespace when present.
pub(super) fn resource_ref(header: &Header) -> Option<Yaml> {
    let mut entries = Vec::new();
    for (key, value) in [
        ("apiVersion", &header.api_version),
        ("kind", &header.kind),
        ("name", &header.name),
        ("namespace", &header.namespace),
    ] {
        if let Some(value) = value {
            entries.push((key.to_string(), Yaml::Str(value.clone())));
        }
    }
    (!entries.is_empty()).then_some(Yaml::Map(entries))
}
