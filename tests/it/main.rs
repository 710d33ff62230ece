//! The integration tests, as one crate (one binary, one link): each file of tests/it is a
//! module, and `support` holds what they share. `cargo test --test it MODULE::` runs one file.
//!
//! A test file written for the old layout (`tests/NAME.rs` with `mod support;`) joins as:
//! 1. `git mv tests/NAME.rs tests/it/NAME.rs`, and a `mod NAME;` line below;
//! 2. its `mod support;` becomes `use crate::support;`;
//! 3. paths relative to the source file (insta's `set_snapshot_path`, `insta::glob!`,
//!    `include_str!`) take one more `../`; a glob that leaves the directory uses the
//!    three-argument form, `insta::glob!("../bad", "*.yaml", …)`;
//! 4. scratch files and directories carry the module's name, not only the process id (every
//!    module runs in the same process);
//! 5. a test that starts real Redis, Sentinel or exporter processes checks
//!    `support::real_redis_prerequisites(&[extra tools])` (root and the rehearsal's tools),
//!    then holds `support::real_redis_turn()` while it runs; one that keeps the CPU busy for
//!    minutes holds `support::heavy_turn()`;
//! 6. docs name it `tests/it/NAME.rs`, and run it with `cargo test --test it NAME::`.

mod support;

mod backup;
mod checklist;
mod checkov;
mod cli;
mod cli_cases;
mod clients;
mod conformance;
mod docs;
mod first_hour;
mod foreign_base;
mod fuzz;
mod golden;
mod golden_tree;
mod krm;
mod krm_lossless;
mod kustomize;
mod layers;
mod live_changes;
mod memory;
mod migration;
mod monitoring;
mod network_policy;
mod output_tree;
mod plan;
mod precommit;
mod real_redis;
mod redis_limits;
mod rehearse;
mod rehearse_changes;
mod rehearse_paused_clients;
mod schema;
mod shellcheck;
mod watch;
