//! Emitting rendered files: the `--out DIR` tree, and the check of such a tree against what
//! would be rendered now (in `check`; the same file list, so the two cannot drift).
//!
//! The tree is the tool's own, and nothing else in DIR is: a record of what was written
//! ([`MANIFEST`]) lets the next render remove exactly the generated files it no longer
//! produces; every file is staged in a temp file created exclusively (never through a link),
//! and only when all are staged are they renamed into place, with the previous files kept
//! until every rename succeeded, so a failure leaves the previous tree complete.

use std::collections::BTreeSet;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

mod check;

pub use check::{Stale, check_tree};

/// The record of the files `render --out` wrote, one relative path a line, in DIR.
pub const MANIFEST: &str = ".redis-sentinel-gen.files";
/// Temp names tried per file before giving up: each is created exclusively, so a name taken
/// by anything (a planted link included) is skipped, never written through.
const TEMP_ATTEMPTS: u32 = 64;

/// The manifest's line naming the deployment whose tree it is.
const DEPLOYMENT_LINE: &str = "# deployment: ";

/// The manifest's text for `files`, under the generated-file `header` comment, naming
/// `deployment` (what makes one deployment's tree another's: see [`another_deployment`]).
fn manifest_text<P: AsRef<str>>(header: &str, deployment: &str, files: &[(P, String)]) -> String {
    let mut text = format!(
        "{header}\n{DEPLOYMENT_LINE}{deployment}\n# The files `render --out` wrote into this \
         directory. The next render removes those it no\n# longer writes; nothing else here is \
         touched.\n"
    );
    let names: BTreeSet<&str> = files.iter().map(|(name, _)| name.as_ref()).collect();
    for name in names {
        text.push_str(name);
        text.push('\n');
    }
    text
}

/// When the manifest in `dir` names a deployment other than `deployment`: that one, and the
/// profile it was rendered from as its header says. A tree rendered before manifests named
/// their deployment, or no tree at all, is nobody else's.
fn another_deployment(dir: &Path, deployment: &str) -> Result<Option<String>> {
    let path = dir.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let Some(recorded) = text.lines().find_map(|l| l.strip_prefix(DEPLOYMENT_LINE)) else {
        return Ok(None);
    };
    if recorded == deployment {
        return Ok(None);
    }
    let origin = text.lines().next().unwrap_or_default();
    let origin = origin.strip_prefix("# ").unwrap_or(origin);
    let origin = origin.strip_suffix(" — do not edit").unwrap_or(origin);
    Ok(Some(format!("{recorded}; {origin}")))
}

/// The paths the manifest in `dir` lists; only plain relative paths inside `dir` count (a
/// hand-edited manifest cannot make a render remove anything outside the tree).
fn previous_files(dir: &Path) -> Result<BTreeSet<String>> {
    let path = dir.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    Ok(text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter(|line| inside(Path::new(line)))
        .map(str::to_string)
        .collect())
}

/// True for a relative path made of plain names only.
fn inside(relative: &Path) -> bool {
    relative
        .components()
        .all(|part| matches!(part, Component::Normal(_)))
}

/// Refuse when a directory between `dir` and `relative` is a symbolic link: writing or
/// removing there would act outside the tree. `dir` itself may be a link (the user chose it).
fn refuse_linked_parents(dir: &Path, relative: &str) -> Result<()> {
    let mut at = dir.to_path_buf();
    let parts: Vec<Component> = Path::new(relative).components().collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => bail!(
                "{} is a symbolic link; the output tree is never written through a link \
                 (remove it, render writes a real directory there)",
                at.display()
            ),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", at.display())),
        }
    }
    Ok(())
}

/// A file staged for the tree: its temp file, its target, and the previous file kept aside.
struct Staged {
    temp: PathBuf,
    target: PathBuf,
    backup: Option<PathBuf>,
}

