//! Emitting rendered files: the `--out DIR` tree, written atomically.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Write every `(relative path, content)` under `dir`. Each file is first written in full to
/// a temporary file beside its target and only then renamed over it, so a reader (or a
/// failed run) never sees a half-written file; all files are staged before any is replaced.
pub fn write_tree(dir: &Path, files: &[(&str, String)]) -> Result<()> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (relative, content) in files {
        match stage(dir, relative, content) {
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
}
