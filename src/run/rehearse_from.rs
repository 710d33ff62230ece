//! `rehearse --from OLD [NEW] [--then NEW2]…`: every profile validated and rendered, the
//! change rehearsal run ([`crate::rehearse::change`]), its report on stdout; exit 1 when a
//! step misses a bound or the rehearsal cannot run.

use std::path::Path;

use super::{EXIT_INVALID, EXIT_OK, EXIT_USAGE, print_stdout, read_valid};
use crate::cli::RehearseArgs;
use crate::rehearse::change::{self, Stage};
use crate::render;

pub(super) fn run(args: &RehearseArgs, old: &Path) -> i32 {
    if !args.first_ip.is_loopback() {
        eprintln!(
            "error: --first-ip {} is not a loopback address",
            args.first_ip
        );
        return EXIT_USAGE;
    }
    let paths: Vec<&Path> = std::iter::once(old)
        .chain(args.profile.as_deref())
        .chain(args.then.iter().map(|p| p.as_path()))
        .collect();
    let mut stages = Vec::new();
    for path in paths {
        let dep = match read_valid(Some(path)) {
            Ok(dep) => dep,
            Err(code) => return code,
        };
        let rendered = match render::redis_sentinel_yaml(&dep) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {}: {e:#}", path.display());
                return EXIT_INVALID;
            }
        };
        stages.push(Stage {
            name: path.display().to_string(),
            dep,
            rendered,
        });
    }
    let options = change::Options {
        first_ip: args.first_ip,
    };
    let report = match change::rehearse(&stages, &options, &mut |line| {
        eprintln!("rehearse: {line}");
    }) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: the rehearsal could not finish: {e:#}");
            return EXIT_INVALID;
        }
    };
    let text = if args.json {
        format!("{:#}\n", report.json())
    } else {
        report.table()
    };
    match print_stdout(&text) {
        Ok(()) if report.passed() => EXIT_OK,
        Ok(()) => {
            eprintln!("error: a step of the change rehearsal missed its bounds (see above)");
            EXIT_INVALID
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_INVALID
        }
    }
}
