//! The command line: clap structures only. What each command does lives in `run.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Turn one typed profile into a validated Redis + Sentinel deployment for Kubernetes.
#[derive(Debug, Parser)]
#[command(
    name = "redis-sentinel-gen",
    version,
    after_help = "\
Examples:
  redis-sentinel-gen render                         # the embedded reference profile
  redis-sentinel-gen render profiles/shop.yaml --out deploy/redis
  redis-sentinel-gen validate profiles/*.yaml
  kpt fn eval --exec redis-sentinel-gen --fn-config profile.yaml

With no subcommand and a non-terminal stdin it runs as a KRM function (what kustomize's exec
functions do: they pass no arguments). Installed or symlinked under the name `RedisSentinel` it
is a legacy kustomize exec generator plugin (see `install-kustomize-plugin`)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a profile and print redis-sentinel.yaml (or write it with --out).
    #[command(after_help = "\
Examples:
  redis-sentinel-gen render                            # embedded profile to stdout
  redis-sentinel-gen render profiles/shop.yaml | kubectl apply -f -
  redis-sentinel-gen render profiles/shop.yaml --out deploy/redis
  redis-sentinel-gen render profiles/shop.yaml --runbook > RUNBOOK.md")]
    Render(RenderArgs),
    /// Validate profiles: print every finding of every file; exit 1 if any has an error.
    #[command(after_help = "\
Examples:
  redis-sentinel-gen validate profiles/shop.yaml
  redis-sentinel-gen validate profiles/*.yaml          # many files, one call")]
    Validate(ValidateArgs),
    /// Check that rendered files on disk are up to date: render in memory, print a unified
    /// diff and the command that fixes it, exit 1 when anything differs.
    #[command(after_help = "\
Examples:
  redis-sentinel-gen check profiles/shop.yaml --out deploy/redis
  # in CI or pre-commit: fails until `render profiles/shop.yaml --out deploy/redis` is re-run")]
    Check(CheckArgs),
    /// Run as a KRM function: read a ResourceList on stdin, take the profile from its
    /// functionConfig, write the ResourceList with the generated objects to stdout.
    #[command(after_help = "\
Examples:
  kpt fn eval --exec redis-sentinel-gen --fn-config profile.yaml
  kpt fn eval --exec 'redis-sentinel-gen krm' --fn-config profile.yaml
  redis-sentinel-gen krm < resource-list.yaml")]
    Krm,
    /// Install the legacy kustomize exec plugin: a symlink
    /// DIR/kustomize/plugin/redis-sentinel-gen/v1alpha1/redissentinel/RedisSentinel to this
    /// binary, for `kubectl kustomize --enable-alpha-plugins`.
    #[command(after_help = "\
Examples:
  redis-sentinel-gen install-kustomize-plugin           # into $XDG_CONFIG_HOME or ~/.config
  redis-sentinel-gen install-kustomize-plugin --dir /tmp/xdg
  XDG_CONFIG_HOME=/tmp/xdg kubectl kustomize --enable-alpha-plugins overlay/")]
    InstallKustomizePlugin(InstallPluginArgs),
    /// Print the profile's JSON Schema (draft-07) for editors and check-jsonschema.
    #[command(after_help = "\
Examples:
  redis-sentinel-gen schema > schema/redis-sentinel.schema.json
  check-jsonschema --schemafile schema/redis-sentinel.schema.json profiles/*.yaml")]
    Schema,
    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  redis-sentinel-gen completions bash > /etc/bash_completion.d/redis-sentinel-gen
  redis-sentinel-gen completions zsh > \"${fpath[1]}/_redis-sentinel-gen\"
  redis-sentinel-gen completions fish > ~/.config/fish/completions/redis-sentinel-gen.fish")]
    Completions(CompletionsArgs),
    /// Print the production checklist evaluated from a profile (✓ / ✗ and why); exit 1 when
    /// a profile that is not a development profile fails an item.
    #[command(after_help = "\
Examples:
  redis-sentinel-gen checklist                         # the embedded reference profile
  redis-sentinel-gen checklist profiles/shop.yaml      # in CI: fails until every item passes")]
    Checklist(ChecklistArgs),
    /// Run the rendered deployment on the local Redis binaries, one emulated pod per process,
    /// and put it through every failover scenario: see your config fail over before you
    /// deploy it. Needs Linux, root, redis-server, redis-sentinel and busybox.
    #[command(after_help = "\
Examples:
  sudo redis-sentinel-gen rehearse                     # the embedded reference profile
  sudo redis-sentinel-gen rehearse profiles/shop.yaml --json > rehearsal.json")]
    Rehearse(RehearseArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The profile to render; the embedded reference profile (profiles/welcomebot.yaml) when
    /// absent.
    pub profile: Option<PathBuf>,
    /// Write the whole tree into DIR (redis-sentinel.yaml, kustomization.yaml, clients/,
    /// migration/, RUNBOOK.md) instead of printing. Nothing is written unless the profile is
    /// valid and everything rendered.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print RUNBOOK.md (the operator's commands with this profile's names) instead of
    /// redis-sentinel.yaml.
    #[arg(long, conflicts_with = "out")]
    pub runbook: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Profiles to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The profile the files were rendered from; the embedded reference profile when absent.
    /// Name it exactly as it was named to `render`: the generated headers quote it.
    pub profile: Option<PathBuf>,
    /// The directory `render --out DIR` wrote.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct InstallPluginArgs {
    /// The XDG config directory kustomize searches ($XDG_CONFIG_HOME, else ~/.config).
    #[arg(long, value_name = "XDG_CONFIG_HOME")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// The profile to rehearse; the embedded reference profile when absent.
    pub profile: Option<PathBuf>,
    /// Print the report as JSON on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Runs of the master-kill scenario; the median of their failover times is checked.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=20))]
    pub kill_runs: u8,
    /// Address of the first emulated pod; the others take the next ones (loopback only).
    #[arg(long, default_value_t = crate::rehearse::DEFAULT_FIRST_IP, value_name = "IP")]
    pub first_ip: std::net::Ipv4Addr,
    /// Also write one SVG timeline per scenario into DIR (created if needed).
    #[arg(long, value_name = "DIR")]
    pub svg: Option<PathBuf>,
    /// Run only this scenario (its slug, as in the JSON report); repeat for several.
    #[arg(long = "scenario", value_name = "SLUG", value_parser = clap::builder::PossibleValuesParser::new(crate::rehearse::scenario::SLUGS))]
    pub scenarios: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ChecklistArgs {
    /// The profile to evaluate; the embedded reference profile when absent.
    pub profile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_examples() {
        let cli = Cli::command();
        for sub in cli.get_subcommands() {
            let after = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                after.starts_with("Examples:\n") && after.contains("redis-sentinel-gen"),
                "`{}` has no examples in --help",
                sub.get_name()
            );
        }
    }

    #[test]
    fn completions_cover_every_subcommand() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "redis-sentinel-gen",
                &mut script,
            );
            let script = String::from_utf8_lossy(&script);
            for sub in [
                "render",
                "validate",
                "check",
                "krm",
                "install-kustomize-plugin",
                "schema",
            ] {
                assert!(script.contains(sub), "{shell}: no `{sub}` in\n{script}");
            }
        }
    }
}
