//! The command line: clap structures only. What each command does lives in `run.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `--version`: the package version and the commit it was built from (`unknown` outside a
/// git checkout), so a report or an issue can name the exact build.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("REDIS_SENTINEL_GEN_COMMIT"),
    ")"
);

/// Turn one typed profile into a validated Redis + Sentinel deployment for Kubernetes.
#[derive(Debug, Parser)]
#[command(
    name = "redis-sentinel-gen",
    version = VERSION,
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
    /// Print a commented starter profile (the reference deployment, every field explained),
    /// or write it with -o.
    #[command(after_help = "\
Examples:
  redis-sentinel-gen init > profiles/shop.yaml
  redis-sentinel-gen init -o profiles/shop.yaml        # refuses to overwrite a file
  redis-sentinel-gen init --from-base deploy/base -o profiles/shop.yaml")]
    Init(InitArgs),
    /// Explain one field of the profile: type, valid values, meaning, default, sub-fields.
    #[command(after_help = "\
Examples:
  redis-sentinel-gen explain spec.sentinel.quorum
  redis-sentinel-gen explain spec.clients            # a list: its items' fields
  redis-sentinel-gen explain                         # the top level
  redis-sentinel-gen explain --markdown > docs/profile-reference.md")]
    Explain(ExplainArgs),
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
  sudo redis-sentinel-gen rehearse profiles/shop.yaml --json > rehearsal.json
  sudo redis-sentinel-gen rehearse --migration --base ../base   # the migration instead
  sudo redis-sentinel-gen rehearse --from profiles/shop.yaml profiles/shop-new.yaml
  sudo redis-sentinel-gen rehearse --from old.yaml new.yaml --then newer.yaml --json")]
    Rehearse(RehearseArgs),
    /// What a profile change does to the running deployment, before it is applied: the
    /// objects it changes, whether `kubectl apply` alone is safe, which pods restart, and the
    /// manual steps (with this deployment's names) where apply is not enough. Exit 0: apply
    /// alone is safe; 3: manual steps needed; 1: invalid input.
    #[command(after_help = "\
Examples:
  redis-sentinel-gen plan profiles/shop.yaml profiles/shop-new.yaml
  redis-sentinel-gen plan --from deploy/redis profiles/shop.yaml   # against the committed tree
  redis-sentinel-gen plan --from deploy/redis profiles/shop.yaml --json")]
    Plan(PlanArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The profile to render (`-` reads it from stdin); the embedded reference profile
    /// (profiles/welcomebot.yaml) when absent.
    pub profile: Option<PathBuf>,
    /// Write the whole tree into DIR (redis-sentinel.yaml, kustomization.yaml, clients/,
    /// migration/, RUNBOOK.md, and .redis-sentinel-gen.files, the record of what it wrote)
    /// instead of printing. Files an earlier render wrote and this one does not are removed;
    /// nothing else in DIR is touched. Either the whole tree is replaced or, on an error, the
    /// previous one stays.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print RUNBOOK.md (the operator's commands with this profile's names) instead of
    /// redis-sentinel.yaml.
    #[arg(long, conflicts_with = "out")]
    pub runbook: bool,
    /// With --out: do not print the next-steps note on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Write the profile to FILE (which must not exist yet) instead of printing it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Learn the clients, the old Redis and the namespace from an existing kustomize base
    /// (built with `kubectl kustomize DIR`).
    #[arg(long, value_name = "DIR")]
    pub from_base: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The field's path, e.g. `spec.sentinel.quorum` or `spec.clients[].name`; the top
    /// level when absent.
    #[arg(value_name = "FIELD", default_value = "", conflicts_with = "markdown")]
    pub field: String,
    /// Print the reference of every field as Markdown (what docs/profile-reference.md holds).
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Profiles to check (`-` reads one from stdin).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The profile the files were rendered from (`-` reads it from stdin); the embedded
    /// reference profile when absent. Name it exactly as it was named to `render`: the
    /// generated headers quote it.
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
    /// The profile to rehearse; the embedded reference profile when absent. With --from:
    /// the changed profile (NEW) applied to the running OLD one.
    pub profile: Option<PathBuf>,
    /// Rehearse a change instead of the failovers: run this profile (OLD), then apply NEW
    /// the way Kubernetes would, with the manual steps `plan OLD NEW` prints run as printed,
    /// while a client writes; the report and the bounds are per step. Without NEW, OLD
    /// runs alone and is checked.
    #[arg(long, value_name = "OLD", conflicts_with_all = ["migration", "scenarios", "svg"])]
    pub from: Option<PathBuf>,
    /// With --from and NEW: then change NEW into this profile, and so on (repeat).
    #[arg(long, value_name = "PROFILE", requires = "profile")]
    pub then: Vec<PathBuf>,
    /// Print the report as JSON on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Runs of the master-kill scenario; the median of their failover times is checked.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=20))]
    pub kill_runs: u8,
    /// Address of the first emulated pod; the others take the next ones (loopback only).
    #[arg(long, default_value_t = crate::rehearse::DEFAULT_FIRST_IP, value_name = "IP")]
    pub first_ip: std::net::Ipv4Addr,
    /// Rehearse the migration from a single Redis (spec.migration) instead of the failovers:
    /// the phases and migrate.sh, with the clients switching over, in four scenarios.
    #[arg(long)]
    pub migration: bool,
    /// With --migration: the kustomize base the old Redis is taken from (the workload behind
    /// spec.migration.from.host, with its container's arguments); a plain redis-server when
    /// absent.
    #[arg(long, value_name = "DIR", requires = "migration")]
    pub base: Option<std::path::PathBuf>,
    /// With --migration: run this scenario only.
    #[arg(long, value_enum, value_name = "SCENARIO", requires = "migration")]
    pub only: Option<crate::rehearse::migration::Scenario>,
    /// Run only this scenario (its slug, as in the JSON report); repeat for several. Every
    /// scenario when absent.
    #[arg(long = "scenario", value_name = "SLUG", value_parser = scenario_slug)]
    pub scenarios: Vec<crate::rehearse::scenario::Kind>,
    /// Also write one SVG timeline per scenario into DIR (created if needed).
    #[arg(long, value_name = "DIR")]
    pub svg: Option<PathBuf>,
}

fn scenario_slug(slug: &str) -> Result<crate::rehearse::scenario::Kind, String> {
    use crate::rehearse::scenario::Kind;
    Kind::from_slug(slug).ok_or_else(|| {
        let valid: Vec<&str> = Kind::ALL.iter().map(|k| k.slug()).collect();
        format!("no scenario {slug:?}; valid: {}", valid.join(", "))
    })
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The profile now deployed (OLD) and the changed one (NEW); with `--from`, only NEW.
    #[arg(value_name = "PROFILE", num_args = 1..=2, required = true)]
    pub profiles: Vec<PathBuf>,
    /// Take OLD from a committed `render --out` tree (its `redis-sentinel.yaml`).
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// The plan as JSON on stdout.
    #[arg(long)]
    pub json: bool,
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
