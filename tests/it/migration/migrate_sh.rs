//! `migrate.sh` on its own: shellcheck on every shipped profile's, and against a fake
//! redis-cli the refusals that need no real server.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{fixture, scratch_with_base};
use crate::support;
use crate::support::render_out;

#[test]
fn migrate_sh_passes_shellcheck_for_every_shipped_profile() {
    let Some(shellcheck) = support::require_tool("shellcheck") else {
        return;
    };
    for profile in support::shipped_profiles() {
        let stem = profile
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let out =
            std::env::temp_dir().join(format!("rsg-migrate-sh-{stem}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let rendered = render_out(&profile, &out);
        assert!(
            rendered.status.success(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        let script = out.join("migration/migrate.sh");
        if !script.exists() {
            continue;
        }
        let checked = Command::new(&shellcheck)
            .args(["--shell=sh", "--severity=style"])
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run shellcheck: {e}"));
        assert!(
            checked.status.success(),
            "{stem}: shellcheck migrate.sh:\n{}",
            String::from_utf8_lossy(&checked.stdout)
        );
        let _ = std::fs::remove_dir_all(&out);
    }
}

/// A fake redis-cli for `migrate.sh`: `sh fake-redis-cli old|new|sentinel [redis-cli
/// options] COMMAND...`. It logs each call (which server, its REDISCLI_AUTH, every argument on
/// a line of its own) to `$FAKE_ARGS`, answers reads from canned replies and the environment,
/// and records every command that would change something in `$FAKE_CHANGES`.
const FAKE_REDIS_CLI: &str = r#"#!/bin/sh
role=$1
shift
{
    printf -- '--- %s REDISCLI_AUTH=%s\n' "$role" "${REDISCLI_AUTH-unset}"
    for arg in "$@"; do printf '%s\n' "$arg"; done
} >>"$FAKE_ARGS"
remote=no
while [ $# -gt 0 ]; do
    case $1 in
        -h) remote=yes; shift 2 ;;
        -p | -a | --user) shift 2 ;;
        --no-auth-warning) shift ;;
        *) break ;;
    esac
done
case "$role $remote $*" in
    'old no PING')
        if [ -n "${FAKE_OLD_DOWN:-}" ]; then
            echo 'Could not connect to Redis at redis-service:6379: Connection refused' >&2
            exit 1
        fi
        echo PONG ;;
    'old no INFO server') printf 'redis_version:%s\r\nrun_id:abc\r\n' "$FAKE_VERSION" ;;
    'new yes PING') printf '%s\n' "$FAKE_PROBE" ;;
    'new no INFO replication') printf 'role:master\r\nconnected_slaves:2\r\n' ;;
    *'CLIENT LIST') printf '%s\n' "$FAKE_CLIENTS" ;;
    *DBSIZE) printf '%s\n' "$FAKE_KEYS" ;;
    *) printf '%s %s\n' "$role" "$*" >>"$FAKE_CHANGES"; echo OK ;;
esac
"#;

/// A fake world for `migrate.sh copy`, set through the fake redis-cli's environment.
struct FakeWorld<'a> {
    clients: &'a str,
    keys: &'a str,
    old_version: &'a str,
    /// What the old Redis answers the new master's AUTH + PING.
    probe: &'a str,
    old_down: bool,
}

const HEALTHY: FakeWorld<'static> = FakeWorld {
    clients: "id=8 addr=10.0.0.9:40001 name= db=0",
    keys: "0",
    old_version: "7.2.5",
    probe: "PONG",
    old_down: false,
};

/// `sh migrate.sh copy` with the fake redis-cli in `dir`: (exit code, stderr, changes made,
/// the argument log). `hook_args` follow the role in every hook (shell text, as a user writes
/// it); `old_auth` is OLD_REDISCLI_AUTH.
fn fake_copy(
    dir: &Path,
    world: &FakeWorld,
    hook_args: &str,
    old_auth: Option<&str>,
) -> (Option<i32>, String, String, String) {
    let fake = dir.join("fake-redis-cli");
    std::fs::write(&fake, FAKE_REDIS_CLI).unwrap_or_else(|e| panic!("{e}"));
    let (changes, args) = (dir.join("changes"), dir.join("args"));
    let _ = std::fs::remove_file(&changes);
    let _ = std::fs::remove_file(&args);
    // Unquoted: the scratch path has no space, and a hook of plain words works with any
    // version of the script.
    let hook = |role: &str| format!("sh {} {role}{hook_args}", fake.display());
    let mut command = Command::new("sh");
    command
        .arg(dir.join("out/migration/migrate.sh"))
        .arg("copy")
        .env("OLD_REDIS", hook("old"))
        .env("NEW_REDIS", hook("new"))
        .env("SENTINEL", hook("sentinel"))
        .env_remove("REDISCLI_AUTH")
        .env("FAKE_CLIENTS", world.clients)
        .env("FAKE_KEYS", world.keys)
        .env("FAKE_VERSION", world.old_version)
        .env("FAKE_PROBE", world.probe)
        .env("FAKE_CHANGES", &changes)
        .env("FAKE_ARGS", &args)
        .env("SYNC_TIMEOUT_SECONDS", "0")
        .env("LINK_TIMEOUT_SECONDS", "0");
    if world.old_down {
        command.env("FAKE_OLD_DOWN", "1");
    }
    if let Some(auth) = old_auth {
        command.env("OLD_REDISCLI_AUTH", auth);
    }
    let output = command.output().unwrap_or_else(|e| panic!("{e}"));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        std::fs::read_to_string(&changes).unwrap_or_default(),
        std::fs::read_to_string(&args).unwrap_or_default(),
    )
}

