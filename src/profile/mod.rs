//! The profile: spec types, loading with source positions, the embedded default, the schema.

pub mod spec;
