//! The other ways in besides the subcommands: the KRM function (a ResourceList on stdin and
//! stdout, for kustomize and kpt), the kustomize legacy exec plugin, and the plugin's
//! installer.

use std::ffi::OsString;
use std::path::Path;

use clap::CommandFactory;

use super::{
    EXIT_INVALID, EXIT_OK, EXIT_USAGE, print_findings, print_stdout, report, valid_or_exit,
};
use crate::cli::{Cli, InstallPluginArgs};
use crate::profile::load::{Capped, read_capped_from};
use crate::{krm, kustomize, pipeline, render};

/// `bare`: started with no subcommand. Then empty stdin (`</dev/null`, a CI step without
/// input) is a usage error rather than a malformed ResourceList: nobody meant to call a KRM
/// function.
pub(super) fn run_krm(bare: bool) -> i32 {
    let input = match read_capped_from(std::io::stdin().lock(), krm::MAX_INPUT_BYTES) {
        Ok(Capped::Whole(input)) => input,
        Ok(Capped::TooLarge) => {
            eprintln!(
                "error: the ResourceList on stdin is larger than {} bytes; no kustomize or kpt \
                 pipeline of one Redis deployment needs that much",
                krm::MAX_INPUT_BYTES
            );
            return EXIT_INVALID;
        }
        Err(e) => {
            eprintln!("error: cannot read the ResourceList from stdin: {e}");
            return EXIT_INVALID;
        }
    };
    if bare && input.trim().is_empty() {
        let _ = Cli::command().write_help(&mut std::io::stderr());
        return EXIT_USAGE;
    }
    let outcome = krm::process(&input);
    print_findings(&outcome.findings);
    if let Some(problem) = &outcome.problem {
        eprintln!("error: {problem}");
    }
    let printed = outcome.output.as_deref().map_or(Ok(()), print_stdout);
    if let Err(e) = printed {
        return report(Err(e));
    }
    if outcome.failed() {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}

pub(super) fn run_kustomize_plugin(args: &[OsString]) -> i32 {
    let [config] = args else {
        eprintln!(
            "error: as the kustomize plugin RedisSentinel this program takes exactly one \
             argument, the generator config file (kustomize passes it)"
        );
        return EXIT_USAGE;
    };
    let source = match kustomize::plugin_source(Path::new(config)) {
        Ok(source) => source,
        Err(finding) => {
            print_findings(&[*finding]);
            return EXIT_INVALID;
        }
    };
    let dep = match valid_or_exit(&source, pipeline::check(&source)) {
        Ok(dep) => dep,
        Err(code) => return code,
    };
    report(render::redis_sentinel_yaml(&dep).and_then(|yaml| print_stdout(&yaml)))
}

pub(super) fn run_install_plugin(args: &InstallPluginArgs) -> i32 {
    match kustomize::install_plugin(args.dir.as_deref()) {
        Ok(link) => {
            eprintln!(
                "installed: {} -> this binary\n  use: kubectl kustomize --enable-alpha-plugins DIR",
                link.display()
            );
            EXIT_OK
        }
        Err(e) => report(Err(e)),
    }
}
