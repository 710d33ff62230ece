//! What each command does: load → validate → resolve → render → emit, with findings on
//! stderr and the exit code of DESIGN §3.1.

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

use crate::cli::{Cli, Command, RenderArgs, ValidateArgs};
use crate::diagnostic::{self, Finding};
use crate::profile::load::{self, Loaded, Source};
use crate::{emit, render, resolve, validate};

/// The profile is valid and everything was written.
pub const EXIT_OK: i32 = 0;
/// Invalid input: findings were printed on stderr (also used when output cannot be written).
pub const EXIT_INVALID: i32 = 1;
/// Usage error: clap printed what is wrong with the arguments (clap's own code).
pub const EXIT_USAGE: i32 = 2;

/// Run the command line `args` (including the program name) and return the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` come through here too, on stdout with exit code 0.
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Render(args) => run_render(&args),
        Command::Validate(args) => run_validate(&args),
        Command::Schema => {
            print!("{}", crate::profile::schema::profile_schema_json());
            EXIT_OK
        }
    }
}

/// Load and validate one source: the profile (if structurally sound) and every finding.
fn check(source: &Source) -> (Option<Loaded>, Vec<Finding>) {
    match load::load(source) {
        Ok(loaded) => {
            let findings = validate::validate(&loaded.profile, &loaded.map);
            (Some(loaded), findings)
        }
        Err(findings) => (None, findings),
    }
}

fn print_findings(findings: &[Finding]) {
    for finding in findings {
        eprintln!("{finding}");
    }
}

fn run_render(args: &RenderArgs) -> i32 {
    let source = match &args.profile {
        Some(path) => match Source::read(path) {
            Ok(source) => source,
            Err(finding) => {
                print_findings(&[*finding]);
                return EXIT_INVALID;
            }
        },
        None => Source::embedded_default(),
    };
    let (loaded, findings) = check(&source);
    print_findings(&findings);
    let loaded = match loaded {
        Some(loaded) if !findings.iter().any(Finding::is_error) => loaded,
        _ => {
            eprintln!(
                "error: {} is not a valid profile ({}); nothing rendered",
                source.name,
                diagnostic::tally(&findings)
            );
            return EXIT_INVALID;
        }
    };
    let deployment = resolve::resolve(&loaded.profile, &source.name);
    let yaml = match render::redis_sentinel_yaml(&deployment) {
        Ok(yaml) => yaml,
        Err(e) => {
            eprintln!("error: {e:#}");
            return EXIT_INVALID;
        }
    };
    let written = match &args.out {
        Some(dir) => emit::write_tree(dir, &[("redis-sentinel.yaml", yaml)]),
        None => std::io::stdout()
            .lock()
            .write_all(yaml.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write to stdout: {e}")),
    };
    match written {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_INVALID
        }
    }
}

fn run_validate(args: &ValidateArgs) -> i32 {
    let mut all = Vec::new();
    let mut invalid_files = 0;
    for path in &args.files {
        let findings = match Source::read(path) {
            Ok(source) => check(&source).1,
            Err(finding) => vec![*finding],
        };
        print_findings(&findings);
        if findings.iter().any(Finding::is_error) {
            invalid_files += 1;
        }
        all.extend(findings);
    }
    let files = args.files.len();
    eprintln!(
        "{}: {files} file{} checked, {invalid_files} invalid ({})",
        if invalid_files == 0 { "ok" } else { "error" },
        if files == 1 { "" } else { "s" },
        diagnostic::tally(&all)
    );
    if invalid_files == 0 {
        EXIT_OK
    } else {
        EXIT_INVALID
    }
}
