//! The minijinja templates of `templates/`, embedded at build time and looked up by name.
//! Only config-file text is templated; Kubernetes objects are typed values (`render/`).

use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// Every embedded template: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("redis.conf.j2", include_str!("../templates/redis.conf.j2")),
    (
        "sentinel.conf.j2",
        include_str!("../templates/sentinel.conf.j2"),
    ),
    ("lib.sh.j2", include_str!("../templates/lib.sh.j2")),
    (
        "start-redis.sh.j2",
        include_str!("../templates/start-redis.sh.j2"),
    ),
    (
        "prestop-redis.sh.j2",
        include_str!("../templates/prestop-redis.sh.j2"),
    ),
    (
        "failover-redis.sh.j2",
        include_str!("../templates/failover-redis.sh.j2"),
    ),
    (
        "probe-redis.sh.j2",
        include_str!("../templates/probe-redis.sh.j2"),
    ),
    (
        "start-sentinel.sh.j2",
        include_str!("../templates/start-sentinel.sh.j2"),
    ),
    (
        "prestop-sentinel.sh.j2",
        include_str!("../templates/prestop-sentinel.sh.j2"),
    ),
    (
        "probe-sentinel.sh.j2",
        include_str!("../templates/probe-sentinel.sh.j2"),
    ),
    ("runbook.md.j2", include_str!("../templates/runbook.md.j2")),
    (
        "migration-readme.md.j2",
        include_str!("../templates/migration-readme.md.j2"),
    ),
    (
        "migration-migrate.sh.j2",
        include_str!("../templates/migration-migrate.sh.j2"),
    ),
    ("backup.sh.j2", include_str!("../templates/backup.sh.j2")),
    (
        "fence-redis.sh.j2",
        include_str!("../templates/fence-redis.sh.j2"),
    ),
    ("plan.txt.j2", include_str!("../templates/plan.txt.j2")),
    (
        "rotate-password.sh.j2",
        include_str!("../templates/rotate-password.sh.j2"),
    ),
];

fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .context("bug: template syntax config")?;
    env.set_syntax(syntax);
    // Each template is parsed on its first use, not all up front: a render of the deployment
    // never needs the runbook, migration or plan templates, which are half of the text.
    env.set_loader(|name| Ok(source(name)));
    Ok(env)
}

/// The text of the embedded template `name`.
fn source(name: &str) -> Option<&'static str> {
    TEMPLATES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, text)| *text)
}

/// Render the embedded template `name` with `context`.
///
/// A failure here is a bug in the tool (a template and its context disagree), never a
/// problem with the user's profile: the profile was validated before rendering.
pub fn render<C: Serialize>(name: &str, context: &C) -> Result<String> {
    // One environment per process: each template is parsed once, on first use, and several
    // are rendered more than once.
    static ENVIRONMENT: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    let env = ENVIRONMENT
        .get_or_init(|| environment().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow!("{e}"))?;
    // A syntax error in an embedded template shows here, on first use; the test below parses
    // every template, so it never reaches a user.
    let template = env
        .get_template(name)
        .map_err(|e| anyhow!("bug: embedded template {name} cannot be loaded: {e:#}"))?;
    template
        .render(Serde(context))
        .map_err(|e| anyhow!("bug: template {name} failed to render: {e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_parses_and_is_found_by_name() {
        let env = environment().expect("environment");
        for (name, _) in TEMPLATES {
            if let Err(e) = env.get_template(name) {
                panic!("{name}: {e:#}");
            }
        }
        assert!(env.get_template("no-such.j2").is_err());
    }

    #[test]
    fn a_missing_context_value_is_an_error_not_an_empty_string() {
        let err = render("redis.conf.j2", &serde_json::json!({})).unwrap_err();
        assert!(
            err.to_string().contains("bug: template redis.conf.j2"),
            "{err}"
        );
    }
}