/// Write every `(relative path, content)` under `dir`, plus the manifest (headed by
/// `header`); remove the files
/// the previous manifest lists that are not written now. Either the whole new tree is in
/// place or (on an error) the previous one is, and no temp file stays.
pub fn write_tree<P: AsRef<str>>(
    dir: &Path,
    header: &str,
    deployment: &str,
    files: &[(P, String)],
) -> Result<()> {
    if let Some(other) = another_deployment(dir, deployment)? {
        bail!(
            "{} holds the output of another deployment ({other}), not of this profile's \
             ({deployment}); nothing was written. Render each deployment into a directory of \
             its own; to replace that deployment's files with this one's, remove {} first",
            dir.display(),
            dir.display()
        );
    }
    let manifest = manifest_text(header, deployment, files);
    let mut all: Vec<(&str, &str)> = files
        .iter()
        .map(|(name, text)| (name.as_ref(), text.as_str()))
        .collect();
    all.push((MANIFEST, &manifest));
    let previous = previous_files(dir)?;
    let mut staged: Vec<Staged> = Vec::with_capacity(all.len());
    let mut created: Vec<PathBuf> = Vec::new();
    let result = (|| -> Result<()> {
        for (relative, content) in &all {
            if !inside(Path::new(relative)) {
                bail!("bug: output path {relative} is not inside the output directory");
            }
            refuse_linked_parents(dir, relative)?;
            staged.push(stage(dir, relative, content, &mut created)?);
        }
        install(&mut staged)
    })();
    if let Err(e) = result {
        for file in &staged {
            let _ = fs::remove_file(&file.temp);
        }
        // Directories this run created, deepest first; only empty ones go.
        for made in created.iter().rev() {
            let _ = fs::remove_dir(made);
        }
        return Err(e);
    }
    for file in &staged {
        if let Some(backup) = &file.backup {
            let _ = fs::remove_file(backup);
        }
    }
    let now: BTreeSet<&str> = all.iter().map(|(name, _)| *name).collect();
    for gone in previous.iter().filter(|name| !now.contains(name.as_str())) {
        remove_generated(dir, gone)?;
    }
    Ok(())
}

/// Rename every staged file into place, keeping each previous file as a hard link until all
/// renames succeeded; on a failure (a rename refused, a directory where a file goes) put the
/// previous files back and remove the new ones.
fn install(staged: &mut [Staged]) -> Result<()> {
    for index in 0..staged.len() {
        let outcome = keep_previous(&staged[index]).and_then(|backup| {
            staged[index].backup = backup;
            let file = &staged[index];
            fs::rename(&file.temp, &file.target).with_context(|| {
                format!(
                    "cannot move {} to {}",
                    file.temp.display(),
                    file.target.display()
                )
            })
        });
        if let Err(e) = outcome {
            for done in &staged[..index] {
                match &done.backup {
                    Some(backup) => {
                        let _ = fs::rename(backup, &done.target);
                    }
                    None => {
                        let _ = fs::remove_file(&done.target);
                    }
                }
            }
            if let Some(backup) = &staged[index].backup {
                let _ = fs::remove_file(backup);
            }
            return Err(e.context("nothing was changed: the previous files are back in place"));
        }
    }
    Ok(())
}

/// A hard link to the file at `target` (if there is one) under a fresh name, so it can be
/// put back.
fn keep_previous(file: &Staged) -> Result<Option<PathBuf>> {
    match fs::symlink_metadata(&file.target) {
        Ok(meta) if meta.is_file() => {}
        Ok(meta) if meta.is_dir() => bail!(
            "{} is a directory where render writes a file; nothing was changed",
            file.target.display()
        ),
        // A link or special file is replaced by the rename itself, never followed.
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot inspect {}", file.target.display()));
        }
    }
    let backup = file.temp.with_extension("old");
    fs::hard_link(&file.target, &backup)
        .with_context(|| format!("cannot keep {} while replacing it", file.target.display()))?;
    Ok(Some(backup))
}

