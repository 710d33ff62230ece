//! The default profile, embedded in the binary: the reference deployment of DESIGN §2, so
//! that `render` with no argument shows real output at once.

/// Name the embedded profile goes by in findings and generated headers.
pub const SOURCE_NAME: &str = "profiles/welcomebot.yaml (embedded)";

/// Text of `profiles/welcomebot.yaml` at build time.
pub const TEXT: &str = include_str!("../../profiles/welcomebot.yaml");
