//! Mutation fuzzing on stable Rust, without extra tooling: inputs derived from the committed
//! corpus (`tests/fuzz-corpus/profile/`, `tests/fuzz-corpus/resource-list/`) by random
//! edits go through the profile loader with validation, and through the KRM function (the
//! ResourceList reader and pass-through). Nothing may panic; the binary, under a 1 GiB
//! address-space limit, must exit 0 or 1 on every sampled input; a carried item must come back
//! as its own text.
//!
//! Time-bounded: `FUZZ_SECONDS` (default 20) per target; `FUZZ_SEED` replays a run (the seed
//! of a failing run is printed).

use crate::support;

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redis_sentinel_gen::profile::load::{self, Source};
use redis_sentinel_gen::{krm, validate};

const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");
/// Address space the binary may use on one input (`ulimit -v`, KiB).
const MEMORY_LIMIT_KIB: u64 = 1024 * 1024;

/// xorshift64*: reproducible from its seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// YAML that tends to find edge cases when dropped anywhere.
const TOKENS: &[&str] = &[
    "\n",
    "\n- ",
    ": ",
    "- ",
    "&a ",
    "*a",
    "!!binary ",
    "!Custom ",
    "!!str ",
    "<<: ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "#",
    "'",
    "\"",
    "|\n",
    ">-\n",
    "---\n",
    "...\n",
    "? ",
    "~",
    ".inf",
    ".nan",
    "-0",
    "010",
    "0x1F",
    "12345678901234567890123",
    "1.10",
    "on",
    "off",
    "y",
    "yes",
    "\t",
    "\u{feff}",
    "%TAG ! tag:x,2000:\n",
    "        ",
    "items:",
    "functionConfig:",
    "kind: ",
    "ResourceList",
    "metadata:\n  annotations:\n    redis-sentinel-gen/instance: x\n",
    "\\u0000",
    "\r\n",
];

fn mutate(rng: &mut Rng, seeds: &[String]) -> String {
    let mut bytes = seeds[rng.below(seeds.len())].clone().into_bytes();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                bytes.splice(at..at, token.iter().copied());
            }
            1 if !bytes.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            2 if at < bytes.len() => bytes[at] = rng.next() as u8,
            3 => {
                let other = seeds[rng.below(seeds.len())].as_bytes();
                let from = rng.below(other.len());
                let to = (from + rng.below(200)).min(other.len());
                bytes.splice(at..at, other[from..to].iter().copied());
            }
            4 if !bytes.is_empty() => {
                let end = (at + rng.below(400)).min(bytes.len());
                let copy = bytes[at.min(end)..end].to_vec();
                bytes.splice(end..end, copy);
            }
            _ => {
                // Deep nesting, far beyond what a loader's budget allows.
                let depth = rng.below(3000);
                let open = if rng.below(2) == 0 { "[" } else { "{a: " };
                bytes.splice(at..at, open.repeat(depth).into_bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn corpus(kind: &str) -> Vec<String> {
    let dir = support::repo_root().join("tests/fuzz-corpus").join(kind);
    let mut seeds: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "empty corpus {}", dir.display());
    seeds
}

fn budget() -> Duration {
    let seconds = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    Duration::from_secs(seconds)
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        })
}

/// The binary on `input` with `args`, under the memory limit: its exit code (None when a
/// signal ended it).
fn exit_code(args: &str, input: &str) -> Option<i32> {
    let script = format!("ulimit -v {MEMORY_LIMIT_KIB}; exec '{BIN}' {args}");
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    child.wait().ok().and_then(|status| status.code())
}

fn save_failure(name: &str, input: &str) -> String {
    let path = std::env::temp_dir().join(format!("rsg-fuzz-{name}-{}.yaml", std::process::id()));
    let _ = std::fs::write(&path, input);
    path.display().to_string()
}

fn fuzz(kind: &str, args: &str, check: &dyn Fn(&str)) {
    let seeds = corpus(kind);
    let seed = seed();
    let mut rng = Rng(seed);
    let deadline = Instant::now() + budget();
    let mut runs = 0usize;
    while Instant::now() < deadline {
        let input = mutate(&mut rng, &seeds);
        if catch_unwind(AssertUnwindSafe(|| check(&input))).is_err() {
            panic!(
                "{kind}: panic on input {} (FUZZ_SEED={seed})",
                save_failure(kind, &input)
            );
        }
        if runs.is_multiple_of(25) {
            let code = exit_code(args, &input);
            assert!(
                matches!(code, Some(0 | 1)),
                "{kind}: exit {code:?} on input {} (FUZZ_SEED={seed})",
                save_failure(kind, &input)
            );
        }
        runs += 1;
    }
    eprintln!("{kind}: {runs} inputs, FUZZ_SEED={seed}");
    assert!(runs > 50, "{kind}: only {runs} inputs in the time budget");
}

#[test]
fn profile_loader_and_validation_never_panic() {
    let _turn = support::heavy_turn();
    let dir = std::env::temp_dir().join(format!("rsg-fuzz-profile-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("profile.yaml");
    fuzz(
        "profile",
        &format!("validate '{}'", file.display()),
        &|text| {
            // The binary reads the same input from the file.
            let _ = std::fs::write(&file, text);
            let source = Source {
                name: "fuzz.yaml".into(),
                text: text.to_string(),
            };
            if let Ok(loaded) = load::load(&source) {
                let _ = validate::validate(&loaded.profile, &loaded.map);
            }
        },
    );
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}

#[test]
fn resource_list_reader_and_pass_through_never_panic() {
    let _turn = support::heavy_turn();
    fuzz("resource-list", "krm", &|text| {
        let outcome = krm::process(text);
        let Some(output) = outcome.output else {
            return;
        };
        // Whatever was accepted comes out as YAML again (syntax checked by the parser, with
        // the nesting the reader itself allows).
        let options = serde_saphyr::granit_parser::options! {
            block_nesting_limit: 20_000,
            flow_nesting_limit: 20_000,
        };
        let parser =
            serde_saphyr::granit_parser::Parser::new_from_str_with_options(&output, options);
        for event in parser {
            if let Err(e) = event {
                panic!("output is not YAML: {e}\n{output}");
            }
        }
    });
}
