//! The integration tests, as one crate (one binary, one link): each file of tests/it is a
//! module, and `support` holds what they share. `cargo test --test it MODULE::` runs one file.

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
mod schema;
mod shellcheck;
