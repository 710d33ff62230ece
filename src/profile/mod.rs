//! The profile: spec types, loading with source positions, the embedded default, the schema.

pub mod bounds;
pub mod default;
pub mod defaults;
pub mod from_node;
pub mod grammar;
pub mod load;
pub mod schema;
pub mod schema_defaults;
pub mod schema_rules;
pub mod shape;
pub mod source_map;
pub mod spec;
pub mod yaml;
