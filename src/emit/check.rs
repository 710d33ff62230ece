//! `check --out DIR`: the tree on disk against what would be rendered now, file by file, as
//! unified diffs, without writing anything.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{MANIFEST, another_deployment, manifest_text, previous_files};

/// A file on disk that differs from what would be rendered now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// Path relative to the output directory.
    pub relative: String,
    /// Unified diff from the file on disk to the rendered content (a missing file diffs from
    /// nothing, a leftover to nothing).
    pub diff: String,
    /// A generated file that is no longer rendered: the next render removes it.
    pub leftover: bool,
}

/// Compare every `(relative path, content)` and the manifest with the files under `dir`,
/// without writing anything. Returns the files that differ, in the order given, then the
/// leftovers: files an earlier render wrote (per its manifest) that would not be written now.
/// An error when `dir` holds the tree of a deployment other than `deployment`: its files are
/// not stale, they are someone else's, and rendering over them is not the fix.
pub fn check_tree<P: AsRef<str>>(
    dir: &Path,
    header: &str,
    deployment: &str,
    files: &[(P, String)],
) -> Result<Vec<Stale>> {
    if let Some(other) = another_deployment(dir, deployment)? {
        bail!(
            "{} holds the output of another deployment ({other}), not of this profile's \
             ({deployment}): check it against the profile it was rendered from, or give this \
             profile an --out directory of its own",
            dir.display()
        );
    }
    let manifest = manifest_text(header, deployment, files);
    let mut stale = Vec::new();
    let mut now = BTreeSet::new();
    let all = files
        .iter()
        .map(|(name, text)| (name.as_ref(), text.as_str()))
        .chain(std::iter::once((MANIFEST, manifest.as_str())));
    for (relative, rendered) in all {
        now.insert(relative.to_string());
        let on_disk = read_if_present(&dir.join(relative))?;
        if on_disk.as_deref() == Some(rendered) {
            continue;
        }
        stale.push(Stale {
            relative: relative.to_string(),
            diff: diff(dir, relative, on_disk.as_deref(), Some(rendered)),
            leftover: false,
        });
    }
    for gone in previous_files(dir)?.difference(&now) {
        let Some(on_disk) = read_if_present(&dir.join(gone))? else {
            continue;
        };
        stale.push(Stale {
            relative: gone.clone(),
            diff: diff(dir, gone, Some(&on_disk), None),
            leftover: true,
        });
    }
    Ok(stale)
}

fn read_if_present(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn diff(dir: &Path, relative: &str, old: Option<&str>, new: Option<&str>) -> String {
    let shown = dir.join(relative).display().to_string();
    let header = |text: Option<&str>, side: &str| {
        text.map_or("/dev/null".to_string(), |_| format!("{side}/{shown}"))
    };
    similar::TextDiff::from_lines(old.unwrap_or(""), new.unwrap_or(""))
        .unified_diff()
        .context_radius(3)
        .header(&header(old, "a"), &header(new, "b"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::tests::scratch;
    use crate::emit::write_tree;

    #[test]
    fn check_reports_changed_missing_and_leftover_files() -> Result<()> {
        let dir = scratch("check");
        write_tree(
            &dir,
            "# h",
            "d",
            &[
                ("same.yaml", "a\n".into()),
                ("old.yaml", "x\ny\n".into()),
                ("was.yaml", "w\n".into()),
            ],
        )?;
        let stale = check_tree(
            &dir,
            "# h",
            "d",
            &[
                ("same.yaml", "a\n".into()),
                ("old.yaml", "x\nz\n".into()),
                ("new.yaml", "n\n".into()),
            ],
        )?;
        let names: Vec<_> = stale
            .iter()
            .map(|s| (s.relative.as_str(), s.leftover))
            .collect();
        assert_eq!(
            names,
            [
                ("old.yaml", false),
                ("new.yaml", false),
                (MANIFEST, false),
                ("was.yaml", true)
            ]
        );
        assert!(stale[0].diff.contains("-y\n+z\n"), "{}", stale[0].diff);
        assert!(
            stale[1].diff.starts_with("--- /dev/null\n"),
            "{}",
            stale[1].diff
        );
        assert!(
            stale[3].diff.contains("+++ /dev/null\n"),
            "{}",
            stale[3].diff
        );
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
