//! The command line: clap structures only. What each command does lives in `run.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Turn one typed profile into a validated Redis + Sentinel deployment for Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "redis-sentinel-gen", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a profile and print redis-sentinel.yaml (or write it with --out).
    Render(RenderArgs),
    /// Validate profiles: print every finding of every file; exit 1 if any has an error.
    Validate(ValidateArgs),
    /// Print the profile's JSON Schema (draft-07) for editors and check-jsonschema.
    Schema,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The profile to render; the embedded reference profile (profiles/welcomebot.yaml) when
    /// absent.
    pub profile: Option<PathBuf>,
    /// Write DIR/redis-sentinel.yaml instead of printing it. Nothing is written unless the
    /// profile is valid and everything rendered.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Profiles to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}