fn rendered_fixture(name: &str) -> PathBuf {
    let dir = scratch_with_base(name);
    let rendered = render_out(&fixture().join("profile.yaml"), &dir.join("out"));
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    dir
}

/// The states in which copying would lose data are refused before anything is changed.
#[test]
fn migrate_sh_refuses_to_copy_while_sentinels_watch_or_over_existing_data() {
    if support::require_tool("sh").is_none() {
        return;
    }
    let dir = rendered_fixture("refusals");
    let watched = FakeWorld {
        clients: "id=7 addr=10.0.0.9:40000 name=sentinel-3f2a91c0-cmd db=0",
        ..HEALTHY
    };
    let (code, said, changes, _) = fake_copy(&dir, &watched, "", None);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("Sentinels are connected"), "{said}");
    assert_eq!(changes, "", "a refused copy changed something");
    let full = FakeWorld {
        keys: "12",
        ..HEALTHY
    };
    let (code, said, changes, _) = fake_copy(&dir, &full, "", None);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("holds 12 keys"), "{said}");
    assert_eq!(changes, "", "a refused copy changed something");
    // Empty and unwatched: copy goes ahead (and reconfigures the master).
    let (_, said, changes, _) = fake_copy(&dir, &HEALTHY, "", None);
    assert!(
        changes.contains("new REPLICAOF redis-service 6379"),
        "{changes}\n{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An old Redis that cannot be migrated stops `copy` at once, with the reason, before
/// anything changes: too old, refusing the password the new master replicates with, or
/// unreachable.
#[test]
fn migrate_sh_copy_fails_fast_and_changes_nothing() {
    if support::require_tool("sh").is_none() {
        return;
    }
    let dir = rendered_fixture("fail-fast");
    let cases = [
        (
            FakeWorld {
                old_version: "6.0.9",
                ..HEALTHY
            },
            "the old Redis is 6.0.9; the migration needs 6.2.0 or later",
        ),
        (
            FakeWorld {
                probe: "WRONGPASS invalid username-password pair or user is disabled.",
                ..HEALTHY
            },
            "the old Redis refuses the password redis-master-0 replicates with",
        ),
        (
            FakeWorld {
                probe: "NOAUTH Authentication required.",
                ..HEALTHY
            },
            "the old Redis needs a password",
        ),
        (
            FakeWorld {
                old_down: true,
                ..HEALTHY
            },
            "OLD_REDIS could not run",
        ),
    ];
    for (world, expected) in &cases {
        let started = std::time::Instant::now();
        let (code, said, changes, _) = fake_copy(&dir, world, "", None);
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains(expected), "`{expected}` not in:\n{said}");
        assert_eq!(changes, "", "a refused copy changed something:\n{said}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Hooks are shell text whose quoting holds, and the old Redis's password travels as
/// REDISCLI_AUTH, never as a word of a command line: a password with a space, quotes, a
/// glob and a `$` arrives intact.
#[test]
fn migrate_sh_hooks_take_any_password() {
    if support::require_tool("sh").is_none() {
        return;
    }
    let dir = rendered_fixture("hooks");
    let password = "pa ss* \"q' $HOME";
    // Hooks with a quoted argument, as a user writes them.
    let (_, said, _, args) = fake_copy(&dir, &HEALTHY, " -a 'pa ss*'", Some(password));
    let calls: Vec<&str> = args.split("--- ").filter(|c| !c.is_empty()).collect();
    for role in ["old", "new"] {
        assert!(
            calls.iter().any(|c| c.starts_with(role)),
            "no {role} call:\n{said}"
        );
    }
    for call in &calls {
        let mut lines = call.lines();
        let first = lines.next().unwrap_or_default();
        // Only the old Redis's calls carry its password.
        let auth = if first.starts_with("old ") {
            password
        } else {
            "unset"
        };
        assert!(first.ends_with(&format!(" REDISCLI_AUTH={auth}")), "{call}");
        assert_eq!(lines.next(), Some("-a"), "{call}");
        assert_eq!(lines.next(), Some("pa ss*"), "{call}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
