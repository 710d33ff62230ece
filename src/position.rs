//! Where something is written in a profile: the shared vocabulary of positions that the
//! profile reader and the findings about it both speak.

/// A 1-based line and column in the profile file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// The start of the file: where findings about the file as a whole point.
    pub const START: Pos = Pos { line: 1, column: 1 };
}
