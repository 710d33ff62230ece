//! Pod emulation: the rendered StatefulSets run as local processes, one emulated pod each,
//! with the real Redis binaries standing in for the Redis image (DESIGN §5).
//!
//! A pod here is what it is to Redis: a process with its own loopback address, a hostname,
//! a private `/etc/hosts` naming every pod, its env, its volumes at their `mountPath`s and the
//! container's own `command`/`args`. Each pod gets mount, UTS and PID namespaces of its own
//! (`unshare`), so container paths such as `/config` or `/data` exist only inside it; the
//! network namespace is shared, which is why every main container is told to bind its own
//! address (`runtime`).
//!
//! - `manifest`: the rendered YAML stream → one plan per pod (pure, no side effects);
//! - `runtime`: a [`Cluster`] that starts and stops those plans and always cleans up;
//! - `cli`: `redis-cli` against an emulated pod, and polling with a deadline.

pub mod cli;
pub mod manifest;
pub mod runtime;

pub use manifest::{Manifests, Secrets};
pub use runtime::Cluster;
