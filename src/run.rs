//! What each command does: the pipeline (load → resolve → validate, `crate::pipeline`), then
//! render → emit, with findings on stderr and the exit code of DESIGN §3.1.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::Path;

use clap::{CommandFactory, Parser};

mod adapters;
mod check;

use adapters::{run_install_plugin, run_krm, run_kustomize_plugin};
use check::{run_check, shell_word};

use crate::cli::{
    ChecklistArgs, Cli, Command, ExplainArgs, InitArgs, PlanArgs, RehearseArgs, RenderArgs,
    ValidateArgs,
};
use crate::diagnostic::{self, Finding};
use crate::kustomization::old_redis;
use crate::profile::load::Source;
use crate::render::{clients, runbook};
use crate::resolve::Deployment;
use crate::{emit, kustomize, pipeline, render};

mod rehearse_from;

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
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // kustomize runs a legacy exec plugin by its file name, with the config file as the only
    // argument, so the name decides the mode before any argument parsing.
    if args
        .first()
        .is_some_and(|argv0| kustomize::invoked_as_plugin(Path::new(argv0)))
    {
        return run_kustomize_plugin(&args[1..]);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` come through here too, on stdout with exit code 0.
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    match cli.command {
        Some(Command::Render(args)) => run_render(&args),
        Some(Command::Validate(args)) => run_validate(&args),
        Some(Command::Check(args)) => run_check(&args),
        Some(Command::Krm) => run_krm(false),
        Some(Command::InstallKustomizePlugin(args)) => run_install_plugin(&args),
        Some(Command::Init(args)) => run_init(&args),
        Some(Command::Explain(args)) => run_explain(&args),
        Some(Command::Schema) => {
            report(print_stdout(&crate::profile::schema::profile_schema_json()))
        }
        Some(Command::Rehearse(args)) => run_rehearse(&args),
        Some(Command::Checklist(args)) => run_checklist(&args),
        Some(Command::Plan(args)) => run_plan(&args),
        Some(Command::Completions(args)) => {
            // Generated into memory first: clap_complete panics on a write error (a closed
            // pipe), print_stdout reports it.
            let mut script = Vec::new();
            clap_complete::generate(
                args.shell,
                &mut Cli::command(),
                "redis-sentinel-gen",
                &mut script,
            );
            report(print_stdout(&String::from_utf8_lossy(&script)))
        }
        // kustomize's exec KRM functions and `kpt fn eval --exec` with a bare path pass no
        // arguments; a person at a terminal gets the usage instead of a silent wait on stdin.
        None if !std::io::stdin().is_terminal() => run_krm(true),
        None => {
            let _ = Cli::command().write_help(&mut std::io::stderr());
            EXIT_USAGE
        }
    }
}

fn print_findings(findings: &[Finding]) {
    for finding in findings {
        eprintln!("{finding}");
    }
}

/// The profile at `profile` (or the embedded default), through the pipeline; the exit code
/// when it is not valid, with the findings already printed.
fn read_valid(profile: Option<&Path>) -> Result<Deployment, i32> {
    let source = read_source(profile)?;
    valid_or_exit(&source, pipeline::check(&source))
}

/// As [`read_valid`], for a command that writes or checks the tree in `out`
/// ([`pipeline::check_for_tree`]).
fn read_valid_for_tree(profile: Option<&Path>, out: &Path) -> Result<Deployment, i32> {
    let source = read_source(profile)?;
    valid_or_exit(&source, pipeline::check_for_tree(&source, out))
}

fn read_source(profile: Option<&Path>) -> Result<Source, i32> {
    match profile {
        Some(path) => Source::read(path).map_err(|finding| {
            print_findings(&[*finding]);
            EXIT_INVALID
        }),
        None => Ok(Source::embedded_default()),
    }
}

/// Print the findings of `checked`, and give its deployment unless one of them is an error.
fn valid_or_exit(source: &Source, checked: pipeline::Checked) -> Result<Deployment, i32> {
    print_findings(&checked.findings);
    let tally = diagnostic::tally(&checked.findings);
    match checked.valid() {
        Some((_, dep)) => Ok(dep),
        None => {
            eprintln!(
                "error: {} is not a valid profile ({tally}); nothing rendered",
                source.name
            );
            Err(EXIT_INVALID)
        }
    }
}

fn report(result: anyhow::Result<()>) -> i32 {
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_INVALID
        }
    }
}

fn print_stdout(text: &str) -> anyhow::Result<()> {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write to stdout: {e}"))
}

fn run_render(args: &RenderArgs) -> i32 {
    let dep = match &args.out {
        Some(dir) => read_valid_for_tree(args.profile.as_deref(), dir),
        None => read_valid(args.profile.as_deref()),
    };
    let dep = match dep {
        Ok(dep) => dep,
        Err(code) => return code,
    };
    report(match &args.out {
        Some(dir) => render::tree::output_tree(&dep, dir)
            .and_then(|files| {
                emit::write_tree(
                    dir,
                    &clients::header(&dep),
                    &render::tree::deployment_identity(&dep),
                    &files,
                )
            })
            .map(|()| {
                if !args.quiet {
                    eprint!("{}", crate::next_steps::note(&dep, dir));
                }
            }),
        None if args.runbook => runbook::runbook(&dep).and_then(|text| print_stdout(&text)),
        None => render::redis_sentinel_yaml(&dep).and_then(|yaml| print_stdout(&yaml)),
    })
}

fn run_validate(args: &ValidateArgs) -> i32 {
    let mut all = Vec::new();
    let mut invalid_files = 0;
    for path in &args.files {
        let findings = match Source::read(path) {
            Ok(source) => pipeline::check(&source).findings,
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

/// `rehearse`: render, run every scenario on emulated pods, print the report; exit 1 when
/// a scenario misses its bound or the rehearsal cannot run.
fn run_rehearse(args: &RehearseArgs) -> i32 {
    if let Some(old) = &args.from {
        return rehearse_from::run(args, old);
    }
    let dep = match read_valid(args.profile.as_deref()) {
        Ok(dep) => dep,
        Err(code) => return code,
    };
    if !args.first_ip.is_loopback() {
        eprintln!(
            "error: --first-ip {} is not a loopback address",
            args.first_ip
        );
        return EXIT_USAGE;
    }
    if args.migration {
        return run_rehearse_migration(args, &dep);
    }
    let options = crate::rehearse::Options {
        first_ip: args.first_ip,
        kill_runs: usize::from(args.kill_runs),
        only: args.scenarios.clone(),
    };
    let report = render::redis_sentinel_yaml(&dep).and_then(|rendered| {
        crate::rehearse::rehearse(&dep, &rendered, &options, &mut |line| {
            eprintln!("rehearse: {line}");
        })
    });
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: the rehearsal could not finish: {e:#}");
            return EXIT_INVALID;
        }
    };
    if let Some(dir) = &args.svg {
        match crate::rehearse::svg::write_all(&report, dir) {
            Ok(files) => eprintln!(
                "rehearse: {} timelines written to {}",
                files.len(),
                dir.display()
            ),
            Err(e) => {
                eprintln!("error: {e:#}");
                return EXIT_INVALID;
            }
        }
    }
    let text = if args.json {
        format!("{:#}\n", report.json())
    } else {
        report.table()
    };
    match print_stdout(&text) {
        Ok(()) if report.passed() => EXIT_OK,
        Ok(()) => EXIT_INVALID,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_INVALID
        }
    }
}

/// `rehearse --migration`: every migration scenario; the summaries (or JSON) on stdout;
/// exit 1 when one misses its bounds or cannot run.
fn run_rehearse_migration(args: &RehearseArgs, dep: &Deployment) -> i32 {
    use crate::rehearse::migration;
    let Some(from) = dep.migration.as_ref().map(|m| &m.from) else {
        eprintln!("error: the profile has no spec.migration to rehearse");
        return EXIT_INVALID;
    };
    let old = match &args.base {
        Some(base) => match old_redis::find(base, &from.host, from.port) {
            Ok(old) => Some(old),
            Err(why) => {
                eprintln!("error: --base {}: {why}", base.display());
                return EXIT_INVALID;
            }
        },
        None => None,
    };
    let options = migration::Options {
        first_ip: args.first_ip,
        old_ip: migration::old_ip(args.first_ip),
        preloaded: migration::DEFAULT_PRELOADED,
    };
    let mut outcomes = Vec::new();
    for scenario in migration::SCENARIOS
        .into_iter()
        .filter(|s| args.only.is_none_or(|only| only == *s))
    {
        match migration::run(dep, old.as_ref(), scenario, &options, &mut |line| {
            eprintln!("rehearse: {line}");
        }) {
            Ok(outcome) => {
                eprintln!("rehearse: {}", outcome.summary());
                outcomes.push(outcome);
            }
            Err(e) => {
                eprintln!("error: {}: {e:#}", scenario.title());
                return EXIT_INVALID;
            }
        }
    }
    let text = if args.json {
        let all: Vec<serde_json::Value> = outcomes.iter().map(migration::Outcome::json).collect();
        format!("{:#}\n", serde_json::Value::Array(all))
    } else {
        outcomes
            .iter()
            .map(|o| format!("{}\n", o.summary()))
            .collect()
    };
    match print_stdout(&text) {
        Ok(()) if outcomes.iter().all(migration::Outcome::passed) => EXIT_OK,
        Ok(()) => EXIT_INVALID,
        Err(e) => report(Err(e)),
    }
}

/// `checklist`: the production checklist on stdout; exit 1 when a profile that is not a
/// development profile fails an item (or the profile is invalid).
fn run_checklist(args: &ChecklistArgs) -> i32 {
    let dep = match read_valid(args.profile.as_deref()) {
        Ok(dep) => dep,
        Err(code) => return code,
    };
    let items = crate::checklist::evaluate(&dep);
    if let Err(e) = print_stdout(&crate::checklist::report(&dep, &items)) {
        return report(Err(e));
    }
    if crate::checklist::fails(&dep, &items) {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}

/// `init`: the starter profile on stdout, or in a new file (never over an existing one).
fn run_init(args: &InitArgs) -> i32 {
    let made = match &args.from_base {
        None => crate::init::starter_profile(),
        Some(base) => crate::init::from_base::learn(base).and_then(|learned| {
            let (text, notes) = crate::init::starter_profile_from_base(&learned, base)?;
            for note in notes {
                eprintln!("note: {note}");
            }
            Ok(text)
        }),
    };
    let text = match made {
        Ok(text) => text,
        Err(e) => return report(Err(e)),
    };
    // What init prints must validate as it stands; a finding here is a bug or a base whose
    // names no profile can hold, and either way nothing is written.
    let source = Source {
        name: "the generated profile".to_string(),
        text: text.clone(),
    };
    let findings = pipeline::check(&source).findings;
    if findings.iter().any(Finding::is_error) {
        print_findings(&findings);
        eprintln!("error: the profile made from the base is not valid; nothing written");
        return EXIT_INVALID;
    }
    let Some(path) = &args.output else {
        return report(print_stdout(&text));
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    match written {
        Ok(()) => {
            eprintln!(
                "wrote {}; next: edit it, then redis-sentinel-gen validate {}",
                path.display(),
                shell_word(&path.display().to_string())
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: cannot create {}: {e}", path.display());
            EXIT_INVALID
        }
    }
}

/// `explain FIELD`: the field's documentation on stdout; an unknown field is invalid input.
fn run_explain(args: &ExplainArgs) -> i32 {
    if args.markdown {
        return report(print_stdout(&crate::explain::reference_markdown()));
    }
    match crate::explain::explain(&args.field) {
        Ok(text) => report(print_stdout(&text)),
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_INVALID
        }
    }
}

/// `plan`: OLD (a profile, or the `redis-sentinel.yaml` of `--from DIR`) and NEW rendered and
/// compared; exit 0 when apply alone is safe, 3 when manual steps are needed, 1 on invalid
/// input, 2 on a wrong number of profiles.
fn run_plan(args: &PlanArgs) -> i32 {
    let (old, new) = match (&args.from, args.profiles.as_slice()) {
        (Some(dir), [new]) => {
            let path = dir.join(render::GENERATED_FILE);
            match std::fs::read_to_string(&path) {
                Ok(text) => (Ok(text), new),
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", path.display());
                    return EXIT_INVALID;
                }
            }
        }
        (None, [old, new]) => (rendered(old), new),
        (Some(_), _) => {
            eprintln!("error: with --from DIR, give only the NEW profile");
            return EXIT_USAGE;
        }
        (None, _) => {
            eprintln!("error: give the OLD and the NEW profile (or --from DIR and NEW)");
            return EXIT_USAGE;
        }
    };
    let new_path = new;
    let (old, new) = match (old, rendered(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let delete_old = match (&args.from, args.profiles.as_slice()) {
        (Some(dir), _) => format!(
            "kubectl delete -f {}",
            shell_word(&dir.join(render::GENERATED_FILE).display().to_string())
        ),
        (None, [old, ..]) => format!(
            "redis-sentinel-gen render {} | kubectl delete -f -",
            shell_word(&old.display().to_string())
        ),
        (None, []) => crate::plan::DELETE_OLD_OBJECTS.to_string(),
    };
    let new_profile = shell_word(&new_path.display().to_string());
    let plan = match crate::plan::plan(&old, &new) {
        Ok(plan) => plan.naming_inputs(&new_profile, &delete_old),
        Err(e) => {
            eprintln!("error: cannot plan: {e:#}");
            return EXIT_INVALID;
        }
    };
    let text = if args.json {
        serde_json::to_string_pretty(&plan)
            .map(|j| format!("{j}\n"))
            .map_err(anyhow::Error::from)
    } else {
        crate::templates::render("plan.txt.j2", &plan)
    };
    match text.and_then(|t| print_stdout(&t)) {
        Ok(()) => plan.exit_code(),
        Err(e) => report(Err(e)),
    }
}

/// `redis-sentinel.yaml` of the profile at `path`; the exit code when it cannot be rendered.
fn rendered(path: &Path) -> Result<String, i32> {
    let dep = read_valid(Some(path))?;
    render::redis_sentinel_yaml(&dep).map_err(|e| report(Err(e)))
}
