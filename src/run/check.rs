//! `check`: the `--out` tree rendered in memory and compared with the files on disk; a stale
//! tree gets its diff and the command that fixes it.

use super::{EXIT_INVALID, EXIT_OK, print_stdout, read_valid_for_tree, report};
use crate::cli::CheckArgs;
use crate::emit;
use crate::render::{self, clients};

pub(super) fn run_check(args: &CheckArgs) -> i32 {
    let dep = match read_valid_for_tree(args.profile.as_deref(), &args.out) {
        Ok(dep) => dep,
        Err(code) => return code,
    };
    let stale = match render::tree::output_tree(&dep, &args.out).and_then(|files| {
        emit::check_tree(
            &args.out,
            &clients::header(&dep),
            &render::tree::deployment_identity(&dep),
            &files,
        )
    }) {
        Ok(stale) => stale,
        Err(e) => return report(Err(e)),
    };
    if stale.is_empty() {
        return EXIT_OK;
    }
    let diffs: String = stale.iter().map(|file| file.diff.as_str()).collect();
    if let Err(e) = print_stdout(&diffs) {
        return report(Err(e));
    }
    let mut fix = vec![fix_program()];
    fix.push("render".to_string());
    if let Some(profile) = &args.profile {
        fix.push(shell_word(&profile.display().to_string()));
    }
    fix.push("--out".to_string());
    fix.push(shell_word(&args.out.display().to_string()));
    let changed: Vec<&str> = stale
        .iter()
        .filter(|s| !s.leftover)
        .map(|s| s.relative.as_str())
        .collect();
    let leftovers: Vec<&str> = stale
        .iter()
        .filter(|s| s.leftover)
        .map(|s| s.relative.as_str())
        .collect();
    let mut what = Vec::new();
    if !changed.is_empty() {
        what.push(format!("differs: {}", changed.join(", ")));
    }
    if !leftovers.is_empty() {
        what.push(format!(
            "generated earlier and no longer rendered (render removes them): {}",
            leftovers.join(", ")
        ));
    }
    eprintln!(
        "error: rendered output in {} is out of date with {}\n  {}\n  fix: {}",
        args.out.display(),
        dep.source,
        what.join("\n  "),
        fix.join(" ")
    );
    if std::env::var_os("PRE_COMMIT").is_some() {
        eprintln!(
            "  then: git add {} && pre-commit run --all-files",
            shell_word(&args.out.display().to_string())
        );
    }
    EXIT_INVALID
}

/// The program in the printed fix command: under pre-commit (which sets `PRE_COMMIT` for its
/// hooks) this binary's own path, since pre-commit's environment is not on the user's PATH, so
/// the command works where the hook ran; the plain name otherwise.
fn fix_program() -> String {
    std::env::var_os("PRE_COMMIT")
        .and_then(|_| std::env::current_exe().ok())
        .map_or_else(
            || "redis-sentinel-gen".to_string(),
            |exe| shell_word(&exe.display().to_string()),
        )
}

/// `word` as one shell word: as is when it holds only characters no shell treats specially,
/// else single-quoted, so the printed fix command can be pasted.
pub(super) fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
