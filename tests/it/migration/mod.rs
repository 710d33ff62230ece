//! The migration overlay (issue 3), proven by its consumers:
//!
//! - `kubectl kustomize` builds every phase of the reference profile over the fixture base
//!   (`tests/fixtures/migration/base`: the single Redis and the two welcomebot Deployments with
//!   `REDIS_ADDR`), and the parsed result is what each phase promises;
//! - the whole migration runs for real with `rehearse --migration` (src/rehearse/migration.rs):
//!   an old `redis-server` with data, the rendered pods, the rendered `migrate.sh`, two clients
//!   switching from `REDIS_ADDR` to Sentinel discovery at different times after the cutover;
//! - `migrate.sh` against a fake redis-cli for the refusals that need no real server.
//!
//! The real-Redis test binds 127.0.0.100 and up (the pods) and 127.0.0.200 (the old Redis).
//!
//! Here: what the three share. The built phases are in `phases`, the real run in
//! `rehearsal`, `migrate.sh` on its own in `migrate_sh`.

mod migrate_sh;
mod phases;
mod rehearsal;

use crate::support;

use std::path::PathBuf;

pub(super) const BIN: &str = env!("CARGO_BIN_EXE_redis-sentinel-gen");

pub(super) fn fixture() -> PathBuf {
    support::repo_root().join("tests/fixtures/migration")
}

/// A scratch directory holding a copy of the fixture base at `base/`, so that an output
/// directory `out/` beside it finds it as `../base`.
pub(super) fn scratch_with_base(name: &str) -> PathBuf {
    support::scratch_with_base(&format!("migration-{name}"), &fixture().join("base"))
}
