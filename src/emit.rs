//! Emitting rendered files: the `--out DIR` tree, written atomically, and the check of such a
//! tree against what would be rendered now (the same file list, so the two cannot drift).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Write every `(relative path, content)` under `dir`. Each file is first written in full to
/// a temporary file beside its target and only then renamed over it, so a reader (or a
/// failed run) never sees a half-written file; all files are staged before any is replaced.
pub fn write_tree<P: AsRef<str>>(dir: &Path, files: &[(P, String)]) -> Result<()> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (relative, content) in files {
        match stage(dir, relative.as_ref(), content) {
            Ok(pair) => staged.push(pair),
            Err(e) => {
                for (temp, _) in &staged {
                    // Best effort: the error being reported is the one that matters.
                    let _ = fs::remove_file(temp);
                }
                return Err(e);
            }
        }
    }
    for (temp, target) in &staged {
        fs::rename(temp, target)
            .with_context(|| format!("cannot move {} to {}", temp.display(), target.display()))?;
    }
    Ok(())
}

/// A file on disk that differs from what would be rendered now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// Path relative to the output directory.
    pub relative: String,
    /// Unified diff from the file on disk to the rendered content (a missing file diffs from
    /// nothing).
    pub diff: String,
}

/// Compare every `(relative path, content)` with the file under `dir`, without writing
/// anything. Returns the files that differ, in the order given.
pub fn check_tree<P: AsRef<str>>(dir: &Path, files: &[(P, String)]) -> Result<Vec<Stale>> {
    let mut stale = Vec::new();
    for (relative, rendered) in files {
        let relative = relative.as_ref();
        let path = dir.join(relative);
        let on_disk = match fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        if on_disk.as_deref() == Some(rendered.as_str()) {
            continue;
        }
        let shown = path.display().to_string();
        let old_header = if on_disk.is_some() {
            format!("a/{shown}")
        } else {
            "/dev/null".to_string()
        };
        let diff = similar::TextDiff::from_lines(on_disk.as_deref().unwrap_or(""), rendered)
            .unified_diff()
            .context_radius(3)
            .header(&old_header, &format!("b/{shown}"))
            .to_string();
        stale.push(Stale {
            relative: relative.to_string(),
            diff,
        });
    }
    Ok(stale)
}

/// Write `content` to a temporary file next to `dir/relative`; returns (temp, target).
fn stage(dir: &Path, relative: &str, content: &str) -> Result<(PathBuf, PathBuf)> {
    let target = dir.join(relative);
    let parent = target.parent().unwrap_or(dir);
    fs::create_dir_all(parent)
        .with_context(|| format!("cannot create directory {}", parent.display()))?;
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = parent.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&temp)?;
        file.write_all(content.as_bytes())?;
        file.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&temp);
        return Err(e).with_context(|| format!("cannot write {}", temp.display()));
    }
    Ok((temp, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_files_and_leaves_no_temporaries() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("rsg-emit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        write_tree(
            &dir,
            &[("a.yaml", "one\n".into()), ("sub/b.yaml", "two\n".into())],
        )?;
        write_tree(&dir, &[("a.yaml", "three\n".into())])?;
        assert_eq!(fs::read_to_string(dir.join("a.yaml"))?, "three\n");
        assert_eq!(fs::read_to_string(dir.join("sub/b.yaml"))?, "two\n");
        let leftovers: Vec<_> = fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn check_reports_changed_and_missing_files_only() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("rsg-check-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        write_tree(
            &dir,
            &[("same.yaml", "a\n".into()), ("old.yaml", "x\ny\n".into())],
        )?;
        let stale = check_tree(
            &dir,
            &[
                ("same.yaml", "a\n".into()),
                ("old.yaml", "x\nz\n".into()),
                ("new.yaml", "n\n".into()),
            ],
        )?;
        let names: Vec<_> = stale.iter().map(|s| s.relative.as_str()).collect();
        assert_eq!(names, ["old.yaml", "new.yaml"]);
        assert!(stale[0].diff.contains("-y\n+z\n"), "{}", stale[0].diff);
        assert!(
            stale[1].diff.starts_with("--- /dev/null\n"),
            "{}",
            stale[1].diff
        );
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
