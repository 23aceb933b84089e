//! Files written whole or not at all (checkpoints, downloads): write a temporary file next to the
//! target, then rename it over the target. A reader finds the old file or the new one, never half
//! of one; a process killed before the rename leaves only the temporary file.

use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A new temporary file `.<target's name>.<random>.tmp` in `target`'s directory (created if
/// needed), on the same file system so the final `persist(target)` is an atomic rename. It is
/// deleted when dropped unless persisted.
pub(crate) fn temp_file_next_to(target: &Path) -> Result<NamedTempFile> {
    let dir = directory_of(target);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let prefix = prefix(target);
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // A temporary file is private (0600); the file it becomes should be an ordinary one.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder.tempfile_in(&dir).map_err(|e| Error::io(&dir, e))
}

/// Deletes the temporary files of `target` that writes killed before their rename left behind
/// (SIGKILL runs no destructor). Best effort: a file that cannot be removed is left alone.
pub(crate) fn remove_stale_temporaries(target: &Path) {
    let prefix = prefix(target);
    let Ok(entries) = std::fs::read_dir(directory_of(target)) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn prefix(target: &Path) -> String {
    format!(".{}.", target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default())
}

fn directory_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persisted_file_is_ordinary_and_stale_temporaries_go() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/model.safetensors");
        let stale = temp_file_next_to(&target).unwrap().into_temp_path().keep().unwrap();
        let temp = temp_file_next_to(&target).unwrap();
        std::fs::write(temp.path(), b"new").unwrap();
        temp.persist(&target).unwrap();
        assert!(
            stale.exists() && stale.file_name().unwrap().to_string_lossy().starts_with(".model.safetensors.")
        );
        remove_stale_temporaries(&target);
        assert!(!stale.exists());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }
}
