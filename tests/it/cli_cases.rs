//! The command line's behaviour as data: each file in `tests/cli-cases/` is a list of runs of
//! the binary, each with its arguments, its stdin, and the exit code, stdout and stderr it
//! must give, byte for byte. A case file reads like a terminal session:
//!
//! ```text
//! # What the case shows (comment lines, before the first run).
//! >>> validate profiles/welcomebot.yaml tests/bad/even-sentinels.yaml
//! <<< tests/cli-cases/inputs/profile.yaml
//! ? 1
//! --- stdout
//! --- stderr
//! error: …
//! ```
//!
//! - `>>> ARGS` starts a run: the arguments after the program name, split on spaces (`'…'`
//!   quotes one argument with spaces). The binary runs in the repository root.
//! - `<<< FILE` (optional) feeds a repository file to stdin; without it stdin is empty.
//! - `? N` is the exit code it must give.
//! - `--- stdout` and `--- stderr` are followed by the exact text it must print (to the next
//!   `>>>`, `--- ` or the end); a line `\ no newline at end` after a section says the output does
//!   not end with a newline. A setup run may leave a section out: then that stream is not
//!   compared (its exit code always is).
//!
//! In arguments, `$DIR` is a fresh scratch directory of the case and `$REPO` the repository
//! root; in outputs, those paths are written back as `$DIR` and `$REPO`.
//!
//! `REDIS_SENTINEL_GEN_BLESS=1 cargo test --test it cli_cases::` rewrites the exit codes and the
//! sections that are present with what the binary gave; read the diff before committing.

use crate::support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const NO_NEWLINE: &str = "\\ no newline at end";

/// One run of the binary and what it must give.
#[derive(Debug, Default)]
struct Run {
    args: String,
    stdin: Option<String>,
    code: Option<i32>,
    stdout: Option<String>,
    stderr: Option<String>,
}

/// A case file: its opening comment lines and its runs.
#[derive(Debug, Default)]
struct Case {
    comments: Vec<String>,
    runs: Vec<Run>,
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    None,
    Stdout,
    Stderr,
}

