//! Findings about a profile: typed, positioned, and rendered in the style of rustc so that a
//! person can go straight to the line and fix it.

use std::fmt;

use crate::position::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// The profile as the user named it.
    pub file: String,
    /// Where in the file; `None` when the file itself is the problem (it cannot be read).
    pub pos: Option<Pos>,
    /// `spec.sentinel.quorum`; `None` for findings about the whole document.
    pub field: Option<String>,
    pub message: String,
    /// The offending value as written.
    pub found: Option<String>,
    /// What would be accepted, and why.
    pub valid: Option<String>,
    /// A hint on how to fix it.
    pub help: Option<String>,
}

impl Finding {
    pub fn new(severity: Severity, file: &str, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            file: file.to_string(),
            pos: None,
            field: None,
            message: message.into(),
            found: None,
            valid: None,
            help: None,
        }
    }

    pub fn at(mut self, pos: Pos) -> Finding {
        self.pos = Some(pos);
        self
    }

    pub fn field(mut self, path: impl Into<String>) -> Finding {
        self.field = Some(path.into());
        self
    }

    /// The offending value. Values that would read ambiguously on one line (empty, with
    /// spaces, newlines or quotes) are shown quoted and escaped.
    pub fn found(mut self, value: impl fmt::Display) -> Finding {
        let text = value.to_string();
        let ambiguous = text.is_empty()
            || text
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"');
        self.found = Some(if ambiguous { format!("{text:?}") } else { text });
        self
    }

    pub fn valid(mut self, text: impl Into<String>) -> Finding {
        self.valid = Some(text.into());
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Finding {
        self.help = Some(text.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{label}: {}", self.message)?;
        match self.pos {
            Some(Pos { line, column }) => writeln!(f, "  --> {}:{line}:{column}", self.file)?,
            None => writeln!(f, "  --> {}", self.file)?,
        }
        let notes = [
            ("field", &self.field),
            ("found", &self.found),
            ("valid", &self.valid),
            ("help", &self.help),
        ];
        for (name, text) in notes {
            if let Some(text) = text {
                writeln!(f, "   = {name}: {text}")?;
            }
        }
        Ok(())
    }
}

/// Put findings in reading order: by file, line, column; ties keep a fixed order too, so the
/// output is identical run to run.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (&a.file, a.pos, a.severity, &a.field, &a.message)
            .cmp(&(&b.file, b.pos, b.severity, &b.field, &b.message))
    });
}

/// `2 errors, 1 warning`.
pub fn tally(findings: &[Finding]) -> String {
    let errors = findings.iter().filter(|f| f.is_error()).count();
    let warnings = findings.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// The closest of `candidates` to a misspelt `word`, if one is close enough to be what was
/// meant (at most a third of the word's letters wrong, and at least one right). Distance is
/// optimal string alignment: Levenshtein with a swap of two neighbouring letters counted as
/// one edit (`quorom` → `quorum` is one substitution; `qourum` → `quorum` one swap).
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| {
            (
                strsim::osa_distance(&word.to_lowercase(), &c.to_lowercase()),
                *c,
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL_KEYS: &[&str] = &[
        "replicas",
        "quorum",
        "downAfterMilliseconds",
        "failoverTimeout",
        "parallelSyncs",
        "resources",
    ];

    #[test]
    fn did_you_mean_finds_near_misses() {
        assert_eq!(did_you_mean("quorom", SENTINEL_KEYS), Some("quorum"));
        assert_eq!(did_you_mean("qourum", SENTINEL_KEYS), Some("quorum"));
        assert_eq!(did_you_mean("replica", SENTINEL_KEYS), Some("replicas"));
        assert_eq!(
            did_you_mean("downAfterMiliseconds", SENTINEL_KEYS),
            Some("downAfterMilliseconds")
        );
        assert_eq!(
            did_you_mean("failovertimeout", SENTINEL_KEYS),
            Some("failoverTimeout")
        );
    }

    #[test]
    fn did_you_mean_stays_quiet_for_unrelated_words() {
        assert_eq!(did_you_mean("image", SENTINEL_KEYS), None);
        assert_eq!(did_you_mean("x", SENTINEL_KEYS), None);
        assert_eq!(did_you_mean("masterName", SENTINEL_KEYS), None);
    }

    #[test]
    fn renders_like_rustc() {
        let finding = Finding::new(Severity::Error, "p.yaml", "quorum must be the majority")
            .at(Pos {
                line: 31,
                column: 13,
            })
            .field("spec.sentinel.quorum")
            .found(1)
            .valid("2");
        assert_eq!(
            finding.to_string(),
            "error: quorum must be the majority\n  --> p.yaml:31:13\n   \
             = field: spec.sentinel.quorum\n   = found: 1\n   = valid: 2\n"
        );
    }

    #[test]
    fn ambiguous_values_are_quoted() {
        let finding = Finding::new(Severity::Error, "p.yaml", "m").found("a\nb");
        assert_eq!(finding.found.as_deref(), Some("\"a\\nb\""));
        let finding = Finding::new(Severity::Error, "p.yaml", "m").found("a b");
        assert_eq!(finding.found.as_deref(), Some("\"a b\""));
        let finding = Finding::new(Severity::Error, "p.yaml", "m").found("5GB");
        assert_eq!(finding.found.as_deref(), Some("5GB"));
    }

    #[test]
    fn sorted_by_position() {
        let at =
            |line, column| Finding::new(Severity::Warning, "p.yaml", "m").at(Pos { line, column });
        let mut findings = vec![at(9, 1), at(2, 7), at(2, 3)];
        sort(&mut findings);
        let order: Vec<_> = findings.iter().filter_map(|f| f.pos).collect();
        assert_eq!(
            order,
            vec![
                Pos { line: 2, column: 3 },
                Pos { line: 2, column: 7 },
                Pos { line: 9, column: 1 }
            ]
        );
    }
}