/// Remove a file an earlier render wrote and this one does not, and the directories that
/// leaves empty; a file someone replaced by a link or a directory is left alone.
fn remove_generated(dir: &Path, relative: &str) -> Result<()> {
    if refuse_linked_parents(dir, relative).is_err() {
        return Ok(());
    }
    let path = dir.join(relative);
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => {
            fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
        _ => return Ok(()),
    }
    let mut parent = path.parent();
    while let Some(at) = parent {
        if at == dir || !at.starts_with(dir) || fs::remove_dir(at).is_err() {
            break;
        }
        parent = at.parent();
    }
    Ok(())
}

/// Write `content` to a new temp file beside `dir/relative`, created exclusively under a
/// name not taken by anything (a planted link makes its name fail, never redirects the
/// write).
fn stage(dir: &Path, relative: &str, content: &str, created: &mut Vec<PathBuf>) -> Result<Staged> {
    let target = dir.join(relative);
    let parent = target.parent().unwrap_or(dir);
    let missing: Vec<PathBuf> = parent
        .ancestors()
        .take_while(|at| !at.as_os_str().is_empty() && fs::symlink_metadata(at).is_err())
        .map(Path::to_path_buf)
        .collect();
    fs::create_dir_all(parent)
        .with_context(|| format!("cannot create directory {}", parent.display()))?;
    created.extend(missing.into_iter().rev());
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for attempt in 0..TEMP_ATTEMPTS {
        let temp = parent.join(format!(".{file_name}.{}.{attempt}.tmp", std::process::id()));
        let mut file = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", temp.display())),
        };
        let written = file
            .write_all(content.as_bytes())
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e).with_context(|| format!("cannot write {}", temp.display()));
        }
        return Ok(Staged {
            temp,
            target,
            backup: None,
        });
    }
    bail!(
        "cannot create a temp file beside {}: {TEMP_ATTEMPTS} names are taken",
        target.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rsg-emit-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// Every file under `dir` (links included, not followed), relative to it.
    fn listing(dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(at) = pending.pop() {
            for entry in fs::read_dir(&at).into_iter().flatten().flatten() {
                let path = entry.path();
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    pending.push(path);
                } else if let Ok(relative) = path.strip_prefix(dir) {
                    found.push(relative.display().to_string());
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn a_render_removes_what_it_no_longer_writes_and_nothing_else() -> Result<()> {
        let dir = scratch("leftovers");
        fs::create_dir_all(dir.join("sub"))?;
        fs::write(dir.join("sub/mine.txt"), "not generated\n")?;
        write_tree(
            &dir,
            "# h",
            "d",
            &[
                ("a.yaml", "one\n".into()),
                ("sub/b.yaml", "two\n".into()),
                ("gone/c.yaml", "3\n".into()),
            ],
        )?;
        write_tree(&dir, "# h", "d", &[("a.yaml", "three\n".into())])?;
        assert_eq!(fs::read_to_string(dir.join("a.yaml"))?, "three\n");
        assert_eq!(listing(&dir), [MANIFEST, "a.yaml", "sub/mine.txt"]);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn another_deployments_tree_is_refused_and_an_unrecorded_one_is_not() -> Result<()> {
        let dir = scratch("another");
        write_tree(
            &dir,
            "# h from a.yaml — do not edit",
            "A",
            &[("x.yaml", "a\n".into())],
        )?;
        let error = write_tree(&dir, "# h", "B", &[("x.yaml", "b\n".into())])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("holds the output of another deployment (A; h from a.yaml)"),
            "{error}"
        );
        assert_eq!(fs::read_to_string(dir.join("x.yaml"))?, "a\n");
        let error = check_tree(&dir, "# h", "B", &[("x.yaml", "b\n".into())])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("another deployment (A;"), "{error}");
        // The same deployment renders over its tree.
        write_tree(&dir, "# h", "A", &[("x.yaml", "a2\n".into())])?;
        assert_eq!(fs::read_to_string(dir.join("x.yaml"))?, "a2\n");
        // A record that names no deployment (an older version's) is anyone's.
        let manifest = fs::read_to_string(dir.join(MANIFEST))?;
        let unnamed: String = manifest
            .lines()
            .filter(|l| !l.starts_with(DEPLOYMENT_LINE))
            .map(|l| format!("{l}\n"))
            .collect();
        fs::write(dir.join(MANIFEST), unnamed)?;
        write_tree(&dir, "# h", "B", &[("x.yaml", "b\n".into())])?;
        assert_eq!(fs::read_to_string(dir.join("x.yaml"))?, "b\n");
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_planted_link_at_a_temp_name_is_skipped_not_written_through() -> Result<()> {
        let dir = scratch("planted");
        let outside = scratch("planted-outside");
        fs::create_dir_all(&dir)?;
        fs::create_dir_all(&outside)?;
        for attempt in 0..3 {
            let link = dir.join(format!(".a.yaml.{}.{attempt}.tmp", std::process::id()));
            std::os::unix::fs::symlink(outside.join(format!("victim-{attempt}")), link)?;
        }
        write_tree(&dir, "# h", "d", &[("a.yaml", "generated\n".into())])?;
        assert_eq!(fs::read_to_string(dir.join("a.yaml"))?, "generated\n");
        assert!(listing(&outside).is_empty(), "{:?}", listing(&outside));
        fs::remove_dir_all(&dir)?;
        fs::remove_dir_all(&outside)?;
        Ok(())
    }

    #[test]
    fn a_linked_directory_inside_the_tree_is_refused() -> Result<()> {
        let dir = scratch("linked-dir");
        let outside = scratch("linked-dir-outside");
        fs::create_dir_all(&dir)?;
        fs::create_dir_all(&outside)?;
        std::os::unix::fs::symlink(&outside, dir.join("clients"))?;
        let error = write_tree(&dir, "# h", "d", &[("clients/p.yaml", "x\n".into())])
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(error.contains("is a symbolic link"), "{error}");
        assert!(listing(&outside).is_empty());
        fs::remove_dir_all(&dir)?;
        fs::remove_dir_all(&outside)?;
        Ok(())
    }

    #[test]
    fn a_failure_while_installing_leaves_the_previous_tree_complete() -> Result<()> {
        let dir = scratch("rollback");
        write_tree(
            &dir,
            "# h",
            "d",
            &[("a.yaml", "old a\n".into()), ("z/b.yaml", "old b\n".into())],
        )?;
        let before: Vec<(String, String)> = listing(&dir)
            .into_iter()
            .map(|name| {
                let text = fs::read_to_string(dir.join(&name)).unwrap_or_default();
                (name, text)
            })
            .collect();
        // A directory where the last file goes: every earlier file is already renamed when
        // this one fails.
        fs::create_dir_all(dir.join("z/c.yaml/inside"))?;
        let result = write_tree(
            &dir,
            "# h",
            "d",
            &[
                ("a.yaml", "new a\n".into()),
                ("z/b.yaml", "new b\n".into()),
                ("new/d.yaml", "d\n".into()),
                ("z/c.yaml", "c\n".into()),
            ],
        );
        assert!(result.is_err());
        fs::remove_dir_all(dir.join("z/c.yaml"))?;
        let after: Vec<(String, String)> = listing(&dir)
            .into_iter()
            .map(|name| {
                let text = fs::read_to_string(dir.join(&name)).unwrap_or_default();
                (name, text)
            })
            .collect();
        assert_eq!(
            before, after,
            "the previous tree is not intact (or a temp file stayed)"
        );
        assert!(
            !dir.join("new").exists(),
            "a directory created for the failed render stayed"
        );
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