fn parse(path: &Path) -> Case {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let at = |number: usize| format!("{}:{}", path.display(), number + 1);
    let mut case = Case::default();
    let mut section = Section::None;
    for (number, line) in text.lines().enumerate() {
        if let Some(args) = line.strip_prefix(">>>") {
            case.runs.push(Run {
                args: args.trim().to_string(),
                ..Run::default()
            });
            section = Section::None;
            continue;
        }
        let Some(run) = case.runs.last_mut() else {
            assert!(
                line.starts_with('#') || line.is_empty(),
                "{}: only comments may come before the first `>>>` run",
                at(number)
            );
            case.comments.push(line.to_string());
            continue;
        };
        match line {
            "--- stdout" => {
                assert!(run.stdout.is_none(), "{}: a second stdout", at(number));
                run.stdout = Some(String::new());
                section = Section::Stdout;
            }
            "--- stderr" => {
                assert!(run.stderr.is_none(), "{}: a second stderr", at(number));
                run.stderr = Some(String::new());
                section = Section::Stderr;
            }
            _ if section != Section::None => {
                let text = match section {
                    Section::Stdout => run.stdout.as_mut(),
                    _ => run.stderr.as_mut(),
                }
                .expect("the section was opened");
                if line == NO_NEWLINE {
                    assert!(text.pop() == Some('\n'), "{}: nothing to cut", at(number));
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            _ => {
                if let Some(file) = line.strip_prefix("<<< ") {
                    run.stdin = Some(file.to_string());
                } else if let Some(code) = line.strip_prefix("? ") {
                    run.code = Some(
                        code.parse()
                            .unwrap_or_else(|e| panic!("{}: exit code {code:?}: {e}", at(number))),
                    );
                } else {
                    panic!(
                        "{}: expected `<<< FILE`, `? CODE`, `--- stdout` or `--- stderr`, found {line:?}",
                        at(number)
                    );
                }
            }
        }
    }
    assert!(!case.runs.is_empty(), "{}: no `>>>` run", path.display());
    for run in &case.runs {
        assert!(
            run.code.is_some(),
            "{}: `>>> {}` has no `? CODE`",
            path.display(),
            run.args
        );
    }
    case
}

/// The case file that says `case` (for blessing).
fn write(case: &Case) -> String {
    let mut out = String::new();
    for line in &case.comments {
        out.push_str(line);
        out.push('\n');
    }
    for run in &case.runs {
        if run.args.is_empty() {
            out.push_str(">>>\n");
        } else {
            out.push_str(&format!(">>> {}\n", run.args));
        }
        if let Some(stdin) = &run.stdin {
            out.push_str(&format!("<<< {stdin}\n"));
        }
        out.push_str(&format!("? {}\n", run.code.unwrap_or_default()));
        for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            if let Some(text) = text {
                out.push_str(&format!("--- {name}\n{text}"));
                if !text.is_empty() && !text.ends_with('\n') {
                    out.push_str(&format!("\n{NO_NEWLINE}\n"));
                }
            }
        }
    }
    out
}

/// `args` split on spaces, `'…'` quoting one argument.
fn split(args: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = args.trim();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('\'') {
            let (word, after) = quoted
                .split_once('\'')
                .unwrap_or_else(|| panic!("unclosed quote in {args:?}"));
            words.push(word.to_string());
            rest = after.trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            words.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    words
}

/// What the binary gave for `run`: exit code, stdout, stderr, with `$DIR` and `$REPO` written
/// back for their paths.
fn execute(run: &Run, dir: &Path) -> (i32, String, String) {
    let (dir_text, repo_text) = (
        dir.display().to_string(),
        support::repo_root().display().to_string(),
    );
    let args: Vec<String> = split(&run.args)
        .into_iter()
        .map(|a| a.replace("$DIR", &dir_text).replace("$REPO", &repo_text))
        .collect();
    let stdin = run.stdin.as_ref().map_or_else(Vec::new, |file| {
        std::fs::read(support::repo_root().join(file))
            .unwrap_or_else(|e| panic!("cannot read the stdin file {file}: {e}"))
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_redis-sentinel-gen"))
        .args(&args)
        .current_dir(support::repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run redis-sentinel-gen: {e}"));
    let mut pipe = child.stdin.take().expect("stdin is piped");
    // A writer thread: the binary may fill its stdout before it has read all of stdin.
    let feeder = std::thread::spawn(move || {
        // A binary that exits before reading everything closes the pipe: not this test's error.
        let _ = pipe.write_all(&stdin);
    });
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("redis-sentinel-gen did not finish: {e}"));
    feeder.join().expect("the stdin writer");
    let text = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .replace(&dir_text, "$DIR")
            .replace(&repo_text, "$REPO")
    };
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

fn cases() -> Vec<PathBuf> {
    let dir = support::repo_root().join("tests/cli-cases");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    cases.sort();
    cases
}

/// The differences between what `case` expects and what the binary gave, each with a diff;
/// with `bless`, `case` takes what the binary gave instead.
fn check(name: &str, case: &mut Case, bless: bool) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("rsg-cli-case-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut differences = Vec::new();
    for run in &mut case.runs {
        let (code, stdout, stderr) = execute(run, &dir);
        if bless {
            run.code = Some(code);
            run.stdout = run.stdout.as_ref().map(|_| stdout);
            run.stderr = run.stderr.as_ref().map(|_| stderr);
            continue;
        }
        if run.code != Some(code) {
            differences.push(format!(
                "{name}: `>>> {}` exited {code}, expected {}\n--- stderr\n{stderr}",
                run.args,
                run.code.unwrap_or_default()
            ));
        }
        for (stream, expected, actual) in [
            ("stdout", &run.stdout, &stdout),
            ("stderr", &run.stderr, &stderr),
        ] {
            if let Some(expected) = expected
                && expected != actual
            {
                let diff = similar::TextDiff::from_lines(expected.as_str(), actual.as_str());
                differences.push(format!(
                    "{name}: `>>> {}` {stream} differs (- expected, + actual):\n{}",
                    run.args,
                    diff.unified_diff().context_radius(2)
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    differences
}

#[test]
fn every_cli_case_gives_its_exit_code_and_output() {
    let bless = std::env::var_os("REDIS_SENTINEL_GEN_BLESS").is_some_and(|v| v == "1");
    let cases = cases();
    assert!(
        cases.len() >= 5,
        "only {} cases in tests/cli-cases",
        cases.len()
    );
    let mut differences = Vec::new();
    for path in cases {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut case = parse(&path);
        differences.extend(check(&name, &mut case, bless));
        if bless {
            std::fs::write(&path, write(&case))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
    }
    assert!(
        differences.is_empty(),
        "{} difference(s):\n\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// The case format reads back what it writes, also for output without a final newline.
#[test]
fn a_case_file_reads_back_what_it_writes() {
    let case = Case {
        comments: vec!["# a comment".to_string()],
        runs: vec![
            Run {
                args: "render 'a b' --out $DIR/x".to_string(),
                stdin: Some("profiles/welcomebot.yaml".to_string()),
                code: Some(1),
                stdout: Some("no newline".to_string()),
                stderr: Some("line one\n\nline three\n".to_string()),
            },
            Run {
                args: "validate".to_string(),
                code: Some(2),
                ..Run::default()
            },
        ],
    };
    let file = std::env::temp_dir().join(format!("rsg-cli-case-format-{}", std::process::id()));
    std::fs::write(&file, write(&case)).expect("written");
    let back = parse(&file);
    let _ = std::fs::remove_file(&file);
    assert_eq!(format!("{back:?}"), format!("{case:?}"));
    assert_eq!(
        split(&back.runs[0].args),
        ["render", "a b", "--out", "$DIR/x"]
    );
}
