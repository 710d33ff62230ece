//! redis-sentinel-gen: one typed profile → a validated Redis Sentinel deployment for Kubernetes.
//!
//! The pipeline, one module per stage: `profile` (load) → `resolve` → `validate` → `render`
//! → `emit`, run by `pipeline` for every adapter (`run` for the command line, `krm`,
//! `kustomize`). The modules are layered, and an import never runs up: the layers are in
//! docs/CONTRIBUTING.md ("How the code is laid out"), and `tests/it/layers.rs` holds to them.

pub mod base;
pub mod checklist;
pub mod cli;
pub mod diagnostic;
pub mod emit;
pub mod explain;
pub mod init;
pub mod krm;
pub mod kustomization;
pub mod kustomize;
pub mod memory;
pub mod next_steps;
pub mod pipeline;
pub mod plan;
pub mod position;
pub mod profile;
pub mod quantity;
pub mod rehearse;
pub mod render;
pub mod resolve;
pub mod run;
pub mod templates;
pub mod validate;
pub mod yaml_tree;
